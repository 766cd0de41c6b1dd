/**
 * The rule that must always hold: no interleaving of reservations overspends a member's balance or
 * the community's cap, whether the operations come in any order on one connection, alternate
 * between two connections to the same database, or race from several OS processes.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import { periodKey, periodStart } from '../src/credits/periods.ts';
import { insertJobRow } from './support/ledger-fixtures.ts';
import { openSharedTestDb } from './support/test-database.ts';
import type { Database, Sql } from '../src/store/sql.ts';

const C = 'community';
const USERS = ['u0', 'u1', 'u2'] as const;
const HOUR = 3_600_000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/**
 * The one place this file opens its databases: a fresh migrated one on the project's backend, and a
 * second connection to it. SQLite: one file in a temporary directory; PostgreSQL: one database.
 * The racing processes open `path` (the file, or the URL) too; `cleanup` closes both connections.
 */
async function freshDatabase(): Promise<{ db: Database; path: string; second: () => Promise<Database>; cleanup: () => Promise<void> }> {
  const shared = await openSharedTestDb();
  return { db: shared.db, path: shared.location, second: shared.connect, cleanup: shared.close };
}

type Op =
  | { op: 'reserve'; user: number; price: number; conn: number }
  | { op: 'adjustDown'; job: number; fraction: number; conn: number }
  | { op: 'settle'; job: number; fraction: number; conn: number }
  | { op: 'refund'; job: number; conn: number }
  | { op: 'grant'; user: number; amount: number; conn: number }
  | { op: 'advance'; hours: number };

const conn = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('reserve' as const), user: fc.nat(USERS.length - 1), price: fc.nat(12), conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('adjustDown' as const), job: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }), conn }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('settle' as const), job: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }), conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('refund' as const), job: fc.nat(), conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('grant' as const), user: fc.nat(USERS.length - 1), amount: fc.integer({ min: 1, max: 10 }), conn }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 30 }) }) },
);

/** The rules restated as plainly as possible: the ledger must agree with this at every step. */
class Model {
  readonly balance = new Map<string, number>();
  readonly key = new Map<string, string>();
  /** The part of a member's top-ups that only credits held across a boundary caused (README: unused allowance does not pile up). */
  readonly owedToHolds = new Map<string, number>();
  /** When each member's allowance was last topped up: the holds it saw are the ones reserved before its day. */
  readonly toppedUpAt = new Map<string, number>();
  readonly jobs: { id: string; user: string; reservedAt: number; held: number; charged: number; open: boolean }[] = [];
  constructor(readonly allowance: number, readonly cap: number | null) {}

  touch(user: string, now: number): number {
    const key = periodKey('day', now);
    if (this.key.get(user) !== key) {
      const balance = this.balance.get(user) ?? 0;
      const topUp = Math.max(0, this.allowance - balance);
      // Held credits count as spent at the boundary; the part of the top-up they caused is owed back if they return.
      const held = this.jobs.filter((job) => job.user === user && job.open).reduce((sum, job) => sum + job.held, 0);
      const owed = Math.min(held, topUp - Math.max(0, this.allowance - balance - held) + (this.owedToHolds.get(user) ?? 0));
      this.key.set(user, key);
      this.owedToHolds.set(user, owed);
      this.balance.set(user, balance + topUp);
      if (topUp > 0) this.toppedUpAt.set(user, now);
    }
    return this.balance.get(user) ?? 0;
  }

  /**
   * Credits a job gives back, after which it holds `heldAfter`: a refund never lifts a balance above
   * what it would have been without the hold, and what stays owed is owed to the holds the last
   * top-up saw that are still held.
   */
  giveBack(job: Model['jobs'][number], returned: number, heldAfter: number): void {
    let balance = (this.balance.get(job.user) ?? 0) + returned;
    const owed = this.owedToHolds.get(job.user) ?? 0;
    const toppedUpAt = this.toppedUpAt.get(job.user);
    const seenBefore = toppedUpAt === undefined ? null : periodStart('day', toppedUpAt);
    if (owed > 0 && seenBefore !== null && job.reservedAt < seenBefore) {
      const takeBack = Math.min(returned, owed);
      const stillHeld = this.jobs
        .filter((other) => other !== job && other.user === job.user && other.open && other.reservedAt < seenBefore)
        .reduce((sum, other) => sum + other.held, heldAfter);
      this.owedToHolds.set(job.user, Math.min(owed - takeBack, stillHeld));
      balance -= takeBack;
    }
    this.balance.set(job.user, balance);
  }

  capSpent(now: number): number {
    const day = periodStart('day', now);
    return this.jobs
      .filter((job) => periodStart('day', job.reservedAt) === day)
      .reduce((sum, job) => sum + (job.open ? job.held : job.charged), 0);
  }
}

describe('reservations under any interleaving', () => {
  it('never overspend a balance or the cap, and the ledger always adds up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
        fc.array(opArb, { maxLength: 40 }),
        async (allowance, cap, ops) => {
          const fresh = await freshDatabase();
          const { db, cleanup } = fresh;
          const second = await fresh.second();
          try {
            const clock = new ManualClock(Date.UTC(2026, 0, 1, 6));
            const ledgers = [db, second].map((d) => new CreditLedger(d, clock, { allowance, period: 'day' }));
            const ledgerOn = (i: number) => ledgers[i % ledgers.length] as CreditLedger;
            if (cap !== null) await ledgerOn(0).communities.setCap({ communityId: C, amount: cap, period: 'day', actorId: 'mod' });
            const model = new Model(allowance, cap);

            for (const op of ops) {
              const now = clock.now();
              switch (op.op) {
                case 'reserve': {
                  const user = USERS[op.user] as string;
                  const id = `job-${model.jobs.length}`;
                  await insertJobRow(db, { id, communityId: C, userId: user, atMs: now });
                  const balance = model.touch(user, now);
                  const expectOk = balance >= op.price && (cap === null || model.capSpent(now) + op.price <= cap);
                  const outcome = await ledgerOn(op.conn).reserve({ communityId: C, userId: user, displayName: user, jobId: id, model: 'gen4_image', amount: op.price, atMs: now });
                  expect(outcome.ok).toBe(expectOk);
                  if (outcome.ok) {
                    expect(outcome.balanceAfter).toBeGreaterThanOrEqual(0);
                    model.balance.set(user, balance - op.price);
                    model.jobs.push({ id, user, reservedAt: now, held: op.price, charged: 0, open: true });
                  } else if (balance < op.price) {
                    expect(outcome.reason).toBe('insufficient_credits');
                  } else {
                    expect(outcome.reason).toBe('community_cap');
                  }
                  break;
                }
                case 'adjustDown':
                case 'settle':
                case 'refund': {
                  const job = model.jobs.length === 0 ? undefined : model.jobs[op.job % model.jobs.length];
                  if (!job) break;
                  const ledger = ledgerOn(op.conn);
                  expect(await ledger.heldFor(job.id)).toBe(job.open ? job.held : 0);
                  const target = op.op === 'refund' ? 0 : Math.floor(op.fraction * job.held);
                  if (op.op === 'adjustDown') await ledger.adjust(job.id, target, 'estimate');
                  else if (op.op === 'settle') await ledger.settle(job.id, target);
                  else await ledger.refund(job.id, 'failed');
                  if (!job.open) break; // finished jobs ignore further settlement
                  model.giveBack(job, job.held - target, op.op === 'adjustDown' ? target : 0);
                  if (op.op === 'adjustDown') job.held = target;
                  else Object.assign(job, { open: false, charged: target, held: 0 });
                  break;
                }
                case 'grant': {
                  const user = USERS[op.user] as string;
                  const balance = model.touch(user, now);
                  const { balanceAfter } = await ledgerOn(op.conn).grant({ communityId: C, userId: user, amount: op.amount, actorId: 'mod' });
                  model.balance.set(user, balance + op.amount);
                  expect(balanceAfter).toBe(balance + op.amount);
                  break;
                }
                case 'advance':
                  clock.advance(op.hours * HOUR);
                  break;
              }

              // Invariants, read through the other connection to catch anything uncommitted.
              const reader = ledgerOn(1);
              for (const user of USERS) {
                const expected = model.touch(user, clock.now());
                const balance = await reader.balance(C, user);
                expect(balance).toBe(expected);
                expect(balance).toBeGreaterThanOrEqual(0);
              }
              const spent = (await reader.report(C)).totalSpent;
              expect(spent).toBe(model.capSpent(clock.now()));
              if (cap !== null) expect(spent).toBeLessThanOrEqual(cap);
              for (const job of model.jobs) {
                expect(await sumOfJob(second, job.id)).toBe(0 - (job.open ? job.held : job.charged));
              }
            }
          } finally {
            await cleanup();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

async function sumOfJob(db: Sql, jobId: string): Promise<number> {
  return ((await db.get<{ total: number }>('select coalesce(sum(delta), 0) as total from ledger where job_id = ?', [jobId])) as { total: number }).total;
}

describe('reservations racing from several processes on one database', () => {
  const PROCESSES = 4;
  const ATTEMPTS = 12;
  const PRICE = 3;
  const BUDGET = 50;

  for (const mode of ['same-user', 'cap'] as const) {
    it(`${mode === 'same-user' ? "one member's balance" : "the community cap"}: exactly floor(budget / price) reservations succeed`, async () => {
      const { db, path, cleanup } = await freshDatabase();
      cleanups.push(cleanup);
      // In cap mode every reservation is a different, well-funded member: only the cap can stop them.
      const allowance = mode === 'same-user' ? BUDGET : 1_000;
      if (mode === 'cap') {
        await new CreditLedger(db, new ManualClock(), { allowance, period: 'none' }).communities.setCap({ communityId: 'race-community', amount: BUDGET, period: 'none', actorId: 'mod' });
      }

      const results = await race(path, mode, allowance);

      const succeeded = results.reduce((sum, r) => sum + r.succeeded, 0);
      expect(results.reduce((sum, r) => sum + r.succeeded + r.refused, 0)).toBe(PROCESSES * ATTEMPTS);
      expect(succeeded).toBe(Math.floor(BUDGET / PRICE));
      const reserved = -((await db.get<{ total: number }>("select coalesce(sum(delta), 0) as total from ledger where kind = 'reserve'")) as { total: number }).total;
      expect(reserved).toBe(succeeded * PRICE);
      expect(reserved).toBeLessThanOrEqual(BUDGET);
      if (mode === 'same-user') {
        // The allowance was credited once, however many processes saw the member first at the same moment.
        const allowances = (await db.get<{ n: number }>("select count(*) as n from ledger where kind = 'allowance'")) as { n: number };
        expect(allowances.n).toBe(1);
        expect(await new CreditLedger(db, new ManualClock(), { allowance, period: 'none' }).balance('race-community', 'shared-user')).toBe(BUDGET % PRICE);
      }
    });
  }

  async function race(path: string, mode: 'same-user' | 'cap', allowance: number): Promise<{ succeeded: number; refused: number }[]> {
    const children = Array.from({ length: PROCESSES }, (_, i) =>
      spawn(process.execPath, ['--import', 'tsx', 'test/support/reserve-worker.ts', path, String(i), String(ATTEMPTS), String(PRICE), mode, String(allowance)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    for (const child of children) cleanups.push(() => child.kill());
    const outputs = children.map((child) => {
      const lines = createInterface({ input: child.stdout });
      const seen: string[] = [];
      let onReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => (onReady = resolve));
      const done = new Promise<{ succeeded: number; refused: number }>((resolve, reject) => {
        lines.on('line', (line) => {
          seen.push(line);
          if (line === 'ready') onReady();
          else resolve(JSON.parse(line) as { succeeded: number; refused: number });
        });
        child.on('exit', (code) => {
          if (code !== 0) reject(new Error(`worker exited with ${code}: ${seen.join(' | ')}`));
        });
      });
      return { ready, done };
    });
    // Start them together so their transactions really interleave.
    await Promise.all(outputs.map((o) => o.ready));
    for (const child of children) child.stdin.write('go\n');
    return Promise.all(outputs.map((o) => o.done));
  }
});
