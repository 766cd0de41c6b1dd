import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database, Sql, SqlValue } from '../store/sql.ts';
import { CreditLedger, type CreditDefaults } from './ledger.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';

const C = 'guild-1';
const ANA = 'user-ana';
const BO = 'user-bo';
const MOD = 'user-mod';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

const open: Database[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

type Entry = { kind: string; delta: number; userId: string; jobId: string | null; actorId: string; note: string | null; model: string | null; spendAt: number | null };

async function setup(defaults: CreditDefaults = { allowance: 50, period: 'day' }, startMs = Date.UTC(2026, 0, 1, 12)) {
  const db = await freshDb();
  open.push(db);
  const clock = new ManualClock(startMs);
  const ledger = new CreditLedger(db, clock, defaults);
  let next = 0;
  /** Reserve for a fresh job (with its jobs row) at the clock's time, on `sql`: the database, or a transaction's `tx`. */
  const reserveOn = async (sql: Sql, userId: string, amount: number, model = 'gen4_image', communityId = C) => {
    const jobId = `job-${++next}`;
    await insertJobRow(sql, { id: jobId, communityId, userId, model, atMs: clock.now() });
    const outcome = await (sql === db ? ledger : ledger.within(sql)).reserve({ communityId, userId, displayName: userId.replace('user-', ''), jobId, model, amount, atMs: clock.now() });
    return { jobId, outcome };
  };
  const reserve = (userId: string, amount: number, model = 'gen4_image', communityId = C) => reserveOn(db, userId, amount, model, communityId);
  const entries = (where = '1 = 1', ...params: SqlValue[]) =>
    db.all<Entry>(
      `select kind, delta, user_id as "userId", job_id as "jobId", actor_id as "actorId", note, model, spend_at as "spendAt" from ledger where ${where} order by id`,
      params,
    );
  const jobSum = async (jobId: string) => (await entries('job_id = ?', jobId)).reduce((sum, e) => sum + e.delta, 0);
  return { db, clock, ledger, reserve, reserveOn, entries, jobSum };
}

describe('allowance roll-over', () => {
  it('credits the allowance the first time a member is seen', async () => {
    const { ledger, entries } = await setup();
    expect(await ledger.balance(C, ANA, 'Ana')).toBe(50);
    expect(await entries()).toEqual([expect.objectContaining({ kind: 'allowance', delta: 50, userId: ANA, actorId: 'system' })]);
    expect(await ledger.balance(C, ANA)).toBe(50);
    expect(await entries()).toHaveLength(1);
  });

  it('tops a spent balance back up to the allowance at the next UTC day, and only once', async () => {
    const { ledger, clock, reserve, entries } = await setup();
    const { jobId } = await reserve(ANA, 8);
    await ledger.settle(jobId, 8);
    clock.set(Date.UTC(2026, 0, 1, 23, 59, 59, 999));
    expect(await ledger.balance(C, ANA)).toBe(42);
    clock.set(Date.UTC(2026, 0, 2));
    expect(await ledger.balance(C, ANA)).toBe(50);
    expect(await ledger.balance(C, ANA)).toBe(50);
    expect((await entries("kind = 'allowance'")).map((e) => e.delta)).toEqual([50, 8]);
  });

  it('keeps grants above the allowance and does not pile up unused allowance', async () => {
    const { ledger, clock } = await setup();
    await ledger.grant({ communityId: C, userId: ANA, amount: 30, actorId: MOD });
    expect(await ledger.balance(C, ANA)).toBe(80);
    clock.advance(DAY);
    expect(await ledger.balance(C, ANA)).toBe(80);
    clock.advance(10 * DAY);
    expect(await ledger.balance(C, BO)).toBe(50);
    clock.advance(DAY);
    expect(await ledger.balance(C, BO)).toBe(50);
  });

  it('a refund takes back only what a top-up made up for: a job reserved after the top-up gets its credits back in full', async () => {
    // Found by rollover.properties.test.ts. Without holds: 30, 1 spent (29), topped up to 30 on
    // day 2, 1 granted (31), nothing due on day 3, and jobs 2 and 3 cost nothing: 31.
    const { ledger, clock, reserve, entries } = await setup({ allowance: 30, period: 'day' }, Date.UTC(2026, 0, 1, 20));
    const first = await reserve(ANA, 2);
    clock.set(Date.UTC(2026, 0, 2, 12));
    // The 2 held count as spent: the top-up makes up for them.
    expect(await ledger.balance(C, ANA)).toBe(30);
    // Job 1 costs 1: of the 1 returned, the top-up already made up for 1; that is taken back.
    await ledger.settle(first.jobId, 1);
    expect(await ledger.balance(C, ANA)).toBe(30);
    const second = await reserve(ANA, 1);
    await ledger.grant({ communityId: C, userId: ANA, amount: 1, actorId: MOD });
    clock.set(Date.UTC(2026, 0, 3));
    const third = await reserve(ANA, 1);
    expect(third.outcome).toEqual({ ok: true, balanceAfter: 29 });
    // Job 2 was reserved after day 2's top-up, which owed it nothing: its refund is returned whole.
    await ledger.refund(second.jobId, 'failed');
    await ledger.refund(third.jobId, 'failed');
    expect(await ledger.balance(C, ANA)).toBe(31);
    expect((await entries("kind = 'allowance'")).map((e) => [e.delta, e.note])).toEqual([
      [30, 'allowance for day:2026-01-01'],
      [2, 'allowance for day:2026-01-02'],
      [-1, 'returned credits were already covered by the allowance for day:2026-01-02'],
    ]);
  });

  it('what a top-up made up for is owed by the holds it saw: a later period with nothing to top up adds nothing owed', async () => {
    // Found by rollover.properties.test.ts. Without holds: 30, 1 spent (29), topped up to 30 on
    // day 2, 1 granted (31), nothing due on day 3, and jobs 2 and 3 cost nothing: 31.
    const { ledger, clock, reserve, entries } = await setup({ allowance: 30, period: 'day' }, Date.UTC(2026, 0, 1, 20));
    const first = await reserve(ANA, 2);
    clock.set(Date.UTC(2026, 0, 2));
    await ledger.grant({ communityId: C, userId: ANA, amount: 1, actorId: MOD });
    const second = await reserve(ANA, 1);
    clock.set(Date.UTC(2026, 0, 3));
    const third = await reserve(ANA, 1);
    expect(third.outcome).toEqual({ ok: true, balanceAfter: 29 });
    // Day 2's top-up made up for job 1's 2 held; job 1 costs 1, so 1 of it is taken back.
    await ledger.settle(first.jobId, 1);
    // Job 2 was reserved after day 2's top-up, and day 3 topped up nothing: its refund is returned whole.
    await ledger.refund(second.jobId, 'failed');
    await ledger.refund(third.jobId, 'failed');
    expect(await ledger.balance(C, ANA)).toBe(31);
    expect((await entries("kind = 'allowance'")).map((e) => e.delta)).toEqual([30, 2, -1]);
  });

  it('refills weekly on ISO weeks: Sunday night is the same week, Monday 00:00 UTC a new one', async () => {
    // 2026-01-01 is a Thursday; its ISO week began on Monday 2025-12-29.
    const { ledger, clock, reserve } = await setup({ allowance: 20, period: 'week' });
    await ledger.settle((await reserve(ANA, 20)).jobId, 20);
    expect((await ledger.creditsView(C, ANA)).resetsAt).toBe(Date.UTC(2026, 0, 5));
    clock.set(Date.UTC(2026, 0, 4, 23, 59));
    expect(await ledger.balance(C, ANA)).toBe(0);
    clock.set(Date.UTC(2026, 0, 5));
    expect(await ledger.balance(C, ANA)).toBe(20);
  });

  it('refills monthly on calendar months, across the year end', async () => {
    const { ledger, clock, reserve } = await setup({ allowance: 100, period: 'month' }, Date.UTC(2025, 11, 31, 23));
    await ledger.settle((await reserve(ANA, 40)).jobId, 40);
    expect((await ledger.creditsView(C, ANA)).resetsAt).toBe(Date.UTC(2026, 0, 1));
    clock.set(Date.UTC(2026, 0, 1));
    expect(await ledger.balance(C, ANA)).toBe(100);
    await ledger.settle((await reserve(ANA, 40)).jobId, 40);
    clock.set(Date.UTC(2026, 0, 31, 23, 59));
    expect(await ledger.balance(C, ANA)).toBe(60);
    clock.set(Date.UTC(2026, 1, 1));
    expect(await ledger.balance(C, ANA)).toBe(100);
  });

  it('with period none credits once and never refills', async () => {
    const { ledger, clock, reserve } = await setup({ allowance: 10, period: 'none' });
    await ledger.settle((await reserve(ANA, 5)).jobId, 5);
    clock.advance(400 * DAY);
    expect(await ledger.balance(C, ANA)).toBe(5);
    expect((await ledger.creditsView(C, ANA)).resetsAt).toBeNull();
  });

  it('uses the allowance a moderator set, at each member’s next refill', async () => {
    const { ledger, clock } = await setup();
    expect(await ledger.balance(C, ANA)).toBe(50);
    await ledger.communities.setAllowance({ communityId: C, amount: 80, period: 'week', actorId: MOD });
    expect(await ledger.balance(C, BO)).toBe(80);
    // Ana was credited for today's day period; the switch to weekly is a new period for her.
    expect(await ledger.balance(C, ANA)).toBe(80);
    clock.advance(DAY);
    expect(await ledger.settings(C)).toEqual({ allowance: 80, period: 'week', cap: null, budget: null, blocked: null });
  });
});

describe('reserving and settling a job', () => {
  it('refuses a reservation above the balance, with the numbers, and charges nothing', async () => {
    const { reserve, entries, ledger } = await setup({ allowance: 3, period: 'day' });
    const { outcome } = await reserve(ANA, 5);
    expect(outcome).toEqual({
      ok: false, reason: 'insufficient_credits', balance: 3, price: 5, resetsAt: Date.UTC(2026, 0, 2), allowance: 3,
    });
    expect(await entries("kind = 'reserve'")).toHaveLength(0);
    expect(await ledger.balance(C, ANA)).toBe(3);
  });

  it('reserves exactly the whole balance', async () => {
    const { reserve } = await setup({ allowance: 5, period: 'day' });
    expect((await reserve(ANA, 5)).outcome).toEqual({ ok: true, balanceAfter: 0 });
    expect((await reserve(ANA, 1)).outcome).toMatchObject({ ok: false, reason: 'insufficient_credits', balance: 0 });
  });

  it('settling below the hold returns the difference', async () => {
    const { ledger, reserve, jobSum } = await setup();
    const { jobId, outcome } = await reserve(ANA, 8);
    expect(outcome).toEqual({ ok: true, balanceAfter: 42 });
    expect(await ledger.heldFor(jobId)).toBe(8);
    await ledger.settle(jobId, 5);
    expect(await ledger.balance(C, ANA)).toBe(45);
    expect(await jobSum(jobId)).toBe(-5);
    expect(await ledger.heldFor(jobId)).toBe(0);
  });

  it("Runway's estimate wins: adjust moves the hold, even below a zero balance", async () => {
    const { ledger, reserve, jobSum, entries } = await setup({ allowance: 5, period: 'day' });
    const { jobId } = await reserve(ANA, 5);
    await ledger.adjust(jobId, 8, 'estimatedCost 8');
    expect(await ledger.heldFor(jobId)).toBe(8);
    expect(await ledger.balance(C, ANA)).toBe(-3);
    await ledger.adjust(jobId, 8, 'same estimate again');
    expect(await entries("kind = 'adjust'")).toHaveLength(1);
    await ledger.settle(jobId, 6);
    expect(await jobSum(jobId)).toBe(-6);
    expect(await ledger.balance(C, ANA)).toBe(-1);
  });

  it('a failed generation refunds the reservation in full', async () => {
    const { ledger, reserve, jobSum } = await setup();
    const { jobId } = await reserve(ANA, 8);
    await ledger.adjust(jobId, 6, 'estimate');
    await ledger.refund(jobId, 'FAILED: SAFETY.INPUT.TEXT');
    expect(await jobSum(jobId)).toBe(0);
    expect(await ledger.balance(C, ANA)).toBe(50);
  });

  it('settling or refunding twice changes nothing', async () => {
    const { ledger, reserve, entries } = await setup();
    const a = (await reserve(ANA, 8)).jobId;
    await ledger.settle(a, 5);
    const count = (await entries()).length;
    await ledger.settle(a, 5);
    await ledger.settle(a, 2);
    await ledger.refund(a, 'late failure');
    await ledger.adjust(a, 3, 'late estimate');
    expect(await entries()).toHaveLength(count);
    const b = (await reserve(ANA, 8)).jobId;
    await ledger.refund(b, 'cancelled');
    await ledger.refund(b, 'cancelled again');
    await ledger.settle(b, 8);
    expect((await entries('job_id = ?', b)).map((e) => e.kind)).toEqual(['reserve', 'refund']);
    expect(await ledger.balance(C, ANA)).toBe(45);
  });

  it('a settled job whose image never reached the chat gets its charge back, once', async () => {
    const { ledger, reserve, entries } = await setup();
    const a = (await reserve(ANA, 8)).jobId;
    await ledger.settle(a, 5);
    await ledger.refundSettled(a, 'delivery failed');
    await ledger.refundSettled(a, 'delivery failed again');
    expect((await entries('job_id = ?', a)).map((e) => e.kind)).toEqual(['reserve', 'settle', 'refund']);
    expect(await ledger.balance(C, ANA)).toBe(50);
    const b = (await reserve(ANA, 8)).jobId;
    await ledger.refundSettled(b, 'not settled');
    expect(await ledger.heldFor(b)).toBe(8);
  });

  it('refunding a job that was never charged writes nothing; settling one with a cost is a bug', async () => {
    const { ledger, db, entries } = await setup();
    await insertJobRow(db, { id: 'lost', communityId: C, userId: ANA });
    await ledger.refund('lost', 'never reserved');
    expect(await entries()).toHaveLength(0);
    await expect(ledger.settle('lost', 5)).rejects.toThrow(expect.objectContaining({ code: 'credits.no_reservation' }));
    await expect(ledger.adjust('lost', 5, 'x')).rejects.toThrow(expect.objectContaining({ code: 'credits.no_reservation' }));
  });

  it('refuses to reserve the same job twice', async () => {
    const { ledger, reserve } = await setup();
    const { jobId } = await reserve(ANA, 5);
    await expect(
      ledger.reserve({ communityId: C, userId: ANA, displayName: 'Ana', jobId, model: 'gen4_image', amount: 5, atMs: 0 }),
    ).rejects.toThrow(expect.objectContaining({ code: 'credits.already_reserved' }));
  });

  it('rejects amounts that are not whole non-negative credits', async () => {
    const { ledger, reserve } = await setup();
    await expect(reserve(ANA, 1.5)).rejects.toThrow(RangeError);
    await expect(reserve(ANA, -1)).rejects.toThrow(RangeError);
    const { jobId } = await reserve(ANA, 5);
    // An async wrapper: the refusal counts whether the call throws at once or its promise rejects.
    await expect(async () => ledger.settle(jobId, Number.NaN)).rejects.toThrow(RangeError);
    await expect(async () => ledger.grant({ communityId: C, userId: ANA, amount: Infinity, actorId: MOD })).rejects.toThrow(RangeError);
  });

  it('every job entry carries the model and the reservation time, and names its actor', async () => {
    const { ledger, reserve, clock, entries } = await setup();
    const reservedAt = clock.now();
    const { jobId } = await reserve(ANA, 8, 'gemini_2.5_flash');
    clock.advance(HOUR);
    await ledger.adjust(jobId, 5, 'estimatedCost 5');
    clock.advance(HOUR);
    await ledger.settle(jobId, 5);
    const jobEntries = await entries('job_id = ?', jobId);
    expect(jobEntries.map((e) => e.kind)).toEqual(['reserve', 'adjust', 'settle']);
    for (const entry of jobEntries) {
      expect(entry).toMatchObject({ model: 'gemini_2.5_flash', spendAt: reservedAt, actorId: 'system', userId: ANA });
    }
    expect(jobEntries.map((e) => e.note)).toEqual(['reserved 8 for gemini_2.5_flash', 'estimatedCost 5', 'final cost 5']);
  });

  it('composes with the caller’s transaction: a rolled-back transition leaves no entry', async () => {
    const { db, ledger, reserveOn, entries } = await setup();
    await ledger.balance(C, ANA);
    const before = (await entries()).length;
    await expect(
      db.transaction(async (tx) => {
        await reserveOn(tx, ANA, 5);
        throw new Error('transition lost the race');
      }),
    ).rejects.toThrow('transition lost the race');
    expect(await entries()).toHaveLength(before);
    await db.transaction((tx) => reserveOn(tx, ANA, 5));
    expect(await ledger.balance(C, ANA)).toBe(45);
  });

  it('keeps communities apart', async () => {
    const { ledger, reserve } = await setup();
    await reserve(ANA, 8, 'gen4_image', 'guild-2');
    expect(await ledger.balance(C, ANA)).toBe(50);
    expect(await ledger.balance('guild-2', ANA)).toBe(42);
  });
});

describe('community cap', () => {
  it('refuses a reservation that would take the community past its cap, with what is left', async () => {
    const { ledger, reserve } = await setup();
    await ledger.communities.setCap({ communityId: C, amount: 12, period: 'week', actorId: MOD });
    expect((await reserve(ANA, 8)).outcome).toMatchObject({ ok: true });
    expect((await reserve(BO, 5)).outcome).toEqual({
      ok: false, reason: 'community_cap', capRemaining: 4, price: 5, resetsAt: Date.UTC(2026, 0, 5),
    });
    expect((await reserve(BO, 4)).outcome).toMatchObject({ ok: true });
  });

  it('returns settled differences and refunds to the cap', async () => {
    const { ledger, reserve } = await setup();
    await ledger.communities.setCap({ communityId: C, amount: 10, period: 'day', actorId: MOD });
    const a = (await reserve(ANA, 8)).jobId;
    await ledger.settle(a, 5);
    const b = (await reserve(BO, 5)).jobId;
    expect((await reserve(BO, 1)).outcome).toMatchObject({ ok: false, reason: 'community_cap', capRemaining: 0 });
    await ledger.refund(b, 'failed');
    expect((await reserve(BO, 5)).outcome).toMatchObject({ ok: true });
  });

  it('counts a job in the period it was reserved in, and resets at the next one', async () => {
    const { ledger, reserve, clock } = await setup({ allowance: 50, period: 'day' }, Date.UTC(2026, 0, 1, 23, 59));
    await ledger.communities.setCap({ communityId: C, amount: 10, period: 'day', actorId: MOD });
    const { jobId } = await reserve(ANA, 10);
    clock.set(Date.UTC(2026, 0, 2, 0, 1));
    await ledger.settle(jobId, 10);
    expect((await reserve(BO, 10)).outcome).toMatchObject({ ok: true });
    expect((await ledger.report(C)).cap).toMatchObject({ spent: 10, remaining: 0 });
  });

  it('cap off removes it; a cap without a period takes the allowance period', async () => {
    const { ledger, reserve } = await setup({ allowance: 50, period: 'month' });
    expect(await ledger.communities.setCap({ communityId: C, amount: 5, actorId: MOD })).toMatchObject({ ok: true, settings: { cap: { amount: 5, period: 'month' } } });
    expect((await reserve(ANA, 8)).outcome).toMatchObject({ ok: false, reason: 'community_cap' });
    expect(await ledger.communities.setCap({ communityId: C, amount: null, actorId: MOD })).toMatchObject({ ok: true, settings: { cap: null } });
    expect((await reserve(ANA, 8)).outcome).toMatchObject({ ok: true });
  });
});

describe('moderator actions', () => {
  it('grant adds on top of the allowance and records the moderator', async () => {
    const { ledger, entries } = await setup();
    expect(await ledger.grant({ communityId: C, userId: ANA, displayName: 'Ana', amount: 20, actorId: MOD })).toEqual({ balanceAfter: 70 });
    expect(await entries("kind = 'grant'")).toEqual([expect.objectContaining({ delta: 20, actorId: MOD, userId: ANA })]);
  });

  it('set writes the difference to reach exactly the amount', async () => {
    const { ledger, entries } = await setup();
    expect(await ledger.set({ communityId: C, userId: ANA, amount: 12, actorId: MOD })).toEqual({ balanceAfter: 12, delta: -38 });
    expect(await ledger.balance(C, ANA)).toBe(12);
    expect(await entries("kind = 'set'")).toEqual([expect.objectContaining({ delta: -38, actorId: MOD })]);
  });
});

describe('views', () => {
  it('creditsView shows spend this period and credits held by running jobs', async () => {
    const { ledger, reserve, clock } = await setup();
    await ledger.settle((await reserve(ANA, 8)).jobId, 5);
    await reserve(ANA, 8);
    expect(await ledger.creditsView(C, ANA)).toEqual({
      balance: 37, allowance: 50, period: 'day', resetsAt: Date.UTC(2026, 0, 2), spentThisPeriod: 5, heldNow: 8, asOf: clock.now(),
    });
  });

  it('report lists top spenders, spend per model and the cap for the cap period', async () => {
    const { ledger, reserve, clock } = await setup();
    await ledger.communities.setCap({ communityId: C, amount: 100, period: 'week', actorId: MOD });
    await ledger.settle((await reserve(ANA, 8)).jobId, 8);
    await ledger.settle((await reserve(ANA, 8)).jobId, 5);
    await ledger.settle((await reserve(BO, 5, 'gemini_2.5_flash')).jobId, 5);
    await ledger.refund((await reserve(BO, 2, 'gen4_image_turbo')).jobId, 'failed');
    await reserve(BO, 2, 'gen4_image_turbo');
    const report = await ledger.report(C);
    expect(report).toEqual({
      budget: null,
      topSpenders: [
        { userId: ANA, displayName: 'ana', spent: 13 },
        { userId: BO, displayName: 'bo', spent: 7 },
      ],
      spendPerModel: [
        { model: 'gen4_image', spent: 13, images: 2 },
        { model: 'gemini_2.5_flash', spent: 5, images: 1 },
        { model: 'gen4_image_turbo', spent: 2, images: 0 },
      ],
      cap: { amount: 100, period: 'week', spent: 20, remaining: 80, resetsAt: Date.UTC(2026, 0, 5) },
      totalSpent: 20,
      period: 'week',
      periodStart: Date.UTC(2025, 11, 29),
      asOf: clock.now(),
    });
    clock.set(Date.UTC(2026, 0, 5));
    expect(await ledger.report(C)).toMatchObject({ topSpenders: [], spendPerModel: [], totalSpent: 0 });
  });
});
