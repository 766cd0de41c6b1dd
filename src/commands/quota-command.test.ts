import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';
import type { Requester } from '../ports.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database } from '../store/sql.ts';
import { creditsCommand } from './credits-command.ts';
import { quotaCommand } from './quota-command.ts';

const C = 'guild-1';
/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

const open: Database[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) await db.close();
});

async function setup() {
  const db = await freshDb();
  open.push(db);
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 21)); // Thursday 21:00 UTC
  const ledger = new CreditLedger(db, clock, { allowance: 50, period: 'day' });
  const person = (userId: string, displayName: string, isModerator = false): Requester => ({
    platform: 'sandbox', communityId: C, userId, displayName, isModerator,
  });
  const mod = person('u-mod', 'Mira', true);
  const ana = person('u-ana', 'Ana');
  let jobs = 0;
  const spend = async (who: Requester, amount: number, final: number | 'refund' | 'running', model = 'gen4_image') => {
    const jobId = `job-${++jobs}`;
    await insertJobRow(db, { id: jobId, communityId: C, userId: who.userId, model });
    await ledger.reserve({ communityId: C, userId: who.userId, displayName: who.displayName, jobId, model, amount, atMs: clock.now() });
    if (final === 'refund') await ledger.refund(jobId, 'failed');
    else if (final !== 'running') await ledger.settle(jobId, final);
  };
  return { db, clock, ledger, mod, ana, person, spend };
}

describe('/quota permissions', () => {
  it.each([
    { action: 'grant', userId: 'u-ana', amount: '20' },
    { action: 'set', userId: 'u-ana', amount: '0' },
    { action: 'allowance', amount: '10' },
    { action: 'cap', amount: 'off' },
    { action: 'report' },
  ] as const)('refuses $action to a non-moderator privately and changes nothing', async (command) => {
    const { ledger, ana, db } = await setup();
    const result = await quotaCommand(ledger, ana, command);
    expect(result.code).toBe('quota.not_moderator');
    expect(result.reply.visibility).toBe('private');
    expect(result.reply.text).toMatch(/^Only moderators \(.+\) can change credits/);
    expect(await db.get('select count(*) as n from ledger')).toEqual({ n: 0 });
    expect(await db.get('select count(*) as n from community_settings')).toEqual({ n: 0 });
  });
});

describe('/quota by a moderator', () => {
  it('grant answers publicly with the new balance', async () => {
    const { ledger, mod } = await setup();
    const result = await quotaCommand(ledger, mod, { action: 'grant', userId: 'u-ana', userName: 'Ana', amount: '20' });
    expect(result).toEqual({ code: 'quota.granted', reply: { visibility: 'public', text: 'Mira granted 20 credits to Ana: balance now `70`.' } });
    expect(await ledger.balance(C, 'u-ana')).toBe(70);
  });

  it('set makes the balance exactly the amount and says what it was', async () => {
    const { ledger, mod } = await setup();
    const result = await quotaCommand(ledger, mod, { action: 'set', userId: 'u-ana', userName: 'Ana', amount: '5' });
    expect(result.code).toBe('quota.set');
    expect(result.reply).toEqual({ visibility: 'public', text: "Mira set Ana's balance to `5` credits (it was 50)." });
    expect(await ledger.balance(C, 'u-ana')).toBe(5);
  });

  it('allowance changes the amount and period', async () => {
    const { ledger, mod } = await setup();
    const result = await quotaCommand(ledger, mod, { action: 'allowance', amount: '30', period: 'Week' });
    expect(result.code).toBe('quota.allowance_set');
    expect(result.reply.visibility).toBe('public');
    expect(result.reply.text).toContain('30 credits a week');
    expect(await ledger.settings(C)).toMatchObject({ allowance: 30, period: 'week' });
  });

  it('cap sets and removes the community cap', async () => {
    const { ledger, mod, ana, spend } = await setup();
    await spend(ana, 8, 8);
    const set = await quotaCommand(ledger, mod, { action: 'cap', amount: '100', period: 'month' });
    expect(set.code).toBe('quota.cap_set');
    expect(set.reply.text).toBe("Mira capped the community's spending at 100 credits a month. So far 8 credits spent, 92 left.");
    expect((await ledger.settings(C)).cap).toEqual({ amount: 100, period: 'month' });
    const off = await quotaCommand(ledger, mod, { action: 'cap', amount: 'OFF' });
    expect(off.code).toBe('quota.cap_removed');
    expect((await ledger.settings(C)).cap).toBeNull();
  });

  it.each([
    ['-5', /negative/],
    ['1e309', /not an amount/],
    ['abc', /not an amount/],
    ['1.5', /not a whole number/],
    ['Infinity', /not an amount/],
    ['', /Give an amount/],
    ['1000001', /more than the limit of 1,000,000/],
    ['99999999999999999999999', /more than the limit/],
  ])('explains the bad amount %j and changes nothing', async (amount, message) => {
    const { ledger, mod, db } = await setup();
    for (const command of [
      { action: 'grant', userId: 'u-ana', amount },
      { action: 'set', userId: 'u-ana', amount },
      { action: 'allowance', amount },
      { action: 'cap', amount },
    ] as const) {
      const result = await quotaCommand(ledger, mod, command);
      expect(result.code).toBe('quota.invalid_amount');
      expect(result.reply.visibility).toBe('private');
      expect(result.reply.text).toMatch(message);
      expect(result.reply.text).toContain('1,000,000');
    }
    expect(await db.get('select count(*) as n from ledger')).toEqual({ n: 0 });
  });

  it('accepts 1,000,000 and thousands separators', async () => {
    const { ledger, mod } = await setup();
    expect((await quotaCommand(ledger, mod, { action: 'grant', userId: 'u-ana', amount: '1,000' })).code).toBe('quota.granted');
    expect((await quotaCommand(ledger, mod, { action: 'set', userId: 'u-ana', amount: '1000000' })).code).toBe('quota.set');
    expect(await ledger.balance(C, 'u-ana')).toBe(1_000_000);
  });

  it('refuses a grant of 0', async () => {
    const { ledger, mod } = await setup();
    const result = await quotaCommand(ledger, mod, { action: 'grant', userId: 'u-ana', amount: '0' });
    expect(result.code).toBe('quota.invalid_amount');
    expect(result.reply.text).toContain('at least `1`');
  });

  it('names the periods it knows when given an unknown one', async () => {
    const { ledger, mod } = await setup();
    const result = await quotaCommand(ledger, mod, { action: 'allowance', amount: '10', period: 'fortnight' });
    expect(result.code).toBe('quota.invalid_period');
    expect(result.reply.visibility).toBe('private');
    for (const period of ['day', 'week', 'month', 'none']) expect(result.reply.text).toContain(`\`${period}\``);
    expect((await ledger.settings(C)).allowance).toBe(50);
  });

  it('report shows top spenders, spend per model and the cap as text, privately', async () => {
    const { ledger, mod, ana, person, spend } = await setup();
    const bo = person('u-bo', 'Bo');
    await ledger.communities.setCap({ communityId: C, amount: 40, period: 'week', actorId: mod.userId });
    await spend(ana, 8, 8);
    await spend(ana, 5, 5, 'gemini_2.5_flash');
    await spend(bo, 2, 2, 'gen4_image_turbo');
    await spend(bo, 5, 'refund');
    await spend(bo, 5, 'running');
    const result = await quotaCommand(ledger, mod, { action: 'report' });
    expect(result.code).toBe('quota.report');
    expect(result.reply.visibility).toBe('private');
    expect(result.reply.text).toBe(
      [
        'Credits report (this week, since 2025-12-29 00:00 UTC)',
        'Spent: 20 credits, including credits held by running jobs.',
        'Cap: 20 of 40 credits left, resets in 3 days (2026-01-05 00:00 UTC).',
        "Operator's budget for this community: unlimited.",
        'Allowance: 50 credits a day.',
        'Top spenders:',
        '  1. Ana: 13 credits',
        '  2. Bo: 7 credits',
        'Spend per model:',
        '  `gen4_image`: 13 credits, 1 image',
        '  `gemini_2.5_flash`: 5 credits, 1 image',
        '  `gen4_image_turbo`: 2 credits, 1 image',
      ].join('\n'),
    );
  });

  it('report says so when nothing has been spent', async () => {
    const { ledger, mod } = await setup();
    expect((await quotaCommand(ledger, mod, { action: 'report' })).reply.text).toContain('No images in this period yet.');
  });
});

describe('/credits', () => {
  it('shows your balance, allowance, refill time, spend and holds', async () => {
    const { ledger, ana, spend } = await setup();
    await spend(ana, 8, 5);
    await spend(ana, 5, 'running');
    const result = await creditsCommand(ledger, ana);
    expect(result).toEqual({
      code: 'credits.view',
      reply: {
        visibility: 'private',
        text: [
          'Your credits: `40`',
          'Allowance: 50 credits a day, refills in 3 h (2026-01-02 00:00 UTC).',
          'Spent today: 5 credits. Held by running jobs: 5 credits.',
        ].join('\n'),
      },
    });
  });

  it("shows another member's credits to a moderator only", async () => {
    const { ledger, mod, ana } = await setup();
    await ledger.grant({ communityId: C, userId: 'u-bo', displayName: 'Bo', amount: 10, actorId: mod.userId });
    const refused = await creditsCommand(ledger, ana, { userId: 'u-bo', displayName: 'Bo' });
    expect(refused.code).toBe('quota.not_moderator');
    expect(refused.reply.visibility).toBe('private');
    expect(refused.reply.text).not.toContain('60');
    const shown = await creditsCommand(ledger, mod, { userId: 'u-bo', displayName: 'Bo' });
    expect(shown.code).toBe('credits.view');
    expect(shown.reply.text).toMatch(/^Bo's credits: `60`/);
    expect((await creditsCommand(ledger, ana, { userId: ana.userId, displayName: 'Ana' })).code).toBe('credits.view');
  });

  it('says an allowance with period none is given once', async () => {
    const { ledger, mod, ana } = await setup();
    await quotaCommand(ledger, mod, { action: 'allowance', amount: '10', period: 'none' });
    expect((await creditsCommand(ledger, ana)).reply.text).toContain('Allowance: 10 credits, given once (it does not refill).');
  });
});
