import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database } from '../store/sql.ts';
import {
  admitByOrganization,
  concurrencyOf,
  dailyCountFrom,
  lowBalanceCrossing,
  parseOrganization,
  SNAPSHOT_TRUSTED_MS,
  type BotUsage,
  type OrganizationSnapshot,
} from './organization.ts';
import { OrganizationWatch } from './organization-watch.ts';
import { recordingLogger } from '../../test/support/recording-logger.ts';

// 20:40 UTC: the daily limits reset in 3 h 20 min.
const NOW = Date.UTC(2026, 0, 1, 20, 40);
const READ_AT = NOW - 60_000;

/** An answer shaped like the SDK's OrganizationRetrieveResponse. */
function answer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    creditBalance: 500,
    tier: {
      maxMonthlyCreditSpend: 100_000,
      models: {
        gen4_image: { maxConcurrentGenerations: 2, maxDailyGenerations: 100 },
        gemini_2_5_flash_typo: { maxConcurrentGenerations: 'x' },
        'gemini_2.5_flash': { maxConcurrentGenerations: null, maxDailyGenerations: null },
        gen4_aleph: { maxConcurrentGenerations: 1, maxDailyGenerations: 10 },
      },
    },
    usage: { models: { gen4_image: { dailyGenerations: 7 }, gen4_aleph: { dailyGenerations: 3 } } },
    ...overrides,
  };
}

function snapshot(p: { creditBalance?: number | null; maxDaily?: number | null; dailyUsed?: number; readAtMs?: number } = {}): OrganizationSnapshot {
  return {
    creditBalance: p.creditBalance === undefined ? 1_000 : p.creditBalance,
    models: new Map([['gen4_image', { maxConcurrent: 2, maxDaily: p.maxDaily === undefined ? 100 : p.maxDaily, dailyUsed: p.dailyUsed ?? 0 }]]),
    readAtMs: p.readAtMs ?? READ_AT,
  };
}

const idle: BotUsage = { heldCredits: 0, chargedSinceRead: 0, startedSince: 0 };
const gen4 = { modelId: 'gen4_image', priceCredits: 8 };

describe('parseOrganization', () => {
  it('keeps the balance and every catalogue model, null limits as no limit, and leaves other models out', () => {
    const read = parseOrganization(answer(), READ_AT);
    expect(read).toEqual({
      ok: true,
      snapshot: {
        creditBalance: 500,
        models: new Map([
          ['gen4_image', { maxConcurrent: 2, maxDaily: 100, dailyUsed: 7 }],
          ['gemini_2.5_flash', { maxConcurrent: null, maxDaily: null, dailyUsed: 0 }],
        ]),
        readAtMs: READ_AT,
      },
    });
  });

  it('tolerates missing fields: each costs only itself', () => {
    const read = parseOrganization({ tier: { models: { gen4_image: { maxDailyGenerations: 5 } } }, usage: { models: { gen4_image_turbo: { dailyGenerations: 2 } } } }, READ_AT);
    expect(read).toEqual({
      ok: true,
      snapshot: {
        creditBalance: null,
        models: new Map([
          ['gen4_image', { maxDaily: 5, dailyUsed: 0 }],
          ['gen4_image_turbo', { maxDaily: null, dailyUsed: 2 }],
        ]),
        readAtMs: READ_AT,
      },
    });
    expect(parseOrganization({}, READ_AT)).toEqual({ ok: true, snapshot: { creditBalance: null, models: new Map(), readAtMs: READ_AT } });
    expect(parseOrganization({ creditBalance: null, tier: {}, usage: {} }, READ_AT)).toMatchObject({ ok: true, snapshot: { creditBalance: null } });
  });

  it('turns garbage into a clear failure, not a crash', () => {
    expect(parseOrganization('<html>Bad gateway</html>', READ_AT)).toEqual({
      ok: false,
      message: 'unexpected organisation answer: (root): Invalid input: expected object, received string',
    });
    expect(parseOrganization(answer({ creditBalance: '500' }), READ_AT)).toEqual({
      ok: false,
      message: 'unexpected organisation answer: creditBalance: Invalid input: expected number, received string',
    });
    const badLimits = answer({
      tier: { models: { gen4_image: { maxConcurrentGenerations: 0, maxDailyGenerations: -1 } } },
      usage: { models: { gen4_image: { dailyGenerations: 'seven' } } },
    });
    expect(parseOrganization(badLimits, READ_AT)).toEqual({
      ok: false,
      message:
        'unexpected organisation answer: tier.models.gen4_image.maxConcurrentGenerations: Too small: expected number to be >0; ' +
        'tier.models.gen4_image.maxDailyGenerations: Too small: expected number to be >=0; ' +
        'usage.models.gen4_image.dailyGenerations: Invalid input: expected number, received string',
    });
    expect(parseOrganization(null, READ_AT)).toMatchObject({ ok: false });
    expect(parseOrganization(answer({ tier: { models: { gen4_image: null } } }), READ_AT)).toEqual({
      ok: false,
      message: 'unexpected organisation answer: tier.models.gen4_image: Invalid input: expected object, received null',
    });
  });

  it('gives the runner a slot count per model: Infinity for no limit, nothing when Runway did not say', () => {
    const read = parseOrganization(
      { tier: { models: { gen4_image: { maxConcurrentGenerations: 3 }, 'gemini_2.5_flash': { maxConcurrentGenerations: null }, gen4_image_turbo: {} } } },
      READ_AT,
    );
    if (!read.ok) throw new Error(read.message);
    expect(concurrencyOf(read.snapshot)).toEqual(new Map([['gen4_image', 3], ['gemini_2.5_flash', Number.POSITIVE_INFINITY]]));
  });
});

describe('admitByOrganization', () => {
  it('admits what the account can pay for and the daily limit allows', () => {
    expect(admitByOrganization(snapshot(), gen4, idle, NOW)).toEqual({ ok: true });
    // Exactly enough: the balance covers what is held plus this price.
    expect(admitByOrganization(snapshot({ creditBalance: 20 }), gen4, { ...idle, heldCredits: 12 }, NOW)).toEqual({ ok: true });
  });

  it('refuses when the account cannot pay for this on top of what jobs in flight hold, without showing its balance', () => {
    const refused = admitByOrganization(snapshot({ creditBalance: 20 }), gen4, { ...idle, heldCredits: 13 }, NOW);
    expect(refused).toEqual({
      ok: false,
      failure: {
        code: 'runway.organization_out_of_credits',
        userMessage:
          "The bot's Runway account does not have enough credits left for this image (8 credits), so Runway would refuse it. Nothing was charged.\n" +
          "No images can be made until the bot's operator tops up the Runway account; please try again later.",
      },
    });
    // What Runway charged since the read is not in the snapshot's balance yet.
    expect(admitByOrganization(snapshot({ creditBalance: 20 }), gen4, { ...idle, chargedSinceRead: 13 }, NOW)).toMatchObject({
      ok: false,
      failure: { code: 'runway.organization_out_of_credits' },
    });
  });

  it('refuses when the daily limit is reached, counting Runway\'s figure and what the bot started since', () => {
    const refused = admitByOrganization(snapshot({ maxDaily: 10, dailyUsed: 7 }), gen4, { ...idle, startedSince: 3 }, NOW);
    expect(refused).toEqual({
      ok: false,
      failure: {
        code: 'runway.daily_limit_reached',
        userMessage:
          "The bot's Runway account has reached Runway's daily limit for `gen4_image` (10 images a day). Nothing was charged.\n" +
          'The limit resets at 00:00 UTC, in 3 h 20 min (2026-01-02 00:00 UTC): try again then, or pick another model.',
      },
    });
    expect(admitByOrganization(snapshot({ maxDaily: 10, dailyUsed: 7 }), gen4, { ...idle, startedSince: 2 }, NOW)).toEqual({ ok: true });
    const one = admitByOrganization(snapshot({ maxDaily: 1, dailyUsed: 1 }), gen4, idle, NOW);
    expect(one.ok ? '' : one.failure.userMessage).toContain('(1 image a day)');
  });

  it('checks the balance before the daily limit', () => {
    const both = admitByOrganization(snapshot({ creditBalance: 0, maxDaily: 1, dailyUsed: 1 }), gen4, idle, NOW);
    expect(both).toMatchObject({ ok: false, failure: { code: 'runway.organization_out_of_credits' } });
  });

  it("forgets yesterday's daily count after midnight UTC, and counts the bot's generations from midnight", () => {
    const lastNight = Date.UTC(2026, 0, 1, 23, 50);
    const afterMidnight = Date.UTC(2026, 0, 2, 0, 10);
    const stale = snapshot({ maxDaily: 10, dailyUsed: 10, readAtMs: lastNight });
    expect(admitByOrganization(stale, gen4, idle, afterMidnight)).toEqual({ ok: true });
    expect(dailyCountFrom(stale, afterMidnight)).toBe(Date.UTC(2026, 0, 2));
    expect(dailyCountFrom(stale, lastNight + 60_000)).toBe(lastNight);
  });

  it('never refuses on what it does not know: no balance, no limit, another model, an old snapshot', () => {
    const broke = { ...idle, heldCredits: 1_000_000, startedSince: 1_000_000 };
    expect(admitByOrganization(snapshot({ creditBalance: null, maxDaily: null }), gen4, broke, NOW)).toEqual({ ok: true });
    expect(admitByOrganization(snapshot({ creditBalance: null }), { modelId: 'gen4_image_turbo', priceCredits: 2 }, broke, NOW)).toEqual({ ok: true });
    const old = snapshot({ creditBalance: 0, readAtMs: NOW - SNAPSHOT_TRUSTED_MS - 1 });
    expect(admitByOrganization(old, gen4, idle, NOW)).toEqual({ ok: true });
    expect(admitByOrganization({ ...old, readAtMs: NOW - SNAPSHOT_TRUSTED_MS }, gen4, idle, NOW)).toMatchObject({ ok: false });
  });
});

describe('lowBalanceCrossing', () => {
  it('warns when the balance falls below the threshold, once, and again only after it went back above', () => {
    expect(lowBalanceCrossing(false, 1_000, 1_000)).toEqual({ below: false, warn: false });
    expect(lowBalanceCrossing(false, 999, 1_000)).toEqual({ below: true, warn: true });
    expect(lowBalanceCrossing(true, 500, 1_000)).toEqual({ below: true, warn: false });
    expect(lowBalanceCrossing(true, 1_200, 1_000)).toEqual({ below: false, warn: false });
    expect(lowBalanceCrossing(true, null, 1_000)).toEqual({ below: true, warn: false });
    expect(lowBalanceCrossing(false, null, 1_000)).toEqual({ below: false, warn: false });
  });
});

describe('OrganizationWatch', () => {
  /** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
  const open: Database[] = [];
  async function freshDb(): Promise<Database> {
    const db = await openTestDb();
    open.push(db);
    return db;
  }
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });

  it('logs the low-balance warning once per crossing', async () => {
    const log = recordingLogger();
    const db = await freshDb();
    const watch = new OrganizationWatch({ db, clock: new ManualClock(NOW), log, lowBalanceCredits: 1_000 });
    for (const balance of [1_500, 900, 800, null, 700]) watch.observe(snapshot({ creditBalance: balance }));
    expect(log.warnings()).toEqual([
      {
        level: 'warn',
        message: 'the Runway account is running low on credits; top it up before requests are refused',
        fields: { creditBalance: 900, threshold: 1_000 },
      },
    ]);
    watch.observe(snapshot({ creditBalance: 1_000 }));
    watch.observe(snapshot({ creditBalance: 400 }));
    expect(log.warnings().map((line) => line.fields)).toEqual([
      { creditBalance: 900, threshold: 1_000 },
      { creditBalance: 400, threshold: 1_000 },
    ]);
  });

  it('admits everything until a snapshot was read, then decides from the latest one', async () => {
    const db = await freshDb();
    const watch = new OrganizationWatch({ db, clock: new ManualClock(NOW), log: recordingLogger(), lowBalanceCredits: 0 });
    expect(watch.snapshot()).toBeNull();
    expect(await watch.check('gen4_image', 8)).toEqual({ ok: true });
    watch.observe(snapshot({ creditBalance: 5 }));
    expect(await watch.check('gen4_image', 8)).toMatchObject({ ok: false, failure: { code: 'runway.organization_out_of_credits' } });
    expect(await watch.check('gen4_image', 5)).toEqual({ ok: true });
  });
});
