/**
 * The catalogue through the core, against the simulator: bad options for a model are refused with a
 * clear message before anything is downloaded, held, uploaded or created (they cost nothing), a
 * model the operator hides (MODELS) is refused like one that does not exist, and a model whose
 * references carry no tags gets them without tags.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { offerModels } from '../src/models.ts';
import type { ImagineOptionsInput } from '../src/ports.ts';
import { encodePng } from '../simulator/index.ts';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function png(seed: number): Uint8Array {
  const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => (i * seed * 31) % 251);
  return encodePng(32, 32, rgb);
}

const references = (n: number) => Array.from({ length: n }, (_, i) => memoryReference(`ref${i + 1}.png`, png(i + 3)));

/** Everything that would show a request cost something or reached Runway. */
async function footprint(h: CoreHarness, userId: string) {
  return {
    ledger: await h.ledgerSum({ userId }),
    jobs: await h.app.db.value<number>('select count(*) from jobs'),
    runwayCalls: h.sim.requests.filter((r) => r.method === 'POST').length,
  };
}

const BAD_INPUT: readonly { readonly name: string; readonly options: ImagineOptionsInput; readonly code: string; readonly text: string }[] = [
  {
    name: 'a seed on gemini_2.5_flash',
    options: { prompt: 'a koi pond', model: 'gemini_2.5_flash', seed: '42', references: [] },
    code: 'request.seed_not_supported',
    text: "Gemini 2.5 Flash Image (`gemini_2.5_flash`) doesn't take a seed: leave the seed out, or pick a model that takes one.",
  },
  {
    name: '4 references on gen4_image',
    options: { prompt: 'a koi pond', model: 'gen4_image', references: references(4) },
    code: 'request.too_many_references',
    text: 'Gen-4 Image (`gen4_image`) takes at most 3 reference images, and you attached 4: remove 1.',
  },
  {
    name: '15 references on gemini_image3_pro (it takes 14)',
    options: { prompt: 'a koi pond', model: 'gemini_image3_pro', references: references(15) },
    code: 'request.too_many_references',
    text: 'Gemini 3 Pro Image (`gemini_image3_pro`) takes at most 14 reference images, and you attached 15: remove 1.',
  },
  {
    name: "a prompt over seedream5_pro's 4000 UTF-16 units (3999 characters and an emoji)",
    options: { prompt: `${'a'.repeat(3999)}😀`, model: 'seedream5_pro', references: [] },
    code: 'request.prompt_too_long',
    text: 'Your prompt is 4001 characters long and Seedream 5 Pro takes at most 4000: shorten it by 1 (emoji and some symbols count as 2).',
  },
  {
    name: 'a model the operator hides',
    options: { prompt: 'a koi pond', model: 'gpt_image_2', references: [] },
    code: 'request.model_not_offered',
    text: "GPT Image 2 (`gpt_image_2`) isn't offered here: the operator has turned it off. Choose one of: `gen4_image` (Gen-4 Image), `gemini_2.5_flash` (Gemini 2.5 Flash Image), `gemini_image3_pro` (Gemini 3 Pro Image), `seedream5_pro` (Seedream 5 Pro), `muse_image` (Muse Image), `grok_imagine_image_2` (Grok Imagine Image 2); leave it out for `gen4_image`.",
  },
];

describe('bad options for a model cost nothing', () => {
  it.each(BAD_INPUT.map((c) => ({ ...c })))('$name: $code, before any download, hold or call to Runway', async ({ options, code, text }) => {
    const h = (harness = await startCoreHarness({ env: { MODELS: 'gen4_image gemini_2.5_flash gemini_image3_pro seedream5_pro muse_image grok_imagine_image_2' } }));
    const dana = h.requester('dana');
    const before = await footprint(h, 'dana');
    const refusal = { ok: false, code, reply: { visibility: 'private', text } };
    expect(await h.app.core.checkImagine(dana, options)).toEqual(refusal);
    expect(await h.app.core.imagine(dana, options, 'ph')).toEqual(refusal);
    expect(await footprint(h, 'dana')).toEqual(before);
    expect(options.references.map((r) => (r as ReturnType<typeof memoryReference>).downloads)).toEqual(options.references.map(() => 0));
  });
});

describe('models through the core', () => {
  it("sends a tagless model's references without tags, holds its per-reference price, and delivers", async () => {
    const h = (harness = await startCoreHarness());
    const outcome = await h.app.core.imagine(h.requester('erin'), { prompt: 'the first image in the style of the second', model: 'grok_imagine_image_2', ratio: '1280:720', references: references(2) }, 'ph');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 8 });
    await h.runUntil(() => h.surface.deliveries.length === 1);
    const create = h.sim.requests.find((r) => r.method === 'POST' && r.path === '/v1/text_to_image');
    const body = create?.body as { model: string; ratio: string; referenceImages: Record<string, unknown>[] };
    expect({ model: body.model, ratio: body.ratio, keys: body.referenceImages.map((r) => Object.keys(r)) }).toEqual({
      model: 'grok_imagine_image_2',
      ratio: '1280:720',
      keys: [['uri'], ['uri']],
    });
    expect(await h.ledgerSum({ userId: 'erin' })).toBe(50 - 8);
  });

  it('refuses to reroll an image of a model the operator has since hidden', async () => {
    const h = (harness = await startCoreHarness({ env: { MODELS: 'gen4_image muse_image' } }));
    const frank = h.requester('frank');
    const outcome = await h.app.core.imagine(frank, { prompt: 'a fox', model: 'muse_image', references: [] }, 'ph');
    if (!outcome.ok) throw new Error(outcome.reply.text);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    offerModels(['gen4_image']);
    expect(await h.app.core.reroll(frank, outcome.jobId, 'ph-2')).toEqual({
      ok: false,
      code: 'request.model_not_offered',
      reply: {
        visibility: 'private',
        text: "Muse Image (`muse_image`) isn't offered here: the operator has turned it off. Choose one of: `gen4_image` (Gen-4 Image); leave it out for `gen4_image`.",
      },
    });
  });
});
