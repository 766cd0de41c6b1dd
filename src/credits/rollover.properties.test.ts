import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database } from '../store/sql.ts';
import { CreditLedger } from './ledger.ts';
import { periodKey, type Period } from './periods.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';

const USERS = ['ana', 'bo'] as const;
const ALLOWANCE = 30;

/**
 * The one place this file opens a database: a fresh, migrated one per property, on the project's
 * backend. Each run of the property works in a community of its own, so runs cannot see each other
 * (a new PostgreSQL database per run would cost more than the run).
 */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

type Op =
  | { op: 'reserve'; user: number; price: number; costShare: number; finishAfter: number }
  | { op: 'advance'; hours: number }
  | { op: 'grant'; user: number; amount: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('reserve' as const), user: fc.nat(USERS.length - 1), price: fc.integer({ min: 1, max: 12 }), costShare: fc.double({ min: 0, max: 1, noNaN: true }), finishAfter: fc.nat(6) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('grant' as const), user: fc.nat(USERS.length - 1), amount: fc.integer({ min: 1, max: 20 }) }) },
);

/**
 * The member's balance as it would be with no holds at all: each image charged its final cost the
 * moment it was asked for, the allowance topped up at the same first touch of each period.
 */
class NoHoldsModel {
  private readonly balances = new Map<string, number>();
  private readonly keys = new Map<string, string>();
  constructor(private readonly period: Period) {}
  touch(user: string, atMs: number): number {
    const key = periodKey(this.period, atMs);
    let balance = this.balances.get(user) ?? 0;
    if (this.keys.get(user) !== key) {
      this.keys.set(user, key);
      balance = Math.max(balance, ALLOWANCE);
    }
    this.balances.set(user, balance);
    return balance;
  }
  add(user: string, delta: number): void {
    this.balances.set(user, (this.balances.get(user) ?? 0) + delta);
  }
}

describe('allowance roll-over with holds, refunds, settlements, grants and period boundaries (property)', () => {
  for (const period of ['day', 'week'] as const) {
    it(`per ${period}: balances never exceed allowance + grants, entries sum to balances, and once every job is finished the balance is what it would be without holds`, async () => {
      const db = await freshDb();
      let runs = 0;
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
            const C = `guild-${++runs}`;
            const clock = new ManualClock(Date.UTC(2026, 0, 1, 20));
            const ledger = new CreditLedger(db, clock, { allowance: ALLOWANCE, period });
            const model = new NoHoldsModel(period);
            const granted = new Map<string, number>();
            const running: { jobId: string; user: string; cost: number; finishAfter: number }[] = [];
            let next = 0;
            const finish = async (job: (typeof running)[number]) => {
              if (job.cost === 0) await ledger.refund(job.jobId, 'failed');
              else await ledger.settle(job.jobId, job.cost);
            };
            const check = async () => {
              for (const user of USERS) {
                const balance = await ledger.balance(C, user);
                const sum = (await db.value<number>('select coalesce(sum(delta), 0) from ledger where community_id = ? and user_id = ?', [C, user])) as number;
                model.touch(user, clock.now());
                expect(balance).toBe(sum);
                expect(balance).toBeLessThanOrEqual(ALLOWANCE + (granted.get(user) ?? 0));
              }
            };
            for (const step of ops) {
              if (step.op === 'advance') clock.advance(step.hours * 3_600_000);
              else if (step.op === 'grant') {
                const user = USERS[step.user]!;
                model.touch(user, clock.now());
                await ledger.grant({ communityId: C, userId: user, amount: step.amount, actorId: 'mod' });
                model.add(user, step.amount);
                granted.set(user, (granted.get(user) ?? 0) + step.amount);
              } else {
                const user = USERS[step.user]!;
                const jobId = `${C}-job-${++next}`;
                await insertJobRow(db, { id: jobId, communityId: C, userId: user, model: 'gen4_image', atMs: clock.now() });
                model.touch(user, clock.now());
                const outcome = await ledger.reserve({ communityId: C, userId: user, displayName: user, jobId, model: 'gen4_image', amount: step.price, atMs: clock.now() });
                if (outcome.ok) {
                  const cost = Math.floor(step.costShare * step.price);
                  model.add(user, -cost);
                  running.push({ jobId, user, cost, finishAfter: step.finishAfter });
                }
              }
              for (const job of running) job.finishAfter -= 1;
              for (const job of running.filter((j) => j.finishAfter < 0)) await finish(job);
              running.splice(0, running.length, ...running.filter((j) => j.finishAfter >= 0));
              await check();
            }
            for (const job of running) await finish(job);
            await check();
            for (const user of USERS) expect(await ledger.balance(C, user)).toBe(model.touch(user, clock.now()));
          }),
          { numRuns: 300 },
        );
      } finally {
        await db.close();
      }
    });
  }
});
