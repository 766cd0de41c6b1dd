import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_IDS, MODELS, offerModels } from '../models.ts';
import { imagineHelpText } from './help.ts';

afterEach(() => offerModels(MODEL_IDS));

describe('imagineHelpText', () => {
  it('lists every catalogue model, one line each, with its price (marked where estimated), references, seed and ratios', () => {
    const text = imagineHelpText();
    for (const model of MODELS) expect(text).toContain(`\`${model.id}\``);
    const lines = text.split('\n').filter((line) => line.startsWith('• '));
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe('• Gen-4 Image: `gen4_image` (default) — 5–8 credits, up to 3 reference images, seed, one image, 16 ratios, default 1920:1080');
    expect(lines[1]).toBe('• Gen-4 Image Turbo: `gen4_image_turbo` — 2 credits, needs 1–3 reference images, seed, one image, 16 ratios, default 1920:1080');
    expect(lines).toContain('• Muse Image: `muse_image` — 1 credit, up to 10 reference images (by order, no tags), no seed, count 1–4, 9 ratios, default 2016:1152');
    expect(lines).toContain(
      '• Grok Imagine Image 2: `grok_imagine_image_2` — about 6–8 credits +1 per reference, up to 3 reference images (by order, no tags), no seed, count 1–4, 28 ratios, default 1280:720',
    );
    expect(lines).toContain('• Seedream 5 Lite: `seedream5_lite` — about 4 credits, up to 10 reference images (by order, no tags), no seed, count 1–4, 16 ratios or any size, default 2848:1600');
    expect(text).toContain('`landscape` = 1920:1080');
    expect(text).toContain('Only `gen4_image` and `gen4_image_turbo` take one.');
  });

  it('names the counts each model takes: several, a choice, or one image', () => {
    const lines = imagineHelpText().split('\n').filter((line) => line.startsWith('• '));
    expect(lines.find((line) => line.includes('`gemini_image3_pro`'))).toContain(', count 1 or 4, ');
    expect(lines.find((line) => line.includes('`gpt_image_2`'))).toContain(', count 1–10, ');
  });

  it('leaves out the models the operator hides, and names the default it falls back to', () => {
    offerModels(['muse_image', 'gemini_2.5_flash']);
    const text = imagineHelpText();
    expect(text.split('\n').filter((line) => line.startsWith('• '))).toEqual([
      '• Gemini 2.5 Flash Image: `gemini_2.5_flash` (default) — 5 credits, up to 3 reference images, no seed, one image, 10 ratios, default 1344:768',
      '• Muse Image: `muse_image` — 1 credit, up to 10 reference images (by order, no tags), no seed, count 1–4, 9 ratios, default 2016:1152',
    ]);
    expect(text).not.toContain('gen4_image');
    expect(text).toContain('`/imagine a koi pond at dawn --model gemini_2.5_flash --ratio 16:9`');
    expect(text).toContain('None of the models offered here takes one.');
  });
});
