import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database } from '../store/sql.ts';
import { CreditLedger, type CreditDefaults } from './ledger.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MOD = 'user-mod';
const OPERATOR = 'operator';

/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

const open: Database[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

async function setup(defaults: CreditDefaults, startMs = Date.UTC(2026, 0, 1, 12)) {
  const db = await freshDb();
  open.push(db);
  const clock = new ManualClock(startMs);
  const ledger = new CreditLedger(db, clock, defaults);
  let next = 0;
  const reserve = async (communityId: string, userId: string, amount: number) => {
    const jobId = `job-${++next}`;
    await insertJobRow(db, { id: jobId, communityId, userId, model: 'gen4_image', atMs: clock.now() });
    return { jobId, outcome: await ledger.reserve({ communityId, userId, displayName: userId, jobId, model: 'gen4_image', amount, atMs: clock.now() }) };
  };
  return { db, clock, ledger, reserve };
}

describe("the operator's budget across every community", () => {
  it('stops every community at once when spent, and refills at the next period', async () => {
    const { ledger, clock, reserve } = await setup({ allowance: 50, period: 'day', operatorBudget: { amount: 20, period: 'day' } });
    expect((await reserve('guild-a', 'ana', 8)).outcome).toEqual({ ok: true, balanceAfter: 42 });
    expect((await reserve('guild-b', 'bo', 8)).outcome).toEqual({ ok: true, balanceAfter: 42 });
    // 16 of 20 spent: a third community's 8-credit image would pass 20.
    expect((await reserve('guild-c', 'cy', 8)).outcome).toEqual({
      ok: false, reason: 'operator_budget', remaining: 4, price: 8, period: 'day', resetsAt: Date.UTC(2026, 0, 2),
    });
    expect((await reserve('guild-a', 'ana', 4)).outcome).toEqual({ ok: true, balanceAfter: 38 });
    expect((await reserve('guild-a', 'ana', 1)).outcome).toMatchObject({ ok: false, reason: 'operator_budget', remaining: 0 });
    expect(await ledger.operatorBudgetView()).toEqual({ amount: 20, period: 'day', spent: 20, remaining: 0, resetsAt: Date.UTC(2026, 0, 2) });
    clock.advance(DAY);
    expect((await reserve('guild-c', 'cy', 8)).outcome).toEqual({ ok: true, balanceAfter: 42 });
  });

  it('a refunded job gives its credits back to the budget; a settled one keeps only its cost', async () => {
    const { ledger, reserve } = await setup({ allowance: 50, period: 'day', operatorBudget: { amount: 10, period: 'day' } });
    const first = await reserve('guild-a', 'ana', 8);
    await ledger.refund(first.jobId, 'failed');
    const second = await reserve('guild-b', 'bo', 8);
    await ledger.settle(second.jobId, 5);
    expect((await ledger.operatorBudgetView())?.spent).toBe(5);
    expect((await reserve('guild-c', 'cy', 5)).outcome).toMatchObject({ ok: true });
    expect((await reserve('guild-c', 'cy', 1)).outcome).toMatchObject({ ok: false, reason: 'operator_budget', remaining: 0 });
  });

  it('is unlimited only when the operator says so', async () => {
    const { ledger, reserve } = await setup({ allowance: 1_000, period: 'day', operatorBudget: null });
    for (let i = 0; i < 5; i++) expect((await reserve(`guild-${i}`, 'ana', 500)).outcome).toMatchObject({ ok: true });
    expect(await ledger.operatorBudgetView()).toBeNull();
  });
});

describe("a community's budget, set by the operator", () => {
  it('COMMUNITY_BUDGET applies to every community on its own', async () => {
    const { reserve } = await setup({ allowance: 50, period: 'day', communityBudget: { amount: 10, period: 'day' } });
    expect((await reserve('guild-a', 'ana', 8)).outcome).toMatchObject({ ok: true });
    expect((await reserve('guild-a', 'bo', 8)).outcome).toEqual({
      ok: false, reason: 'community_budget', remaining: 2, price: 8, period: 'day', resetsAt: Date.UTC(2026, 0, 2),
    });
    expect((await reserve('guild-b', 'bo', 8)).outcome).toMatchObject({ ok: true });
  });

  it("the operator's own figure for a community replaces the default, and the next request obeys it", async () => {
    const { ledger, reserve } = await setup({ allowance: 50, period: 'day', communityBudget: { amount: 10, period: 'day' } });
    expect((await ledger.communities.setBudget({ communityId: 'guild-a', amount: 30, period: 'week', actorId: OPERATOR })).budget).toEqual({ amount: 30, period: 'week' });
    expect((await reserve('guild-a', 'ana', 8)).outcome).toMatchObject({ ok: true });
    expect((await reserve('guild-a', 'bo', 8)).outcome).toMatchObject({ ok: true });
    expect((await ledger.communities.setBudget({ communityId: 'guild-a', amount: 16, actorId: OPERATOR })).budget).toEqual({ amount: 16, period: 'week' });
    expect((await reserve('guild-a', 'cy', 1)).outcome).toMatchObject({ ok: false, reason: 'community_budget', remaining: 0, period: 'week' });
    expect((await ledger.communities.setBudget({ communityId: 'guild-a', amount: null, actorId: OPERATOR })).budget).toEqual({ amount: 10, period: 'day' });
  });

  it("a moderator's cap can lower the budget but never raise it", async () => {
    const { ledger, reserve } = await setup({ allowance: 50, period: 'day', communityBudget: { amount: 100, period: 'day' } });
    expect(await ledger.communities.setCap({ communityId: 'guild-a', amount: 101, period: 'day', actorId: MOD })).toEqual({
      ok: false, reason: 'above_budget', budget: { amount: 100, period: 'day' },
    });
    expect((await ledger.settings('guild-a')).cap).toBeNull();
    expect(await ledger.communities.setCap({ communityId: 'guild-a', amount: 8, period: 'day', actorId: MOD })).toMatchObject({ ok: true, settings: { cap: { amount: 8 } } });
    expect((await reserve('guild-a', 'ana', 8)).outcome).toMatchObject({ ok: true });
    expect((await reserve('guild-a', 'bo', 1)).outcome).toMatchObject({ ok: false, reason: 'community_cap' });
  });

  it('the report shows the cap and the budget side by side', async () => {
    const { ledger, reserve } = await setup({ allowance: 50, period: 'day', communityBudget: { amount: 100, period: 'day' } });
    await ledger.communities.setCap({ communityId: 'guild-a', amount: 40, period: 'day', actorId: MOD });
    await reserve('guild-a', 'ana', 8);
    const report = await ledger.report('guild-a');
    expect(report.cap).toEqual({ amount: 40, period: 'day', spent: 8, remaining: 32, resetsAt: Date.UTC(2026, 0, 2) });
    expect(report.budget).toEqual({ amount: 100, period: 'day', spent: 8, remaining: 92, resetsAt: Date.UTC(2026, 0, 2) });
  });

  it('blocking and unblocking is recorded on the community', async () => {
    const { ledger, clock } = await setup({ allowance: 50, period: 'day' });
    expect((await ledger.communities.setBlocked({ communityId: 'guild-a', blocked: true, note: 'spam', actorId: OPERATOR })).blocked).toEqual({ atMs: clock.now(), note: 'spam' });
    expect((await ledger.communities.setBlocked({ communityId: 'guild-a', blocked: false, actorId: OPERATOR })).blocked).toBeNull();
  });
});

describe('holds across a period boundary (README: unused allowance does not pile up)', () => {
  it('ten 5-credit holds at 23:59:30, refunded after midnight, leave the allowance, not twice it', async () => {
    const { ledger, clock, reserve } = await setup({ allowance: 50, period: 'day' }, Date.UTC(2026, 0, 1, 23, 59, 30));
    const jobs: Awaited<ReturnType<typeof reserve>>[] = [];
    for (let i = 0; i < 10; i++) jobs.push(await reserve('guild-a', 'ana', 5));
    expect(jobs.map((j) => j.outcome.ok)).toEqual(Array.from({ length: 10 }, () => true));
    expect(await ledger.balance('guild-a', 'ana')).toBe(0);
    clock.set(Date.UTC(2026, 0, 2, 0, 0, 10));
    expect(await ledger.balance('guild-a', 'ana')).toBe(50);
    for (const job of jobs) await ledger.refund(job.jobId, 'failed');
    expect(await ledger.balance('guild-a', 'ana')).toBe(50);
  });

  it('a hold settled after midnight is charged to yesterday, and today still starts full', async () => {
    const { ledger, clock, reserve } = await setup({ allowance: 50, period: 'day' }, Date.UTC(2026, 0, 1, 23, 59, 30));
    const { jobId } = await reserve('guild-a', 'ana', 10);
    clock.set(Date.UTC(2026, 0, 2, 0, 0, 10));
    expect(await ledger.balance('guild-a', 'ana')).toBe(50);
    await ledger.settle(jobId, 6);
    expect(await ledger.balance('guild-a', 'ana')).toBe(50);
  });

  it('credits granted above the allowance are kept when a hold comes back', async () => {
    const { ledger, clock, reserve } = await setup({ allowance: 50, period: 'day' }, Date.UTC(2026, 0, 1, 23, 0));
    await ledger.grant({ communityId: 'guild-a', userId: 'ana', amount: 100, actorId: MOD });
    const { jobId } = await reserve('guild-a', 'ana', 10);
    clock.advance(2 * HOUR);
    expect(await ledger.balance('guild-a', 'ana')).toBe(140);
    await ledger.refund(jobId, 'failed');
    expect(await ledger.balance('guild-a', 'ana')).toBe(150);
  });
});
