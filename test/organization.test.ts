import RunwayML from '@runwayml/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { RunwayGateway } from '../src/runway/gateway.ts';
import { dailyLimitReached, organizationOutOfCredits } from '../src/runway/organization.ts';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';
import { noisePng } from './support/images.ts';
import { recordingLogger } from './support/recording-logger.ts';

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const TEN_MINUTES = 10 * 60 * 1000;
/** Every call the bot made to Runway except reading the organisation. */
const runwayCalls = (h: CoreHarness) => h.sim.requests.filter((r) => r.path !== '/v1/organization');
const count = async (h: CoreHarness, table: 'jobs' | 'ledger') => (await h.app.db.value<number>(`select count(*) from ${table}`))!;

describe("Runway's organisation as a budget", () => {
  it('refuses at no cost what the Runway account cannot pay for: no ledger entry, no download, no Runway call', async () => {
    const h = (harness = await startCoreHarness({ sim: { creditBalance: 5 } }));
    const amy = h.requester('amy');
    const cat = memoryReference('cat.png', noisePng(1, 64));
    const expected = {
      ok: false,
      code: 'runway.organization_out_of_credits',
      reply: { visibility: 'private', text: organizationOutOfCredits(8).userMessage },
    };

    expect(await h.app.core.checkImagine(amy, { prompt: 'a cat in a hat', ratio: '16:9', references: [cat] })).toEqual(expected);
    expect(await h.app.core.imagine(amy, { prompt: 'a cat in a hat', ratio: '16:9', references: [cat] }, 'ph-1')).toEqual(expected);

    expect(cat.downloads).toBe(0);
    expect(await count(h, 'ledger')).toBe(0);
    expect(await count(h, 'jobs')).toBe(0);
    expect(runwayCalls(h)).toEqual([]);

    // A cheaper image fits; once the operator tops up and the account is read again, so does this one.
    expect(await h.app.core.imagine(amy, { prompt: 'a cat', model: 'gen4_image_turbo', references: [cat] }, 'ph-2')).toMatchObject({ ok: true });
    h.sim.topUp(100);
    await h.advance(TEN_MINUTES);
    expect(await h.app.core.imagine(amy, { prompt: 'a cat in a hat', ratio: '16:9', references: [cat] }, 'ph-3')).toMatchObject({ ok: true });
  });

  it("refuses at no cost past the model's daily limit, and says when it resets", async () => {
    // The harness's clock starts at 2026-11-25 12:00 UTC.
    const h = (harness = await startCoreHarness({ sim: { maxDailyGenerations: 1 } }));
    expect(await h.app.core.imagine(h.requester('amy'), { prompt: 'a koi pond', references: [] }, 'ph-1')).toMatchObject({ ok: true });
    const ledgerBefore = await count(h, 'ledger');
    const cat = memoryReference('cat.png', noisePng(2, 64));

    const refused = await h.app.core.imagine(h.requester('bob'), { prompt: 'a cat', references: [cat] }, 'ph-2');
    expect(refused).toEqual({
      ok: false,
      code: 'runway.daily_limit_reached',
      reply: {
        visibility: 'private',
        text:
          "The bot's Runway account has reached Runway's daily limit for `gen4_image` (1 image a day). Nothing was charged.\n" +
          'The limit resets at 00:00 UTC, in 12 h (2026-11-26 00:00 UTC): try again then, or pick another model.',
      },
    });
    expect(cat.downloads).toBe(0);
    expect(await count(h, 'ledger')).toBe(ledgerBefore);
    expect(await h.ledgerSum({ userId: 'bob' })).toBe(0);

    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(h.sim.tasks()).toHaveLength(1);
    // Another model has its own limit.
    expect(await h.app.core.imagine(h.requester('bob'), { prompt: 'a cat', model: 'gemini_2.5_flash', references: [] }, 'ph-3')).toMatchObject({ ok: true });
    // Read again late in the day: Runway counts the one generation.
    h.clock.set(Date.UTC(2026, 10, 25, 23, 55));
    await h.advance(0);
    expect(await h.app.core.checkImagine(h.requester('bob'), { prompt: 'a cat', references: [] })).toMatchObject({ ok: false, code: 'runway.daily_limit_reached' });
    // After midnight UTC the limit has reset, before the account is read again.
    h.clock.set(Date.UTC(2026, 10, 26, 0, 0, 1));
    expect(await h.app.core.imagine(h.requester('bob'), { prompt: 'a cat', references: [cat] }, 'ph-4')).toMatchObject({ ok: true });
    expect(h.sim.requests.filter((r) => r.path === '/v1/organization').at(-1)?.at).toBeLessThan(Date.UTC(2026, 10, 26));
  });

  it("counts generations the account made elsewhere, as Runway reports them, and no limit when Runway says null", async () => {
    const h = (harness = await startCoreHarness({ sim: { maxDailyGenerations: 1 } }));
    // Another program on the same Runway account uses today's only generation.
    const other = new RunwayML({ apiKey: 'test-key', baseURL: h.sim.url, maxRetries: 0 });
    await other.textToImage.create({ model: 'gen4_image', promptText: 'elsewhere', ratio: '1280:720' });
    expect(await h.app.core.imagine(h.requester('amy'), { prompt: 'a koi pond', references: [] }, 'ph-1')).toMatchObject({ ok: true });
    await h.advance(TEN_MINUTES);
    expect(await h.app.core.checkImagine(h.requester('amy'), { prompt: 'a koi pond', references: [] })).toEqual({
      ok: false,
      code: 'runway.daily_limit_reached',
      reply: { visibility: 'private', text: dailyLimitReached({ modelId: 'gen4_image', maxDaily: 1, nowMs: h.clock.now() }).userMessage },
    });

    const unlimited = await startCoreHarness({ sim: { maxDailyGenerations: null } });
    try {
      for (const user of ['amy', 'bob', 'cat']) {
        expect(await unlimited.app.core.imagine(unlimited.requester(user), { prompt: 'a koi pond', references: [] }, `ph-${user}`)).toMatchObject({ ok: true });
      }
      await unlimited.runUntil(() => unlimited.surface.deliveries.length === 3);
      expect(unlimited.sim.tasks()).toHaveLength(3);
    } finally {
      await unlimited.close();
    }
  });

  it('reads the organisation through the SDK, and reports a failed read instead of throwing', async () => {
    const h = (harness = await startCoreHarness({ sim: { creditBalance: 700, maxDailyGenerations: 3 } }));
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 12));
    const gateway = new RunwayGateway(new RunwayML({ apiKey: 'test-key', baseURL: h.sim.url, maxRetries: 0 }), clock);
    const read = await gateway.organization();
    expect(read.ok ? { balance: read.snapshot.creditBalance, gen4: read.snapshot.models.get('gen4_image'), readAtMs: read.snapshot.readAtMs } : read).toEqual({
      balance: 700,
      gen4: { maxConcurrent: 2, maxDaily: 3, dailyUsed: 0 },
      readAtMs: clock.now(),
    });
    const stranger = new RunwayGateway(new RunwayML({ apiKey: 'wrong-key', baseURL: h.sim.url, maxRetries: 0 }), clock);
    expect(await stranger.organization()).toEqual({ ok: false, message: 'could not read the organisation: 401: 401 {"error":"Invalid API key"}' });
  });

  it('warns the operator once each time the account falls below RUNWAY_LOW_BALANCE', async () => {
    const log = recordingLogger();
    const h = (harness = await startCoreHarness({ env: { RUNWAY_LOW_BALANCE: '1000' }, sim: { creditBalance: 1_004, costOverride: () => 5 }, log }));
    const lowBalance = () => log.warnings().filter((line) => line.message.startsWith('the Runway account is running low'));
    const generate = async (n: number) => {
      expect(await h.app.core.imagine(h.requester('amy'), { prompt: `image ${n}`, references: [] }, `ph-${n}`)).toMatchObject({ ok: true });
      await h.runUntil(() => h.surface.deliveries.length === n);
      await h.advance(TEN_MINUTES);
    };

    expect(lowBalance()).toEqual([]);
    await generate(1); // 999 left
    expect(lowBalance().map((line) => line.fields)).toEqual([{ creditBalance: 999, threshold: 1_000 }]);
    await h.advance(TEN_MINUTES); // still low: no second warning
    expect(lowBalance()).toHaveLength(1);
    h.sim.topUp(10); // 1009
    await h.advance(TEN_MINUTES);
    await generate(2); // 1004
    expect(lowBalance()).toHaveLength(1);
    await generate(3); // 999 again: a new crossing
    expect(lowBalance().map((line) => line.fields)).toEqual([
      { creditBalance: 999, threshold: 1_000 },
      { creditBalance: 999, threshold: 1_000 },
    ]);
  });
});
