import { describe, expect, it } from 'vitest';
import { cheaperOptions, priceOf } from './price.ts';

describe('price', () => {
  it('prices gen4_image by resolution and turbo flat, from the catalogue', () => {
    expect(priceOf({ modelId: 'gen4_image', ratio: '1280:720' })).toBe(5);
    expect(priceOf({ modelId: 'gen4_image', ratio: '1920:1080' })).toBe(8);
    expect(priceOf({ modelId: 'gen4_image_turbo', ratio: '1920:1080' })).toBe(2);
    expect(priceOf({ modelId: 'gemini_2.5_flash', ratio: '1344:768' })).toBe(5);
  });

  it('offers strictly cheaper options of the same shape, cheapest first; turbo only with an image attached', () => {
    expect(cheaperOptions({ modelId: 'gen4_image', ratio: '1920:1080', seed: null }, 1)).toEqual([
      '`gen4_image_turbo` at 1920:1080 (16:9, 1080p): 2 credits',
      '`gen4_image` at 1280:720 (16:9, 720p): 5 credits',
      '`gemini_2.5_flash` at 1344:768 (16:9): 5 credits',
    ]);
  });

  it('says turbo needs a reference image when none is attached', () => {
    const lines = cheaperOptions({ modelId: 'gen4_image', ratio: '1920:1080', seed: null }, 0);
    expect(lines[0]).toBe('`gen4_image_turbo` at 1920:1080 (16:9, 1080p) with a reference image attached: 2 credits');
  });

  it('leaves out models that cannot take the seed', () => {
    const lines = cheaperOptions({ modelId: 'gen4_image', ratio: '1920:1080', seed: 42 }, 1);
    expect(lines.some((l) => l.includes('gemini'))).toBe(false);
  });

  it('offers nothing cheaper than the cheapest', () => {
    expect(cheaperOptions({ modelId: 'gen4_image_turbo', ratio: '1280:720', seed: null }, 1)).toEqual([]);
  });
});
