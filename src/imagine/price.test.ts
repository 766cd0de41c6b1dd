import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_IDS, offerModels } from '../models.ts';
import { cheaperOptions, priceOf } from './price.ts';

afterEach(() => offerModels(MODEL_IDS));

describe('price', () => {
  it('prices gen4_image by resolution and turbo flat, from the catalogue', () => {
    expect(priceOf({ modelId: 'gen4_image', ratio: '1280:720' })).toBe(5);
    expect(priceOf({ modelId: 'gen4_image', ratio: '1920:1080' })).toBe(8);
    expect(priceOf({ modelId: 'gen4_image_turbo', ratio: '1920:1080' })).toBe(2);
    expect(priceOf({ modelId: 'gemini_2.5_flash', ratio: '1344:768' })).toBe(5);
  });

  it('adds the per-reference surcharge a model names, one per tag (one tag per reference)', () => {
    expect(priceOf({ modelId: 'grok_imagine_image_2', ratio: '1280:720', tags: ['image1', 'image2'] })).toBe(8);
    expect(priceOf({ modelId: 'gpt_image_2_5_sunburst', ratio: '1920:1088', tags: ['cat'] })).toBe(21);
    expect(priceOf({ modelId: 'gpt_image_2', ratio: '1920:1088', tags: ['cat'] })).toBe(20);
  });

  it('offers three options of the same shape: the same model smaller first, then the cheapest of the others', () => {
    expect(cheaperOptions({ modelId: 'gen4_image', ratio: '1920:1080', seed: null }, 1)).toEqual([
      '`gen4_image` at 1280:720 (16:9, 720p): 5 credits',
      '`muse_image` at 2016:1152 (16:9): 1 credit',
      '`gen4_image_turbo` at 1920:1080 (16:9, 1080p): 2 credits',
    ]);
  });

  it('offers only models the operator offers, and says turbo needs a reference image when none is attached', () => {
    offerModels(['gen4_image', 'gen4_image_turbo', 'gemini_2.5_flash']);
    expect(cheaperOptions({ modelId: 'gen4_image', ratio: '1920:1080', seed: null }, 0)).toEqual([
      '`gen4_image` at 1280:720 (16:9, 720p): 5 credits',
      '`gen4_image_turbo` at 1920:1080 (16:9, 1080p) with a reference image attached: 2 credits',
      '`gemini_2.5_flash` at 1344:768 (16:9): 5 credits',
    ]);
  });

  it('leaves out models that cannot take the seed, or the tags the prompt uses', () => {
    expect(cheaperOptions({ modelId: 'gen4_image', ratio: '1920:1080', seed: 42 }, 1)).toEqual([
      '`gen4_image` at 1280:720 (16:9, 720p): 5 credits',
      '`gen4_image_turbo` at 1920:1080 (16:9, 1080p): 2 credits',
    ]);
    expect(cheaperOptions({ modelId: 'gemini_image3_pro', ratio: '1344:768', seed: null, prompt: '@cat on a mat' }, 1)).toEqual([
      '`gen4_image_turbo` at 1920:1080 (16:9, 1080p): 2 credits',
      '`gen4_image` at 1280:720 (16:9, 720p): 5 credits',
      '`gemini_2.5_flash` at 1344:768 (16:9): 5 credits',
    ]);
  });

  it('counts per-reference surcharges in the options it offers', () => {
    expect(cheaperOptions({ modelId: 'gemini_image3_pro', ratio: '1344:768', seed: null }, 3)).toEqual([
      '`muse_image` at 2016:1152 (16:9): 1 credit',
      '`gen4_image_turbo` at 1920:1080 (16:9, 1080p): 2 credits',
      '`seedream5_lite` at 4096:2304 (16:9): 4 credits',
    ]);
    offerModels(['gemini_image3_pro', 'grok_imagine_image_2']);
    expect(cheaperOptions({ modelId: 'gemini_image3_pro', ratio: '1344:768', seed: null }, 3)).toEqual(['`grok_imagine_image_2` at 1280:720 (16:9, 720p): 9 credits']);
  });

  it('offers nothing cheaper than the cheapest', () => {
    expect(cheaperOptions({ modelId: 'muse_image', ratio: '2016:1152', seed: null }, 1)).toEqual([]);
  });
});
