import { afterEach, describe, expect, it } from 'vitest';
import { readPngSize } from '../simulator/index.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import type { Job } from '../src/jobs/job.ts';
import { JobStore } from '../src/jobs/job-store.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';

/**
 * Issue 9, item 5: Upscale, Vary and Cancel through the real core (store, ledger, SDK, runner)
 * against the simulator. Every refusal is checked for its code and for costing nothing.
 */

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const requestsTo = (h: CoreHarness, path: string) => h.sim.requests.filter((r) => r.method === 'POST' && r.path === path);
const jobOf = async (h: CoreHarness, id: string): Promise<Job> => {
  const job = h.app.core && (await new JobStore(h.app.db, new CreditLedger(h.app.db, h.clock, { allowance: 50, period: 'day' }), h.clock, 'reader').get(id));
  if (!job) throw new Error(`no job ${id}`);
  return job;
};
const kindOf = (h: CoreHarness, id: string) => h.app.db.value<string>('select kind from jobs where id = ?', [id]);

/** An /imagine of `prompt` at 1920:1080, delivered; its job id. */
async function deliveredImage(h: CoreHarness, user = 'ann'): Promise<string> {
  const first = await h.app.core.imagine(h.requester(user), { prompt: 'a koi pond', ratio: '1920:1080', references: [] }, `ph-${user}`);
  if (!first.ok) throw new Error(`expected acceptance, got ${first.code}`);
  const before = h.surface.deliveries.length;
  await h.runUntil(() => h.surface.deliveries.length === before + 1);
  return first.jobId;
}

describe('Upscale ×2 / ×4', () => {
  it('re-reads the result, uploads it, calls image_upscale, delivers the enlarged PNG and charges what Runway reports', async () => {
    // 1920:1080 × 0.5 = 960×540: inside Runway's 300–8,000 px.
    const h = (harness = await startCoreHarness({ sim: { outputScale: 0.5 } }));
    const source = await deliveredImage(h);
    expect(h.surface.deliveries[0]?.delivery.offers).toEqual([
      { action: 'upscale2', label: 'Upscale ×2', credits: 5 },
      { action: 'upscale4', label: 'Upscale ×4', credits: 10 },
      { action: 'vary', label: 'Vary', credits: 8 },
    ]);
    const outcome = await h.app.core.upscale(h.requester('ann'), source, 4, 'ph-up');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 10 });
    if (!outcome.ok) return;
    expect(await kindOf(h, outcome.jobId)).toBe('upscale');
    expect(await kindOf(h, source)).toBe('text_to_image');
    await h.runUntil(() => h.surface.deliveries.length === 2);
    const [call] = requestsTo(h, '/v1/image_upscale');
    const upload = h.sim.uploads().at(-1);
    expect(call?.body).toEqual({ model: 'magnific_precision_upscaler_v2', imageUri: upload?.uri, scaleFactor: 4 });
    // The bytes uploaded are the delivered result's own.
    expect(upload?.bytes.equals(Buffer.from(h.surface.deliveries[0]!.delivery.files[0]!.bytes))).toBe(true);
    const delivered = h.surface.deliveries[1]!.delivery;
    expect(readPngSize(delivered.files[0]!.bytes)).toEqual({ width: 3840, height: 2160 });
    expect(delivered.caption).toBe('"a koi pond" for ann\nUpscale ×4 · 3840:2160 · 8 credits');
    expect(delivered.offers?.map((o) => o.action)).toEqual(['upscale2', 'upscale4']);
    // 50 allowance − 8 (the image) − 8 (the simulator's price of a ×4 upscale).
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(50 - 8 - 8);
  });

  it('refuses an image too small for Runway (under 300 px a side) at no cost', async () => {
    // The default 0.25 scale: 480×270.
    const h = (harness = await startCoreHarness());
    const source = await deliveredImage(h);
    const before = await h.ledgerSum({ userId: 'ann' });
    const outcome = await h.app.core.upscale(h.requester('ann'), source, 4, 'ph-up');
    expect(outcome).toEqual({
      ok: false,
      code: 'upscale.too_small',
      reply: {
        visibility: 'private',
        text: "This image is 480×270 px; Runway's upscaler needs at least 300 px on each side. Nothing was charged. Make it at a larger size (for example `1920:1080`), then upscale that.",
      },
    });
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(before);
    expect(requestsTo(h, '/v1/image_upscale')).toHaveLength(0);
  });

  it('refuses ×4 where the output would pass 25.3 MP, at no cost; ×2 of the same image fits', async () => {
    const h = (harness = await startCoreHarness({ sim: { outputScale: 1 } }));
    const source = await deliveredImage(h);
    const before = await h.ledgerSum({ userId: 'ann' });
    const outcome = await h.app.core.upscale(h.requester('ann'), source, 4, 'ph-up');
    expect(outcome).toMatchObject({ ok: false, code: 'upscale.too_large' });
    if (!outcome.ok) expect(outcome.reply.text).toContain('would make 7,680×4,320 px');
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(before);
    expect(await h.app.core.upscale(h.requester('ann'), source, 2, 'ph-up2')).toMatchObject({ ok: true, reservedCredits: 5 });
  });

  it('refuses an unknown job, another community’s job, a factor not offered, and a result Runway no longer keeps, all at no cost', async () => {
    const h = (harness = await startCoreHarness({ sim: { outputScale: 0.5 } }));
    const source = await deliveredImage(h);
    const before = await h.ledgerSum({ userId: 'ann' });
    expect(await h.app.core.upscale(h.requester('ann'), 'no-such-job', 2, 'ph')).toMatchObject({ ok: false, code: 'actions.unknown_job' });
    expect(await h.app.core.upscale(h.requester('ann', { communityId: 'guild-2' }), source, 2, 'ph')).toMatchObject({ ok: false, code: 'actions.unknown_job' });
    expect(await h.app.core.vary(h.requester('ann'), 'no-such-job', 'x', 'ph')).toMatchObject({ ok: false, code: 'actions.unknown_job' });
    expect(await h.app.core.varyDraft(h.requester('ann'), 'no-such-job')).toMatchObject({ ok: false, code: 'actions.unknown_job' });
    expect(await h.app.core.upscale(h.requester('ann'), source, 3, 'ph')).toMatchObject({ ok: false, code: 'actions.bad_button' });
    // Runway deletes old tasks: it then answers 404 for them.
    const taskId = h.sim.tasks()[0]!.id;
    const deleted = await fetch(`${h.sim.url}/v1/tasks/${taskId}`, { method: 'DELETE', headers: { authorization: 'Bearer test-key', 'x-runway-version': '2024-11-06' } });
    expect(deleted.status).toBe(204);
    expect(await h.app.core.upscale(h.requester('ann'), source, 2, 'ph')).toMatchObject({ ok: false, code: 'actions.result_expired' });
    expect(await h.app.core.vary(h.requester('ann'), source, 'a koi pond', 'ph')).toMatchObject({ ok: false, code: 'actions.result_expired' });
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(before);
    expect(requestsTo(h, '/v1/image_upscale')).toHaveLength(0);
  });

  it('works after a restart: the button carries the job id, the job comes from the database', async () => {
    const h = (harness = await startCoreHarness({ sim: { outputScale: 0.5 } }));
    const source = await deliveredImage(h);
    await h.restart();
    const outcome = await h.app.core.upscale(h.requester('bo'), source, 2, 'ph-up');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 5 });
    await h.runUntil(() => h.surface.deliveries.length === 2);
    expect(await h.ledgerSum({ userId: 'bo' })).toBe(50 - 4);
  });
});

describe('Vary', () => {
  it('the edited prompt, the same model and ratio, a new seed, and the result as the one reference', async () => {
    const h = (harness = await startCoreHarness({ sim: { outputScale: 0.5 } }));
    const source = await deliveredImage(h);
    expect(await h.app.core.varyDraft(h.requester('bo'), source)).toEqual({ ok: true, prompt: 'a koi pond', priceCredits: 8 });
    const outcome = await h.app.core.vary(h.requester('bo'), source, 'a koi pond at night', 'ph-vary');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 8 });
    await h.runUntil(() => h.surface.deliveries.length === 2);
    const [first, second] = requestsTo(h, '/v1/text_to_image').map((r) => r.body as { promptText: string; ratio: string; seed: number; referenceImages?: { uri: string; tag: string }[] });
    expect(second).toMatchObject({ model: 'gen4_image', promptText: 'a koi pond at night', ratio: '1920:1080', referenceImages: [{ uri: h.sim.uploads().at(-1)?.uri, tag: 'image1' }] });
    expect(second?.seed).not.toBe(first?.seed);
    expect(await h.ledgerSum({ userId: 'bo' })).toBe(50 - 8);
  });

  it('refuses to vary an upscale, and a prompt the model would refuse, at no cost', async () => {
    const h = (harness = await startCoreHarness({ sim: { outputScale: 0.5 } }));
    const source = await deliveredImage(h);
    const up = await h.app.core.upscale(h.requester('ann'), source, 2, 'ph-up');
    if (!up.ok) throw new Error('expected the upscale');
    await h.runUntil(() => h.surface.deliveries.length === 2);
    const before = await h.ledgerSum({ userId: 'ann' });
    expect(await h.app.core.vary(h.requester('ann'), up.jobId, 'x', 'ph')).toMatchObject({ ok: false, code: 'actions.not_applicable' });
    expect(await h.app.core.reroll(h.requester('ann'), up.jobId, 'ph')).toMatchObject({ ok: false, code: 'actions.not_applicable' });
    expect(await h.app.core.vary(h.requester('ann'), source, '   ', 'ph')).toMatchObject({ ok: false, code: 'request.prompt_empty' });
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(before);
  });
});

describe('Cancel', () => {
  it('before Runway has it: cancelled and refunded in one transition, the placeholder told; Runway never called', async () => {
    const h = (harness = await startCoreHarness());
    const accepted = await h.app.core.imagine(h.requester('ann'), { prompt: 'a kite', references: [] }, 'ph-1');
    if (!accepted.ok) throw new Error('expected acceptance');
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(50 - 8);
    const outcome = await h.app.core.cancel(h.requester('ann'), accepted.jobId);
    expect(outcome).toEqual({ ok: true, reply: { visibility: 'private', text: 'Cancelled by ann. Nothing was charged. Run `/imagine` again for a new picture.' } });
    expect((await jobOf(h, accepted.jobId)).state).toBe('cancelled');
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(50);
    expect(h.surface.failures).toEqual([{ placeholder: 'ph-1', failure: { code: 'cancel.by_user', userMessage: 'Cancelled by ann. Nothing was charged. Run `/imagine` again for a new picture.' } }]);
    await h.advance(5_000);
    expect(requestsTo(h, '/v1/text_to_image')).toHaveLength(0);
  });

  it('at Runway: DELETE /v1/tasks/{id}, then settled at nothing; the poll does not undo it', async () => {
    const h = (harness = await startCoreHarness());
    const accepted = await h.app.core.imagine(h.requester('ann'), { prompt: 'a kite', references: [] }, 'ph-1');
    if (!accepted.ok) throw new Error('expected acceptance');
    await h.runUntil(() => h.sim.tasks().length === 1, 100);
    const taskId = h.sim.tasks()[0]!.id;
    // A moderator may cancel another member's job.
    const outcome = await h.app.core.cancel(h.requester('mod', { isModerator: true }), accepted.jobId);
    expect(outcome).toMatchObject({ ok: true });
    expect(h.sim.requests.filter((r) => r.method === 'DELETE' && r.path === `/v1/tasks/${taskId}`)).toHaveLength(1);
    await h.advance(5_000);
    expect((await jobOf(h, accepted.jobId)).state).toBe('cancelled');
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(50);
    expect(h.surface.deliveries).toHaveLength(0);
  });

  it("refuses someone else's job, a finished job and an unknown one, changing nothing", async () => {
    const h = (harness = await startCoreHarness());
    const accepted = await h.app.core.imagine(h.requester('ann'), { prompt: 'a kite', references: [] }, 'ph-1');
    if (!accepted.ok) throw new Error('expected acceptance');
    expect(await h.app.core.cancel(h.requester('bo'), accepted.jobId)).toMatchObject({ ok: false, code: 'cancel.not_yours' });
    expect(await h.app.core.cancel(h.requester('ann', { communityId: 'guild-2' }), accepted.jobId)).toMatchObject({ ok: false, code: 'actions.unknown_job' });
    expect(await h.app.core.cancel(h.requester('ann'), 'garbage')).toMatchObject({ ok: false, code: 'actions.unknown_job' });
    expect((await jobOf(h, accepted.jobId)).state).toBe('reserved');
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(await h.app.core.cancel(h.requester('ann'), accepted.jobId)).toMatchObject({ ok: false, code: 'cancel.finished' });
    expect(await h.ledgerSum({ userId: 'ann' })).toBe(50 - 8);
  });
});

describe('the schema guards an upscale job', () => {
  it('refuses an upscale row with a factor Runway is not sent, or another model', async () => {
    const h = (harness = await startCoreHarness());
    const insert = (request: unknown, model: string) =>
      h.app.db.run(
        `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, created_at, updated_at)
         values (?, 'test', 'g', 'u', 'u', 'ph', ?, ?, 'queued', 0, 0)`,
        [`j-${model}-${JSON.stringify(request).length}`, JSON.stringify(request), model],
      );
    const base = { prompt: 'p', modelId: 'magnific_precision_upscaler_v2', ratio: '600:600', seed: null, tags: ['source'] };
    await expect(insert({ ...base, upscale: { scaleFactor: 3, sourceJobId: 'j' } }, 'magnific_precision_upscaler_v2')).rejects.toThrow(/an upscale job needs/);
    await expect(insert({ ...base, upscale: { scaleFactor: 2, sourceJobId: 'j' } }, 'gen4_image')).rejects.toThrow(/an upscale job needs/);
    await expect(insert({ ...base, upscale: { scaleFactor: 2 } }, 'magnific_precision_upscaler_v2')).rejects.toThrow(/an upscale job needs/);
    await insert({ ...base, upscale: { scaleFactor: 2, sourceJobId: 'j' } }, 'magnific_precision_upscaler_v2');
  });
});
