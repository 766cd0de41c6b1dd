/**
 * Guarded transitions racing from several OS processes on one database (a SQLite file, or a
 * PostgreSQL database, per the project): for each job exactly
 * one process wins each transition, and the ledger has exactly one settle per job. With one shared
 * instance id only the state guard can decide; with the jobs locked by one instance, only it wins.
 * Acceptances racing for one member never pass the in-flight limit or the balance.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../src/store/sql.ts';
import { openSharedTestDb } from './support/test-database.ts';
import { jobIn, openFixture, PRICE } from './support/transition-fixtures.ts';

const PROCESSES = 4;
const JOBS = 200;
const COST = 5;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** The one place this file opens a database: on the project's backend, one the racing processes open too (`path` is its location). */
async function freshDatabase(): Promise<{ db: Database; path: string }> {
  const shared = await openSharedTestDb();
  cleanups.push(shared.close);
  return { db: shared.db, path: shared.location };
}

type Wins = { submitted: string[]; succeeded: string[] };
type Accepted = { accepted: string[] };

/** JOBS reserved and JOBS running jobs, all locked by instance `instance-me`, in a fresh database. */
async function arrange(): Promise<{ path: string; reserved: string[]; running: string[]; nowMs: number; db: Database }> {
  const { db, path } = await freshDatabase();
  const f = openFixture(db);
  // Members spread so the fixture's acceptances stay within any balance.
  const reserved: string[] = [];
  for (let i = 0; i < JOBS; i++) reserved.push(await jobIn(f, 'reserved', `r${i}`));
  const running: string[] = [];
  for (let i = 0; i < JOBS; i++) running.push(await jobIn(f, 'running', `s${i}`));
  return { path, reserved: reserved.sort(), running: running.sort(), nowMs: f.clock.now(), db };
}

function race(path: string, instanceIds: readonly string[], nowMs: number): Promise<Wins[]> {
  return raceWith<Wins>(path, instanceIds, nowMs, ['transitions', String(COST)]);
}

async function raceWith<T>(path: string, instanceIds: readonly string[], nowMs: number, args: readonly string[]): Promise<T[]> {
  const children = instanceIds.map((instanceId) =>
    spawn(process.execPath, ['--import', 'tsx', 'test/support/transition-worker.ts', path, instanceId, String(nowMs), ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  for (const child of children) cleanups.push(() => child.kill());
  const outputs = children.map((child) => {
    const lines = createInterface({ input: child.stdout });
    let onReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const done = new Promise<T>((resolve, reject) => {
      lines.on('line', (line) => (line === 'ready' ? onReady() : resolve(JSON.parse(line) as T)));
      child.on('exit', (code) => {
        if (code !== 0) reject(new Error(`worker exited with ${code}`));
      });
    });
    return { ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.write('go\n');
  return Promise.all(outputs.map((o) => o.done));
}

describe('transitions racing from several processes on one database file', () => {
  it('with the same lock holder, exactly one process wins each startSubmitting and each markSucceeded; one settle per job', async () => {
    const { path, reserved, running, nowMs, db } = await arrange();
    const results = await race(path, Array.from({ length: PROCESSES }, () => 'instance-me'), nowMs);

    const submitted = results.flatMap((r) => r.submitted);
    const succeeded = results.flatMap((r) => r.succeeded);
    expect([...submitted].sort()).toEqual(reserved);
    expect([...succeeded].sort()).toEqual(running);
    expect(await db.value("select count(*) from jobs where state = 'submitting'")).toBe(JOBS);
    expect(await db.value("select count(*) from jobs where state = 'succeeded'")).toBe(JOBS);
    for (const id of running) {
      expect(await db.all('select kind, delta from ledger where job_id = ? order by id', [id])).toEqual([
        { kind: 'reserve', delta: -PRICE },
        { kind: 'settle', delta: PRICE - COST },
      ]);
    }
  });

  it('with the jobs locked by one instance, only that instance wins anything', async () => {
    const { path, reserved, running, nowMs, db } = await arrange();
    const results = await race(path, ['instance-me', 'intruder-1', 'intruder-2'], nowMs);
    expect(results[0]).toEqual({ submitted: reserved, succeeded: running });
    expect(results.slice(1)).toEqual([
      { submitted: [], succeeded: [] },
      { submitted: [], succeeded: [] },
    ]);
    expect(await db.value("select count(*) from ledger where kind = 'settle'")).toBe(JOBS);
  });

  it.each([
    { binding: 'the in-flight limit', limit: 3, allowance: 1_000, expected: 3 },
    { binding: 'the balance', limit: 1_000, allowance: 100, expected: 12 },
  ])('acceptances for one member never pass $binding: exactly $expected accepted, each holding its price', async ({ limit, allowance, expected }) => {
    const { db, path } = await freshDatabase();
    const nowMs = Date.UTC(2026, 0, 5, 12);
    const results = await raceWith<Accepted>(path, Array.from({ length: PROCESSES }, (_, i) => `instance-${i}`), nowMs, [
      'accept',
      '10',
      String(PRICE),
      String(limit),
      String(allowance),
    ]);
    const accepted = results.flatMap((r) => r.accepted);
    expect(accepted).toHaveLength(expected);
    expect(await db.value('select count(*) from jobs')).toBe(expected);
    expect(await db.get("select count(*) as n, sum(delta) as total from ledger where kind = 'reserve'")).toEqual({ n: expected, total: -expected * PRICE });
    expect(await db.value("select sum(delta) from ledger where user_id = 'shared'")).toBe(allowance - expected * PRICE);
  });
});
