import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Of } from '../src/jobs/reference-store.ts';
import { encodePng } from '../simulator/index.ts';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';

/**
 * Issue 9, items 4–6 through the real core (store, ledger, SDK, runner) and the simulator, on one
 * manual clock: several images in one request, references that outlive their Runway upload, history.
 */

function pngReference(seed: number): Uint8Array {
  const width = 32;
  const rgb = new Uint8Array(width * width * 3).map((_, i) => (i * seed * 31) % 251);
  return encodePng(width, width, rgb);
}

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const HOUR = 60 * 60 * 1000;
const creates = (h: CoreHarness) => h.sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image');

describe('count: several images in one task', () => {
  it('holds price × count, sends outputCount, settles what Runway reports and delivers every image in one delivery', async () => {
    const h = (harness = await startCoreHarness({ env: { DEFAULT_ALLOWANCE: '200' } }));
    const alice = h.requester('alice');
    const outcome = await h.app.core.imagine(alice, { prompt: 'four koi', model: 'gpt_image_2', ratio: '1920:1088', count: 4, references: [] }, 'ph-count');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 80 });
    if (!outcome.ok) return;
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(-80);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect((creates(h)[0]?.body as { outputCount?: number }).outputCount).toBe(4);
    const delivery = h.surface.deliveries[0]!.delivery;
    expect(delivery.files.map((f) => f.filename)).toEqual([1, 2, 3, 4].map((n) => `imagine-${outcome.jobId.slice(0, 8)}-${n}.png`));
    expect(delivery.caption.split('\n')[1]).toBe('GPT Image 2 · 1920:1088 · 4 images · 80 credits');
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(-80);
  });

  it('refuses --count on gen4_image and a count above the model maximum, before anything is held or sent', async () => {
    const h = (harness = await startCoreHarness());
    const alice = h.requester('alice');
    const onGen4 = await h.app.core.checkImagine(alice, { prompt: 'koi', model: 'gen4_image', count: '4', references: [] });
    expect(onGen4).toMatchObject({ ok: false, code: 'request.count_not_supported' });
    const tooMany = await h.app.core.imagine(alice, { prompt: 'koi', model: 'gpt_image_2', count: 11, references: [] }, 'ph');
    expect(tooMany).toMatchObject({ ok: false, code: 'request.count_out_of_range' });
    expect(await h.ledgerSum({ userId: 'alice' })).toBe(0);
    expect(await h.app.db.value('select count(*) from jobs')).toBe(0);
    expect(creates(h)).toEqual([]);
  });
});


const referenceRows = (h: CoreHarness, jobId: string) =>
  h.app.db.all('select position, tag, sha256, runway_uri as uri, uploaded_at as "uploadedAt" from job_references where job_id = ? order by position', [jobId]);
const storedFiles = (h: CoreHarness) => readdirSync(h.app.referenceStore.dir).sort();

describe('references that outlive their upload', () => {
  it('a job that reaches Runway 25 h after its upload uploads the stored bytes again, and succeeds', async () => {
    const h = (harness = await startCoreHarness());
    const bytes = pngReference(3);
    const accepted = h.clock.now();
    const outcome = await h.app.core.imagine(h.requester('alice'), { prompt: '@cat on a rug', tags: ['cat'], references: [memoryReference('cat.png', bytes)] }, 'ph-late');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 8 });
    if (!outcome.ok) return;
    const sha = sha256Of(bytes);
    expect(storedFiles(h)).toEqual([sha]);
    const [first] = h.sim.uploads();
    expect(await referenceRows(h, outcome.jobId)).toEqual([{ position: 0, tag: 'cat', sha256: sha, uri: first!.uri, uploadedAt: accepted }]);

    // The bot was down (nothing ran) for 25 h: Runway forgot the upload.
    h.clock.advance(25 * HOUR);
    const resumed = h.clock.now();
    await h.advance(0);
    await h.runUntil(() => h.surface.deliveries.length === 1);

    const uploads = h.sim.uploads();
    expect(uploads).toHaveLength(2);
    expect(Buffer.from(uploads[1]!.bytes).equals(Buffer.from(bytes))).toBe(true);
    const body = creates(h)[0]?.body as { referenceImages: { uri: string; tag: string }[] };
    expect(body.referenceImages).toEqual([{ uri: uploads[1]!.uri, tag: 'cat' }]);
    expect(await referenceRows(h, outcome.jobId)).toEqual([{ position: 0, tag: 'cat', sha256: sha, uri: uploads[1]!.uri, uploadedAt: resumed }]);
    expect(h.surface.failures).toEqual([]);
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(-8);
  });

  it('a job whose upload is fresh is not uploaded again', async () => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('alice'), { prompt: 'a rug', references: [memoryReference('cat.png', pngReference(4))] }, 'ph');
    expect(outcome.ok).toBe(true);
    h.clock.advance(22 * HOUR);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(h.sim.uploads()).toHaveLength(1);
  });

  it('a late job whose stored bytes are gone fails with references.gone, refunded, and nothing is sent to Runway', async () => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('alice'), { prompt: 'a rug', references: [memoryReference('cat.png', pngReference(5))] }, 'ph-gone');
    if (!outcome.ok) throw new Error(outcome.code);
    rmSync(join(h.app.referenceStore.dir, sha256Of(pngReference(5))));
    h.clock.advance(25 * HOUR);
    await h.runUntil(() => h.surface.failures.length === 1);
    expect(h.surface.failures[0]?.failure.code).toBe('references.gone');
    expect(creates(h)).toEqual([]);
    expect(await h.ledgerSum({ jobId: outcome.jobId })).toBe(0);
  });

  it('reroll 25 h later re-uploads from the store; with the bytes gone it refuses at no cost', async () => {
    const h = (harness = await startCoreHarness());
    const alice = h.requester('alice');
    const bytes = pngReference(6);
    const first = await h.app.core.imagine(alice, { prompt: '@cat', tags: ['cat'], references: [memoryReference('cat.png', bytes)] }, 'ph-1');
    if (!first.ok) throw new Error(first.code);
    await h.runUntil(() => h.surface.deliveries.length === 1);

    h.clock.advance(25 * HOUR);
    const again = await h.app.core.reroll(alice, first.jobId, 'ph-2');
    expect(again).toMatchObject({ ok: true, reservedCredits: 8 });
    if (!again.ok) return;
    await h.runUntil(() => h.surface.deliveries.length === 2);
    const uploads = h.sim.uploads();
    expect(uploads).toHaveLength(2);
    const body = creates(h)[1]?.body as { referenceImages: { uri: string; tag: string }[] };
    expect(body.referenceImages).toEqual([{ uri: uploads[1]!.uri, tag: 'cat' }]);
    expect(await referenceRows(h, again.jobId)).toMatchObject([{ tag: 'cat', sha256: sha256Of(bytes), uri: uploads[1]!.uri }]);

    rmSync(join(h.app.referenceStore.dir, sha256Of(bytes)));
    h.clock.advance(25 * HOUR);
    const refused = await h.app.core.reroll(alice, first.jobId, 'ph-3');
    expect(refused).toMatchObject({ ok: false, code: 'reroll.references_expired' });
    // Nothing held or written for the refused reroll: only the two jobs have ledger entries.
    expect((await h.app.db.all<{ job_id: string }>('select distinct job_id from ledger where job_id is not null order by job_id')).map((r) => r.job_id)).toEqual([first.jobId, again.jobId].sort());
    expect(await h.app.db.value('select count(*) from jobs')).toBe(2);
  });

  it('the sweep keeps files of unfinished and recent jobs, and deletes the rest after 7 days', async () => {
    const h = (harness = await startCoreHarness());
    const alice = h.requester('alice');
    const old = await h.app.core.imagine(alice, { prompt: 'old', references: [memoryReference('a.png', pngReference(7))] }, 'ph-old');
    if (!old.ok) throw new Error(old.code);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    h.clock.advance(6 * 24 * HOUR);
    const young = await h.app.core.imagine(alice, { prompt: 'young', references: [memoryReference('b.png', pngReference(8))] }, 'ph-young');
    if (!young.ok) throw new Error(young.code);
    await h.runUntil(() => h.surface.deliveries.length === 2);
    // Unfinished (never run): still needed whatever its age.
    const waiting = await h.app.core.imagine(h.requester('bob'), { prompt: 'waiting', references: [memoryReference('c.png', pngReference(9))] }, 'ph-wait');
    if (!waiting.ok) throw new Error(waiting.code);
    const [a, b, c] = [7, 8, 9].map((seed) => sha256Of(pngReference(seed)));

    expect(await h.app.referenceSweep.sweep()).toEqual([]);
    h.clock.advance(1 * 24 * HOUR + 1);
    expect(await h.app.referenceSweep.sweep()).toEqual([a]);
    expect(storedFiles(h)).toEqual([b, c].sort());
    h.clock.advance(30 * 24 * HOUR);
    expect(await h.app.referenceSweep.sweep()).toEqual([b]);
    expect(existsSync(join(h.app.referenceStore.dir, c!))).toBe(true);
  });

  it('a full store refuses new requests with images at no cost; text-only requests go on', async () => {
    const h = (harness = await startCoreHarness({ env: { REFERENCE_STORE_MAX_MB: '1' } }));
    const alice = h.requester('alice');
    const big = new Uint8Array(1024 * 1024).fill(7);
    big.set(pngReference(10));
    h.app.referenceStore.put(big);
    h.app.referenceStore.unpin(sha256Of(big));
    const withImage = { prompt: 'a rug', references: [memoryReference('cat.png', pngReference(11))] };
    expect(await h.app.core.checkImagine(alice, withImage)).toMatchObject({ ok: false, code: 'references.store_full' });
    expect(await h.app.core.imagine(alice, withImage, 'ph')).toMatchObject({ ok: false, code: 'references.store_full' });
    expect(await h.ledgerSum({ userId: 'alice' })).toBe(0);
    expect(h.sim.uploads()).toEqual([]);
    expect(await h.app.core.imagine(alice, { prompt: 'a rug', references: [] }, 'ph')).toMatchObject({ ok: true });
  });
});

describe('history', () => {
  it("lists the member's last 10 delivered results in this community, newest first, with the link delivery recorded", async () => {
    const h = (harness = await startCoreHarness({ env: { DEFAULT_ALLOWANCE: '500' } }));
    const alice = h.requester('alice');
    const start = h.clock.now();
    for (let i = 1; i <= 11; i++) {
      const outcome = await h.app.core.imagine(alice, { prompt: `koi ${i}`, references: [] }, `ph-${i}`);
      if (!outcome.ok) throw new Error(outcome.code);
      await h.runUntil(() => h.surface.deliveries.length === i);
    }
    // Another member's and another community's results are not listed.
    await h.app.core.imagine(h.requester('bob'), { prompt: 'bob koi', references: [] }, 'ph-bob');
    await h.app.core.imagine(h.requester('alice', { communityId: 'guild-2' }), { prompt: 'elsewhere', references: [] }, 'ph-else');
    await h.runUntil(() => h.surface.deliveries.length === 13);

    const history = await h.app.core.history(alice);
    if (!history.ok) throw new Error(history.code);
    expect(history.entries.map((e) => e.prompt)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2].map((i) => `koi ${i}`));
    const [latest] = history.entries;
    const job = (await h.app.db.get<{ id: string; delivered_at: number }>("select id, delivered_at from jobs where placeholder = 'ph-11'"))!;
    expect(latest).toEqual({ jobId: job.id, prompt: 'koi 11', modelId: 'gen4_image', modelLabel: 'Gen-4 Image', costCredits: 8, images: 1, deliveredAt: job.delivered_at, link: 'test://ph-11' });
    expect(latest!.deliveredAt).toBeGreaterThan(start);
  });

  it('is refused in a community the operator does not serve', async () => {
    const h = (harness = await startCoreHarness({ servedCommunities: new Map([['test', new Set(['guild-1'])]]) }));
    const outcome = await h.app.core.history(h.requester('alice', { communityId: 'guild-9' }));
    expect(outcome).toMatchObject({ ok: false, code: 'community.not_served', reply: { visibility: 'private' } });
  });
});
