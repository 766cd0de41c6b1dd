import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openSqliteDatabase } from './database.ts';
import type { Database } from './sql.ts';
import { acquireInstanceLease, describeHolder, INSTANCE_HEARTBEAT_MS, INSTANCE_LEASE_MS, type InstanceIdentity, type Timers } from './instance-lease.ts';

const T0 = Date.UTC(2026, 0, 5, 12);
const first: InstanceIdentity = { instanceId: 'first', hostname: 'box-a', pid: 4_100 };
const second: InstanceIdentity = { instanceId: 'second', hostname: 'box-a', pid: 4_200 };
const alive = () => true;
const dead = () => false;

/** The one place this file opens a database: a fresh, migrated one per test. */
async function freshDb(): Promise<Database> {
  return openSqliteDatabase(':memory:');
}

let db: Database;
let clock: ManualClock;
beforeEach(async () => {
  db = await freshDb();
  clock = new ManualClock(T0);
});
afterEach(() => db.close());

const row = () => db.all('select holder, hostname, pid, started_at, heartbeat_at, expires_at from instance_lease');

/** Timers that run only when the test says so. */
function manualTimers(): Timers & { fire: () => void; pending: () => number[] } {
  const waiting = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    setTimeout: ((fn: () => void, ms: number) => {
      waiting.set(next, { fn, ms });
      return next++;
    }) as unknown as typeof setTimeout,
    clearTimeout: ((id: number) => void waiting.delete(id)) as unknown as typeof clearTimeout,
    fire: () => {
      const due = [...waiting.entries()];
      waiting.clear();
      for (const [, timer] of due) timer.fn();
    },
    pending: () => [...waiting.values()].map((timer) => timer.ms),
  };
}

/**
 * Fire the heartbeat's timer and wait for the beat it starts to finish: the renewal is a database
 * round trip, after which the beat either sets its next timer or reports the lease lost.
 */
async function fireHeartbeat(timers: ReturnType<typeof manualTimers>, lost: () => number): Promise<void> {
  const before = lost();
  timers.fire();
  await vi.waitFor(
    () => {
      if (timers.pending().length === 0 && lost() === before) throw new Error('the beat has not finished');
    },
    { interval: 1 },
  );
}

describe('the instance lease', () => {
  it('is taken when free, and recorded with who holds it until when', async () => {
    const outcome = await acquireInstanceLease(db, first, clock, alive);
    expect(outcome).toMatchObject({ ok: true, previousHolder: null, how: 'free' });
    expect(await row()).toEqual([{ holder: 'first', hostname: 'box-a', pid: 4_100, started_at: T0, heartbeat_at: T0, expires_at: T0 + 30_000 }]);
  });

  it('refuses a second instance while the holder is alive, naming it', async () => {
    await acquireInstanceLease(db, first, clock, alive);
    clock.advance(5_000);
    const outcome = await acquireInstanceLease(db, second, clock, alive);
    expect(outcome).toEqual({
      ok: false,
      holder: { holder: 'first', hostname: 'box-a', pid: 4_100, startedAt: T0, heartbeatAt: T0, expiresAt: T0 + INSTANCE_LEASE_MS },
    });
    if (outcome.ok) return;
    expect(describeHolder(outcome.holder, '/data/bot.sqlite')).toBe(
      'Another imagine-bot is already using the database /data/bot.sqlite: process 4100 on host box-a (instance first), ' +
        'running since 2026-01-05T12:00:00.000Z, last heard from at 2026-01-05T12:00:00.000Z; ' +
        'its lease expires at 2026-01-05T12:00:30.000Z unless it renews it. Stop that bot first, or give this one another DATABASE_PATH.',
    );
    expect(await row()).toMatchObject([{ holder: 'first' }]);
  });

  it('is taken over once it has expired, even from a live process on another host', async () => {
    await acquireInstanceLease(db, first, clock, alive);
    const elsewhere = { ...second, hostname: 'box-b' };
    clock.advance(INSTANCE_LEASE_MS - 1);
    expect(await acquireInstanceLease(db, elsewhere, clock, alive)).toMatchObject({ ok: false });
    clock.advance(1);
    expect(await acquireInstanceLease(db, elsewhere, clock, alive)).toMatchObject({ ok: true, previousHolder: 'first', how: 'expired' });
    expect(await row()).toMatchObject([{ holder: 'second', hostname: 'box-b', pid: 4_200, expires_at: T0 + 2 * INSTANCE_LEASE_MS }]);
  });

  it('is taken over at once from a dead process on the same host', async () => {
    await acquireInstanceLease(db, first, clock, alive);
    const checked: number[] = [];
    const outcome = await acquireInstanceLease(db, second, clock, (pid) => (checked.push(pid), false));
    expect(outcome).toMatchObject({ ok: true, previousHolder: 'first', how: 'holder_dead' });
    expect(checked).toEqual([4_100]);
  });

  it('is taken over at once when the holder had our own pid (a restarted container)', async () => {
    await acquireInstanceLease(db, first, clock, alive);
    expect(await acquireInstanceLease(db, { ...second, pid: first.pid }, clock, alive)).toMatchObject({ ok: true, previousHolder: 'first', how: 'same_pid' });
  });

  it("never judges another host's pid: a dead-looking pid there proves nothing", async () => {
    await acquireInstanceLease(db, first, clock, alive);
    expect(await acquireInstanceLease(db, { ...second, hostname: 'box-b' }, clock, dead)).toMatchObject({ ok: false });
    expect(await acquireInstanceLease(db, { ...second, hostname: 'box-b', pid: first.pid }, clock, dead)).toMatchObject({ ok: false });
  });

  it('the heartbeat renews it every 10 s for 30 s, so it never expires while the holder runs', async () => {
    const outcome = await acquireInstanceLease(db, first, clock, alive);
    if (!outcome.ok) throw new Error('expected the lease');
    const timers = manualTimers();
    let lost = 0;
    outcome.lease.startHeartbeat(timers, () => lost++, () => {});
    expect(timers.pending()).toEqual([INSTANCE_HEARTBEAT_MS]);
    for (let beat = 1; beat <= 6; beat++) {
      clock.advance(INSTANCE_HEARTBEAT_MS);
      await fireHeartbeat(timers, () => lost);
      expect(await acquireInstanceLease(db, second, clock, alive)).toMatchObject({ ok: false });
    }
    expect(await row()).toMatchObject([{ holder: 'first', heartbeat_at: T0 + 60_000, expires_at: T0 + 90_000 }]);
    expect(lost).toBe(0);
  });

  it('the heartbeat notices, once, when another instance has taken the lease', async () => {
    const outcome = await acquireInstanceLease(db, first, clock, alive);
    if (!outcome.ok) throw new Error('expected the lease');
    const timers = manualTimers();
    let lost = 0;
    outcome.lease.startHeartbeat(timers, () => lost++, () => {});
    clock.advance(INSTANCE_LEASE_MS); // stalled past expiry: the timer never ran
    expect(await acquireInstanceLease(db, second, clock, alive)).toMatchObject({ ok: true, previousHolder: 'first' });
    await fireHeartbeat(timers, () => lost);
    expect(lost).toBe(1);
    expect(timers.pending()).toEqual([]);
    expect(await row()).toMatchObject([{ holder: 'second' }]);
    // Releasing what is no longer ours leaves the new holder alone.
    await outcome.lease.release();
    expect(await row()).toMatchObject([{ holder: 'second' }]);
  });

  it('release stops the heartbeat and frees the database for the next bot at once', async () => {
    const outcome = await acquireInstanceLease(db, first, clock, alive);
    if (!outcome.ok) throw new Error('expected the lease');
    const timers = manualTimers();
    outcome.lease.startHeartbeat(timers, () => {}, () => {});
    await outcome.lease.release();
    expect(timers.pending()).toEqual([]);
    expect(await row()).toEqual([]);
    expect(await acquireInstanceLease(db, second, clock, alive)).toMatchObject({ ok: true, previousHolder: null, how: 'free' });
  });
});
