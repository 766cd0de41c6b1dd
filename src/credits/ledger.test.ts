import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { CreditLedger, type CreditDefaults } from './ledger.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';

const C = 'guild-1';
const ANA = 'user-ana';
const BO = 'user-bo';
const MOD = 'user-mod';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const open: Db[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function setup(defaults: CreditDefaults = { allowance: 50, period: 'day' }, startMs = Date.UTC(2026, 0, 1, 12)) {
  const db = openDatabase(':memory:');
  open.push(db);
  const clock = new ManualClock(startMs);
  const ledger = new CreditLedger(db, clock, defaults);
  let next = 0;
  /** Reserve for a fresh job (with its jobs row) at the clock's time. */
  const reserve = (userId: string, amount: number, model = 'gen4_image', communityId = C) => {
    const jobId = `job-${++next}`;
    insertJobRow(db, { id: jobId, communityId, userId, model, atMs: clock.now() });
    const outcome = ledger.reserve({ communityId, userId, displayName: userId.replace('user-', ''), jobId, model, amount, atMs: clock.now() });
    return { jobId, outcome };
  };
  const entries = (where = '1 = 1', ...params: unknown[]) =>
    db
      .prepare(`select kind, delta, user_id as userId, job_id as jobId, actor_id as actorId, note, model, spend_at as spendAt from ledger where ${where} order by id`)
      .all(...params) as { kind: string; delta: number; userId: string; jobId: string | null; actorId: string; note: string | null; model: string | null; spendAt: number | null }[];
  const jobSum = (jobId: string) => entries('job_id = ?', jobId).reduce((sum, e) => sum + e.delta, 0);
  return { db, clock, ledger, reserve, entries, jobSum };
}

describe('allowance roll-over', () => {
  it('credits the allowance the first time a member is seen', () => {
    const { ledger, entries } = setup();
    expect(ledger.balance(C, ANA, 'Ana')).toBe(50);
    expect(entries()).toEqual([expect.objectContaining({ kind: 'allowance', delta: 50, userId: ANA, actorId: 'system' })]);
    expect(ledger.balance(C, ANA)).toBe(50);
    expect(entries()).toHaveLength(1);
  });

  it('tops a spent balance back up to the allowance at the next UTC day, and only once', () => {
    const { ledger, clock, reserve, entries } = setup();
    const { jobId } = reserve(ANA, 8);
    ledger.settle(jobId, 8);
    clock.set(Date.UTC(2026, 0, 1, 23, 59, 59, 999));
    expect(ledger.balance(C, ANA)).toBe(42);
    clock.set(Date.UTC(2026, 0, 2));
    expect(ledger.balance(C, ANA)).toBe(50);
    expect(ledger.balance(C, ANA)).toBe(50);
    expect(entries("kind = 'allowance'").map((e) => e.delta)).toEqual([50, 8]);
  });

  it('keeps grants above the allowance and does not pile up unused allowance', () => {
    const { ledger, clock } = setup();
    ledger.grant({ communityId: C, userId: ANA, amount: 30, actorId: MOD });
    expect(ledger.balance(C, ANA)).toBe(80);
    clock.advance(DAY);
    expect(ledger.balance(C, ANA)).toBe(80);
    clock.advance(10 * DAY);
    expect(ledger.balance(C, BO)).toBe(50);
    clock.advance(DAY);
    expect(ledger.balance(C, BO)).toBe(50);
  });

  it('refills weekly on ISO weeks: Sunday night is the same week, Monday 00:00 UTC a new one', () => {
    // 2026-01-01 is a Thursday; its ISO week began on Monday 2025-12-29.
    const { ledger, clock, reserve } = setup({ allowance: 20, period: 'week' });
    ledger.settle(reserve(ANA, 20).jobId, 20);
    expect(ledger.creditsView(C, ANA).resetsAt).toBe(Date.UTC(2026, 0, 5));
    clock.set(Date.UTC(2026, 0, 4, 23, 59));
    expect(ledger.balance(C, ANA)).toBe(0);
    clock.set(Date.UTC(2026, 0, 5));
    expect(ledger.balance(C, ANA)).toBe(20);
  });

  it('refills monthly on calendar months, across the year end', () => {
    const { ledger, clock, reserve } = setup({ allowance: 100, period: 'month' }, Date.UTC(2025, 11, 31, 23));
    ledger.settle(reserve(ANA, 40).jobId, 40);
    expect(ledger.creditsView(C, ANA).resetsAt).toBe(Date.UTC(2026, 0, 1));
    clock.set(Date.UTC(2026, 0, 1));
    expect(ledger.balance(C, ANA)).toBe(100);
    ledger.settle(reserve(ANA, 40).jobId, 40);
    clock.set(Date.UTC(2026, 0, 31, 23, 59));
    expect(ledger.balance(C, ANA)).toBe(60);
    clock.set(Date.UTC(2026, 1, 1));
    expect(ledger.balance(C, ANA)).toBe(100);
  });

  it('with period none credits once and never refills', () => {
    const { ledger, clock, reserve } = setup({ allowance: 10, period: 'none' });
    ledger.settle(reserve(ANA, 5).jobId, 5);
    clock.advance(400 * DAY);
    expect(ledger.balance(C, ANA)).toBe(5);
    expect(ledger.creditsView(C, ANA).resetsAt).toBeNull();
  });

  it('uses the allowance a moderator set, at each member’s next refill', () => {
    const { ledger, clock } = setup();
    expect(ledger.balance(C, ANA)).toBe(50);
    ledger.communities.setAllowance({ communityId: C, amount: 80, period: 'week', actorId: MOD });
    expect(ledger.balance(C, BO)).toBe(80);
    // Ana was credited for today's day period; the switch to weekly is a new period for her.
    expect(ledger.balance(C, ANA)).toBe(80);
    clock.advance(DAY);
    expect(ledger.settings(C)).toEqual({ allowance: 80, period: 'week', cap: null, budget: null, blocked: null });
  });
});

describe('reserving and settling a job', () => {
  it('refuses a reservation above the balance, with the numbers, and charges nothing', () => {
    const { reserve, entries, ledger } = setup({ allowance: 3, period: 'day' });
    const { outcome } = reserve(ANA, 5);
    expect(outcome).toEqual({
      ok: false, reason: 'insufficient_credits', balance: 3, price: 5, resetsAt: Date.UTC(2026, 0, 2), allowance: 3,
    });
    expect(entries("kind = 'reserve'")).toHaveLength(0);
    expect(ledger.balance(C, ANA)).toBe(3);
  });

  it('reserves exactly the whole balance', () => {
    const { reserve } = setup({ allowance: 5, period: 'day' });
    expect(reserve(ANA, 5).outcome).toEqual({ ok: true, balanceAfter: 0 });
    expect(reserve(ANA, 1).outcome).toMatchObject({ ok: false, reason: 'insufficient_credits', balance: 0 });
  });

  it('settling below the hold returns the difference', () => {
    const { ledger, reserve, jobSum } = setup();
    const { jobId, outcome } = reserve(ANA, 8);
    expect(outcome).toEqual({ ok: true, balanceAfter: 42 });
    expect(ledger.heldFor(jobId)).toBe(8);
    ledger.settle(jobId, 5);
    expect(ledger.balance(C, ANA)).toBe(45);
    expect(jobSum(jobId)).toBe(-5);
    expect(ledger.heldFor(jobId)).toBe(0);
  });

  it("Runway's estimate wins: adjust moves the hold, even below a zero balance", () => {
    const { ledger, reserve, jobSum, entries } = setup({ allowance: 5, period: 'day' });
    const { jobId } = reserve(ANA, 5);
    ledger.adjust(jobId, 8, 'estimatedCost 8');
    expect(ledger.heldFor(jobId)).toBe(8);
    expect(ledger.balance(C, ANA)).toBe(-3);
    ledger.adjust(jobId, 8, 'same estimate again');
    expect(entries("kind = 'adjust'")).toHaveLength(1);
    ledger.settle(jobId, 6);
    expect(jobSum(jobId)).toBe(-6);
    expect(ledger.balance(C, ANA)).toBe(-1);
  });

  it('a failed generation refunds the reservation in full', () => {
    const { ledger, reserve, jobSum } = setup();
    const { jobId } = reserve(ANA, 8);
    ledger.adjust(jobId, 6, 'estimate');
    ledger.refund(jobId, 'FAILED: SAFETY.INPUT.TEXT');
    expect(jobSum(jobId)).toBe(0);
    expect(ledger.balance(C, ANA)).toBe(50);
  });

  it('settling or refunding twice changes nothing', () => {
    const { ledger, reserve, entries } = setup();
    const a = reserve(ANA, 8).jobId;
    ledger.settle(a, 5);
    const count = entries().length;
    ledger.settle(a, 5);
    ledger.settle(a, 2);
    ledger.refund(a, 'late failure');
    ledger.adjust(a, 3, 'late estimate');
    expect(entries()).toHaveLength(count);
    const b = reserve(ANA, 8).jobId;
    ledger.refund(b, 'cancelled');
    ledger.refund(b, 'cancelled again');
    ledger.settle(b, 8);
    expect(entries('job_id = ?', b).map((e) => e.kind)).toEqual(['reserve', 'refund']);
    expect(ledger.balance(C, ANA)).toBe(45);
  });

  it('a settled job whose image never reached the chat gets its charge back, once', () => {
    const { ledger, reserve, entries } = setup();
    const a = reserve(ANA, 8).jobId;
    ledger.settle(a, 5);
    ledger.refundSettled(a, 'delivery failed');
    ledger.refundSettled(a, 'delivery failed again');
    expect(entries('job_id = ?', a).map((e) => e.kind)).toEqual(['reserve', 'settle', 'refund']);
    expect(ledger.balance(C, ANA)).toBe(50);
    const b = reserve(ANA, 8).jobId;
    ledger.refundSettled(b, 'not settled');
    expect(ledger.heldFor(b)).toBe(8);
  });

  it('refunding a job that was never charged writes nothing; settling one with a cost is a bug', () => {
    const { ledger, db, entries } = setup();
    insertJobRow(db, { id: 'lost', communityId: C, userId: ANA });
    ledger.refund('lost', 'never reserved');
    expect(entries()).toHaveLength(0);
    expect(() => ledger.settle('lost', 5)).toThrow(expect.objectContaining({ code: 'credits.no_reservation' }));
    expect(() => ledger.adjust('lost', 5, 'x')).toThrow(expect.objectContaining({ code: 'credits.no_reservation' }));
  });

  it('refuses to reserve the same job twice', () => {
    const { ledger, reserve } = setup();
    const { jobId } = reserve(ANA, 5);
    expect(() =>
      ledger.reserve({ communityId: C, userId: ANA, displayName: 'Ana', jobId, model: 'gen4_image', amount: 5, atMs: 0 }),
    ).toThrow(expect.objectContaining({ code: 'credits.already_reserved' }));
  });

  it('rejects amounts that are not whole non-negative credits', () => {
    const { ledger, reserve } = setup();
    expect(() => reserve(ANA, 1.5)).toThrow(RangeError);
    expect(() => reserve(ANA, -1)).toThrow(RangeError);
    const { jobId } = reserve(ANA, 5);
    expect(() => ledger.settle(jobId, Number.NaN)).toThrow(RangeError);
    expect(() => ledger.grant({ communityId: C, userId: ANA, amount: Infinity, actorId: MOD })).toThrow(RangeError);
  });

  it('every job entry carries the model and the reservation time, and names its actor', () => {
    const { ledger, reserve, clock, entries } = setup();
    const reservedAt = clock.now();
    const { jobId } = reserve(ANA, 8, 'gemini_2.5_flash');
    clock.advance(HOUR);
    ledger.adjust(jobId, 5, 'estimatedCost 5');
    clock.advance(HOUR);
    ledger.settle(jobId, 5);
    const jobEntries = entries('job_id = ?', jobId);
    expect(jobEntries.map((e) => e.kind)).toEqual(['reserve', 'adjust', 'settle']);
    for (const entry of jobEntries) {
      expect(entry).toMatchObject({ model: 'gemini_2.5_flash', spendAt: reservedAt, actorId: 'system', userId: ANA });
    }
    expect(jobEntries.map((e) => e.note)).toEqual(['reserved 8 for gemini_2.5_flash', 'estimatedCost 5', 'final cost 5']);
  });

  it('composes with the caller’s transaction: a rolled-back transition leaves no entry', () => {
    const { db, ledger, reserve, entries } = setup();
    ledger.balance(C, ANA);
    const before = entries().length;
    expect(() =>
      db.transaction(() => {
        reserve(ANA, 5);
        throw new Error('transition lost the race');
      }).immediate(),
    ).toThrow('transition lost the race');
    expect(entries()).toHaveLength(before);
    db.transaction(() => reserve(ANA, 5)).immediate();
    expect(ledger.balance(C, ANA)).toBe(45);
  });

  it('keeps communities apart', () => {
    const { ledger, reserve } = setup();
    reserve(ANA, 8, 'gen4_image', 'guild-2');
    expect(ledger.balance(C, ANA)).toBe(50);
    expect(ledger.balance('guild-2', ANA)).toBe(42);
  });
});

describe('community cap', () => {
  it('refuses a reservation that would take the community past its cap, with what is left', () => {
    const { ledger, reserve } = setup();
    ledger.communities.setCap({ communityId: C, amount: 12, period: 'week', actorId: MOD });
    expect(reserve(ANA, 8).outcome).toMatchObject({ ok: true });
    expect(reserve(BO, 5).outcome).toEqual({
      ok: false, reason: 'community_cap', capRemaining: 4, price: 5, resetsAt: Date.UTC(2026, 0, 5),
    });
    expect(reserve(BO, 4).outcome).toMatchObject({ ok: true });
  });

  it('returns settled differences and refunds to the cap', () => {
    const { ledger, reserve } = setup();
    ledger.communities.setCap({ communityId: C, amount: 10, period: 'day', actorId: MOD });
    const a = reserve(ANA, 8).jobId;
    ledger.settle(a, 5);
    const b = reserve(BO, 5).jobId;
    expect(reserve(BO, 1).outcome).toMatchObject({ ok: false, reason: 'community_cap', capRemaining: 0 });
    ledger.refund(b, 'failed');
    expect(reserve(BO, 5).outcome).toMatchObject({ ok: true });
  });

  it('counts a job in the period it was reserved in, and resets at the next one', () => {
    const { ledger, reserve, clock } = setup({ allowance: 50, period: 'day' }, Date.UTC(2026, 0, 1, 23, 59));
    ledger.communities.setCap({ communityId: C, amount: 10, period: 'day', actorId: MOD });
    const { jobId } = reserve(ANA, 10);
    clock.set(Date.UTC(2026, 0, 2, 0, 1));
    ledger.settle(jobId, 10);
    expect(reserve(BO, 10).outcome).toMatchObject({ ok: true });
    expect(ledger.report(C).cap).toMatchObject({ spent: 10, remaining: 0 });
  });

  it('cap off removes it; a cap without a period takes the allowance period', () => {
    const { ledger, reserve } = setup({ allowance: 50, period: 'month' });
    expect(ledger.communities.setCap({ communityId: C, amount: 5, actorId: MOD })).toMatchObject({ ok: true, settings: { cap: { amount: 5, period: 'month' } } });
    expect(reserve(ANA, 8).outcome).toMatchObject({ ok: false, reason: 'community_cap' });
    expect(ledger.communities.setCap({ communityId: C, amount: null, actorId: MOD })).toMatchObject({ ok: true, settings: { cap: null } });
    expect(reserve(ANA, 8).outcome).toMatchObject({ ok: true });
  });
});

describe('moderator actions', () => {
  it('grant adds on top of the allowance and records the moderator', () => {
    const { ledger, entries } = setup();
    expect(ledger.grant({ communityId: C, userId: ANA, displayName: 'Ana', amount: 20, actorId: MOD })).toEqual({ balanceAfter: 70 });
    expect(entries("kind = 'grant'")).toEqual([expect.objectContaining({ delta: 20, actorId: MOD, userId: ANA })]);
  });

  it('set writes the difference to reach exactly the amount', () => {
    const { ledger, entries } = setup();
    expect(ledger.set({ communityId: C, userId: ANA, amount: 12, actorId: MOD })).toEqual({ balanceAfter: 12, delta: -38 });
    expect(ledger.balance(C, ANA)).toBe(12);
    expect(entries("kind = 'set'")).toEqual([expect.objectContaining({ delta: -38, actorId: MOD })]);
  });
});

describe('views', () => {
  it('creditsView shows spend this period and credits held by running jobs', () => {
    const { ledger, reserve, clock } = setup();
    ledger.settle(reserve(ANA, 8).jobId, 5);
    reserve(ANA, 8);
    expect(ledger.creditsView(C, ANA)).toEqual({
      balance: 37, allowance: 50, period: 'day', resetsAt: Date.UTC(2026, 0, 2), spentThisPeriod: 5, heldNow: 8, asOf: clock.now(),
    });
  });

  it('report lists top spenders, spend per model and the cap for the cap period', () => {
    const { ledger, reserve, clock } = setup();
    ledger.communities.setCap({ communityId: C, amount: 100, period: 'week', actorId: MOD });
    ledger.settle(reserve(ANA, 8).jobId, 8);
    ledger.settle(reserve(ANA, 8).jobId, 5);
    ledger.settle(reserve(BO, 5, 'gemini_2.5_flash').jobId, 5);
    ledger.refund(reserve(BO, 2, 'gen4_image_turbo').jobId, 'failed');
    reserve(BO, 2, 'gen4_image_turbo');
    const report = ledger.report(C);
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
    expect(ledger.report(C)).toMatchObject({ topSpenders: [], spendPerModel: [], totalSpent: 0 });
  });
});
