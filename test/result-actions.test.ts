import { afterEach, describe, expect, it } from 'vitest';
import { encodePng } from '../simulator/index.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';

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
    expect(h.ledgerSum({ jobId: outcome.jobId })).toBe(-80);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect((creates(h)[0]?.body as { outputCount?: number }).outputCount).toBe(4);
    const delivery = h.surface.deliveries[0]!.delivery;
    expect(delivery.files.map((f) => f.filename)).toEqual([1, 2, 3, 4].map((n) => `imagine-${outcome.jobId.slice(0, 8)}-${n}.png`));
    expect(delivery.caption.split('\n')[1]).toBe('GPT Image 2 · 1920:1088 · 4 images · 80 credits');
    expect(h.ledgerSum({ jobId: outcome.jobId })).toBe(-80);
  });

  it('refuses --count on gen4_image and a count above the model maximum, before anything is held or sent', async () => {
    const h = (harness = await startCoreHarness());
    const alice = h.requester('alice');
    const onGen4 = h.app.core.checkImagine(alice, { prompt: 'koi', model: 'gen4_image', count: '4', references: [] });
    expect(onGen4).toMatchObject({ ok: false, code: 'request.count_not_supported' });
    const tooMany = await h.app.core.imagine(alice, { prompt: 'koi', model: 'gpt_image_2', count: 11, references: [] }, 'ph');
    expect(tooMany).toMatchObject({ ok: false, code: 'request.count_out_of_range' });
    expect(h.ledgerSum({ userId: 'alice' })).toBe(0);
    expect(h.app.db.prepare('select count(*) from jobs').pluck().get()).toBe(0);
    expect(creates(h)).toEqual([]);
  });
});

