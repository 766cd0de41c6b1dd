import { describe, expect, it } from 'vitest';
import { readSdkTextToImage } from '../../test/support/sdk-text-to-image.ts';
import { findModel, MODELS } from '../models.ts';
import { textToImageBody, type TextToImageParams } from './create-body.ts';

const sdk = readSdkTextToImage();

const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ uri: `runway://upload/${i}`, tag: `image${i + 1}` }));

/** The fullest request the bot may send for a model: its most references, a seed where taken, its largest outputCount. */
function fullest(id: string): TextToImageParams {
  const model = findModel(id);
  if (!model) throw new Error(`no ${id}`);
  return {
    model: id,
    promptText: 'a koi pond',
    ratio: model.defaultRatio,
    referenceImages: refs(model.maxReferences),
    seed: model.supportsSeed ? 42 : null,
    outputCount: model.outputCounts.at(-1),
  };
}

function bodyOf(params: TextToImageParams): Record<string, unknown> {
  const built = textToImageBody(params);
  if (!built.ok) throw new Error(built.problem);
  return { ...built.body };
}

describe('textToImageBody', () => {
  it.each(sdk.models.map((model) => ({ id: model.id, model })))('$id: sends only keys its SDK interface has, tags only where its references take them', ({ id, model }) => {
    const body = bodyOf(fullest(id));
    for (const key of Object.keys(body)) expect(model.properties.has(key), `${id} has no ${key}`).toBe(true);
    const references = body['referenceImages'];
    expect(Array.isArray(references)).toBe(true);
    // The loop below checks every reference sent; a model that takes none sends an empty list.
    expect(references).toHaveLength(findModel(id)?.maxReferences ?? -1);
    for (const reference of references as Record<string, unknown>[]) {
      for (const key of Object.keys(reference)) expect(model.referenceProperties.has(key), `${id} references have no ${key}`).toBe(true);
    }
  });

  it('sends the request as the bot holds it, tags and seed included, on gen4_image', () => {
    expect(bodyOf({ model: 'gen4_image', promptText: '@cat on a rug', ratio: '1280:720', referenceImages: [{ uri: 'runway://a', tag: 'cat' }], seed: 7 })).toEqual({
      model: 'gen4_image',
      promptText: '@cat on a rug',
      ratio: '1280:720',
      referenceImages: [{ uri: 'runway://a', tag: 'cat' }],
      seed: 7,
    });
  });

  it('drops the tags of models whose references carry none, and sends no referenceImages when there are none', () => {
    expect(bodyOf({ model: 'muse_image', promptText: 'x', ratio: 'auto', referenceImages: refs(2), seed: null })).toEqual({
      model: 'muse_image',
      promptText: 'x',
      ratio: 'auto',
      referenceImages: [{ uri: 'runway://upload/0' }, { uri: 'runway://upload/1' }],
    });
    expect(bodyOf({ model: 'gpt_image_2', promptText: 'x', ratio: 'auto', referenceImages: [], seed: null })).toEqual({ model: 'gpt_image_2', promptText: 'x', ratio: 'auto' });
  });

  it('sends an outputCount only among the values the model takes, and never where it takes none', () => {
    const base = { promptText: 'x', referenceImages: [], seed: null };
    expect(bodyOf({ ...base, model: 'gemini_image3_pro', ratio: '1024:1024', outputCount: 4 })['outputCount']).toBe(4);
    expect(bodyOf({ ...base, model: 'gen4_image', ratio: '1280:720', outputCount: 1 })).not.toHaveProperty('outputCount');
    expect(textToImageBody({ ...base, model: 'gen4_image', ratio: '1280:720', outputCount: 2 })).toEqual({ ok: false, problem: 'not sent: gen4_image takes no outputCount' });
    expect(textToImageBody({ ...base, model: 'gemini_image3_pro', ratio: '1024:1024', outputCount: 2 })).toEqual({
      ok: false,
      problem: 'not sent: gemini_image3_pro takes an outputCount of 1, 4, not 2',
    });
    expect(textToImageBody({ ...base, model: 'gpt_image_2', ratio: 'auto', outputCount: 11 })).toEqual({
      ok: false,
      problem: 'not sent: gpt_image_2 takes an outputCount of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, not 11',
    });
  });

  it('never sends what the entry forbids: a seed, a ratio, a reference count, a model it lacks', () => {
    const base = { promptText: 'x', referenceImages: [], seed: null };
    expect(textToImageBody({ ...base, model: 'gemini_2.5_flash', ratio: '1344:768', seed: 3 })).toEqual({ ok: false, problem: 'not sent: gemini_2.5_flash takes no seed' });
    expect(textToImageBody({ ...base, model: 'gemini_2.5_flash', ratio: '1920:1080' })).toEqual({ ok: false, problem: 'not sent: gemini_2.5_flash does not take the ratio 1920:1080' });
    expect(textToImageBody({ ...base, model: 'gen4_image_turbo', ratio: '1920:1080' })).toEqual({ ok: false, problem: 'not sent: gen4_image_turbo takes 1 to 3 reference images, not 0' });
    expect(textToImageBody({ ...base, model: 'gen4_image', ratio: '1920:1080', referenceImages: refs(4) })).toEqual({ ok: false, problem: 'not sent: gen4_image takes 0 to 3 reference images, not 4' });
    expect(textToImageBody({ ...base, model: 'dall-e-3', ratio: '1024:1024' })).toEqual({ ok: false, problem: 'not sent: dall-e-3 is not in the model catalogue' });
  });

  it('builds a body for every model of the catalogue at every ratio', () => {
    let built = 0;
    for (const model of MODELS) {
      for (const { value } of model.ratios) {
        if (textToImageBody({ model: model.id, promptText: 'x', ratio: value, referenceImages: refs(model.minReferences), seed: null }).ok) built++;
      }
    }
    expect(built).toBe(MODELS.reduce((sum, m) => sum + m.ratios.length, 0));
  });
});
