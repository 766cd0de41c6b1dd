import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TASK_CANCELLED } from '../src/runway/failure-codes.ts';
import { encodePng } from '../simulator/index.ts';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';

/** A real PNG large enough for Runway's 512-byte upload minimum. */
function pngReference(seed: number): Uint8Array {
  const width = 32;
  const rgb = new Uint8Array(width * width * 3).map((_, i) => (i * seed * 31) % 251);
  return encodePng(width, width, rgb);
}

const GIF = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(600, 1)]);

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const jobState = (h: CoreHarness, id: string) => h.app.db.value<string>('select state from jobs where id = ?', [id]);
/** Read a task as the SDK would and download its (freshly signed) output. */
async function simulatorOutput(h: CoreHarness, taskId: string): Promise<ArrayBuffer> {
  const headers = { authorization: 'Bearer test-key', 'x-runway-version': '2024-11-06' };
  const task = (await fetch(`${h.sim.url}/v1/tasks/${taskId}`, { headers }).then((r) => r.json())) as { output: string[] };
  return fetch(task.output[0]!).then((r) => r.arrayBuffer());
}

const creates = (h: CoreHarness) => h.sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image');

describe('an /imagine through the core', () => {
  it('delivers the image once and settles the budget at the cost Runway reports', async () => {
    const h = (harness = await startCoreHarness({ sim: { costOverride: () => 6 } }));
    const alice = h.requester('alice');
    const outcome = await h.app.core.imagine(alice, { prompt: 'a koi pond at dawn', ratio: '16:9', references: [] }, 'ph-1');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 8 });
    if (!outcome.ok) return;

    await h.runUntil(() => h.surface.deliveries.length === 1);

    const [delivered] = h.surface.deliveries;
    expect(delivered?.placeholder).toBe('ph-1');
    expect(delivered?.delivery.files).toHaveLength(1);
    const task = h.sim.tasks()[0]!;
    // The bytes handed to the chat are the simulator's output for that task.
    const output = await simulatorOutput(h, task.id);
    expect(Buffer.from(delivered!.delivery.files[0]!.bytes).equals(Buffer.from(output))).toBe(true);
    expect(await jobState(h, outcome.jobId)).toBe('delivered');
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(-6);
    expect((await h.app.core.credits(alice)).text).toContain('`44`');
    // More ticks never deliver it again.
    await h.advance(10_000);
    expect(h.surface.deliveries).toHaveLength(1);
  });

  it('uploads reference images to Runway and sends only runway:// URIs with their tags', async () => {
    const h = (harness = await startCoreHarness());
    const cat = memoryReference('cat.png', pngReference(3));
    const dog = memoryReference('dog.png', pngReference(5));
    const outcome = await h.app.core.imagine(
      h.requester('bob'),
      { prompt: '@cat meets @dog', model: 'gen4_image_turbo', tags: ['cat', 'dog'], references: [cat, dog] },
      'ph',
    );
    expect(outcome.ok).toBe(true);
    await h.runUntil(() => h.surface.deliveries.length === 1);

    expect(h.sim.uploads().map((u) => Buffer.from(u.bytes).equals(Buffer.from(pngReference(3))))).toContain(true);
    const body = creates(h)[0]?.body as { model: string; referenceImages: { uri: string; tag: string }[] };
    expect(body.model).toBe('gen4_image_turbo');
    expect(body.referenceImages.map((r) => r.tag)).toEqual(['cat', 'dog']);
    for (const ref of body.referenceImages) expect(ref.uri).toMatch(/^runway:\/\//);
  });

  it("charges a content-moderation decline what Runway billed for it, and says so in plain words", async () => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('carol'), { prompt: 'sim:safety something', references: [] }, 'ph');
    if (!outcome.ok) throw new Error('expected acceptance');
    await h.runUntil(() => h.surface.failures.length === 1);

    expect(h.surface.failures[0]?.failure).toEqual({
      code: 'runway.safety_input',
      userMessage:
        "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again. Runway charges for requests its moderation declines as for finished images, so this one cost 8 credits.",
    });
    expect(await jobState(h, outcome.jobId)).toBe('failed');
    expect(await h.app.db.get('select moderated, cost_credits from jobs where id = ?', [outcome.jobId])).toEqual({ moderated: 1, cost_credits: 8 });
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(-8);
    expect(h.sim.tasks()[0]?.status).toBe('FAILED');
    expect(h.surface.deliveries).toHaveLength(0);
  });

  it('an internal failure at Runway costs nothing', async () => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('carol'), { prompt: 'sim:internal something', references: [] }, 'ph');
    if (!outcome.ok) throw new Error('expected acceptance');
    await h.runUntil(() => h.surface.failures.length === 1);
    expect(h.surface.failures[0]?.failure.code).toBe('runway.bad_output');
    expect(h.surface.failures[0]?.failure.userMessage).toMatch(/ You were not charged\.$/);
    expect(await h.app.db.get('select moderated, cost_credits from jobs where id = ?', [outcome.jobId])).toEqual({ moderated: 0, cost_credits: 0 });
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(0);
  });

  it('a task Runway reports CANCELLED ends the job cancelled, says so on the placeholder, and nets the ledger to 0', async () => {
    const h = (harness = await startCoreHarness());
    const ivy = h.requester('ivy');
    // `sim:cancel`: the simulator's task goes PENDING, then CANCELLED when it would have started.
    const outcome = await h.app.core.imagine(ivy, { prompt: 'sim:cancel a lighthouse', references: [] }, 'ph-ivy');
    if (!outcome.ok) throw new Error(`expected acceptance, got ${outcome.code}`);
    expect(outcome.reservedCredits).toBe(8);
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(-8);

    await h.runUntil(() => h.surface.failures.length === 1);

    const [task] = h.sim.tasks();
    expect(task?.status).toBe('CANCELLED');
    expect(await jobState(h, outcome.jobId)).toBe('cancelled');
    expect(await h.app.db.value('select failure_code from jobs where id = ?', [outcome.jobId])).toBe('runway.cancelled');
    expect(h.surface.failures).toEqual([{ placeholder: 'ph-ivy', failure: TASK_CANCELLED }]);
    expect(h.surface.deliveries).toHaveLength(0);
    // The money: held, then given back in full; nothing else moved for this job.
    const entries = await h.app.db.all('select kind, delta from ledger where job_id = ? order by id', [outcome.jobId]);
    expect(entries).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'refund', delta: 8 },
    ]);
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(0);
    expect(await h.ledgerSum({ userId: 'ivy' })).toBe(50);
    // More ticks change nothing: no second refund, no second message.
    await h.advance(60_000);
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(0);
    expect(h.surface.failures).toHaveLength(1);
  });

  it('waits out a 429 on create and makes exactly one task', async () => {
    const h = (harness = await startCoreHarness());
    h.sim.failNextCreate({ status: 429, retryAfterMs: 3_000 });
    const outcome = await h.app.core.imagine(h.requester('dan'), { prompt: 'a lighthouse', references: [] }, 'ph');
    expect(outcome.ok).toBe(true);
    await h.advance(0);
    expect(creates(h)).toHaveLength(1);
    expect(h.sim.tasks()).toHaveLength(0);
    await h.advance(1_000);
    expect(creates(h)).toHaveLength(1); // Retry-After is honoured
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(h.sim.tasks()).toHaveLength(1);
  });

  it('never re-sends a create whose outcome is unknown, and refunds it', async () => {
    const h = (harness = await startCoreHarness());
    h.sim.failNextCreate({ status: 500 });
    const outcome = await h.app.core.imagine(h.requester('erin'), { prompt: 'a castle', references: [] }, 'ph');
    if (!outcome.ok) throw new Error('expected acceptance');
    await h.advance(0);
    await h.advance(60_000);
    expect(creates(h)).toHaveLength(1);
    expect(await jobState(h, outcome.jobId)).toBe('failed');
    expect(h.surface.failures[0]?.failure.code).toBe('runway.create_uncertain');
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(0);
  });
});

describe('bad input costs nothing', () => {
  it.each([
    ['a GIF', memoryReference('party.gif', GIF), 'media.not_an_image'],
    ['a text file named .png', memoryReference('notes.png', Buffer.from('hello '.repeat(200))), 'media.not_an_image'],
    ['an HTML login page', memoryReference('cat.png', Buffer.from('<!DOCTYPE html><html>' + ' '.repeat(600))), 'media.not_an_image'],
    ['a 30 MB reference', memoryReference('huge.png', pngReference(1), 30 * 1024 * 1024), 'media.too_large'],
  ])('%s as a reference is refused before any upload, and its hold is given back: it costs nothing', async (_name, reference, code) => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('fay'), { prompt: 'a cat', references: [reference] }, 'ph');
    expect(outcome).toMatchObject({ ok: false, code, reply: { visibility: 'private' } });
    expect(h.sim.uploads()).toHaveLength(0);
    expect(creates(h)).toHaveLength(0);
    // The price is held from acceptance, before any download, and refunded with the rejection.
    expect(await h.app.db.all("select kind, delta from ledger where kind <> 'allowance' order by id")).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'refund', delta: 8 },
    ]);
    expect(await h.ledgerSum({ userId: 'fay' })).toBe(50);
  });

  it('a 30 MB reference is not even downloaded when its size is declared', async () => {
    const h = (harness = await startCoreHarness());
    const huge = memoryReference('huge.png', pngReference(1), 30 * 1024 * 1024);
    await h.app.core.imagine(h.requester('fay'), { prompt: 'a cat', references: [huge] }, 'ph');
    expect(huge.downloads).toBe(0);
  });

  it('not enough credits: a private message with balance, price and cheaper options; Runway never called', async () => {
    const h = (harness = await startCoreHarness({ env: { DEFAULT_ALLOWANCE: '6' } }));
    const gus = h.requester('gus');
    const check = await h.app.core.checkImagine(gus, { prompt: 'a forest', ratio: '16:9', references: [] });
    expect(check).toMatchObject({ ok: false, code: 'credits.insufficient' });
    if (check.ok) return;
    expect(check.reply.visibility).toBe('private');
    expect(check.reply.text).toContain('You have 6 credits');
    expect(check.reply.text).toContain('costs 8');
    expect(check.reply.text).toMatch(/1280:720/); // the 720p option at 5 credits fits
    const outcome = await h.app.core.imagine(gus, { prompt: 'a forest', ratio: '16:9', references: [] }, 'ph');
    expect(outcome.ok).toBe(false);
    expect(h.sim.requests.filter((r) => r.path !== '/v1/organization')).toHaveLength(0);
    expect(await h.ledgerSum({ userId: 'gus' })).toBe(6);
  });

  it('an invalid option is explained and nothing is stored', async () => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('hal'), { prompt: 'x', model: 'gemini_2.5_flash', seed: 5, references: [] }, 'ph');
    expect(outcome).toMatchObject({ ok: false, code: 'request.seed_not_supported' });
    expect(await h.app.db.value('select count(*) from jobs')).toBe(0);
  });
});

describe('the local queue', () => {
  it("serves a second user before the first user's backlog, and shows queue positions", async () => {
    const h = (harness = await startCoreHarness({ sim: { maxConcurrent: 1 }, maxJobsPerMember: 3 }));
    // Runway's organisation reports 1 slot per model: the rest wait here.
    const ids: string[] = [];
    for (const prompt of ['a1', 'a2', 'a3']) {
      const o = await h.app.core.imagine(h.requester('amy', { isModerator: false }), { prompt, references: [] }, `amy-${prompt}`);
      if (o.ok) ids.push(o.jobId);
    }
    const bob = await h.app.core.imagine(h.requester('ben'), { prompt: 'b1', references: [] }, 'ben-b1');
    expect(bob.ok).toBe(true);
    await h.runUntil(() => h.surface.deliveries.length === 4, 500, 400);
    const order = h.surface.deliveries.map((d) => d.placeholder);
    expect(order.indexOf('ben-b1')).toBeLessThan(order.indexOf('amy-a2'));
    expect(h.surface.statuses.some((s) => s.status.kind === 'queued' && s.status.position >= 2)).toBe(true);
    expect(h.sim.tasks()).toHaveLength(4);
  });

  it("reads the organisation's concurrency limits again every 10 minutes, so a tier change needs no restart", async () => {
    const h = (harness = await startCoreHarness());
    const reads = () => h.sim.requests.filter((r) => r.path === '/v1/organization').length;
    expect(reads()).toBe(1);
    await h.advance(9 * 60 * 1000);
    expect(reads()).toBe(1);
    await h.advance(60 * 1000);
    expect(reads()).toBe(2);
  });

  it('a reroll runs the same request with a new seed, charged to whoever asked', async () => {
    const h = (harness = await startCoreHarness());
    const first = await h.app.core.imagine(h.requester('ann'), { prompt: 'a red kite', seed: 7, ratio: '16:9', references: [] }, 'ph-1');
    if (!first.ok) throw new Error('expected acceptance');
    await h.runUntil(() => h.surface.deliveries.length === 1);
    const again = await h.app.core.reroll(h.requester('bo'), first.jobId, 'ph-2');
    expect(again).toMatchObject({ ok: true, reservedCredits: 8 });
    await h.runUntil(() => h.surface.deliveries.length === 2);
    const [original, reroll] = creates(h).map((r) => r.body as { promptText: string; ratio: string; seed: number });
    expect(reroll).toMatchObject({ promptText: 'a red kite', ratio: original!.ratio });
    expect(reroll!.seed).not.toBe(7);
    expect(await h.ledgerSum({ userId: 'bo' })).toBe(50 - 8);
  });

  it('a reroll whose reference images have expired at Runway, and whose stored bytes are gone, asks for a fresh /imagine, at no cost', async () => {
    const h = (harness = await startCoreHarness());
    const cat = memoryReference('cat.png', pngReference(9));
    const first = await h.app.core.imagine(h.requester('ann'), { prompt: 'a cat', references: [cat] }, 'ph-1');
    if (!first.ok) throw new Error('expected acceptance');
    await h.runUntil(() => h.surface.deliveries.length === 1);
    h.clock.advance(24 * 60 * 60 * 1000);
    // With the bytes kept, the reroll uploads them again (test/result-actions.test.ts); without them it cannot.
    for (const name of readdirSync(h.app.referenceStore.dir)) rmSync(join(h.app.referenceStore.dir, name));
    const again = await h.app.core.reroll(h.requester('ann'), first.jobId, 'ph-2');
    expect(again).toMatchObject({ ok: false, code: 'reroll.references_expired' });
    expect(creates(h)).toHaveLength(1);
  });
});
