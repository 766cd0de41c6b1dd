import { describe, expect, it } from 'vitest';
import { findModel, type ModelInfo } from '../models.ts';
import { friendlyRatioName, listRatioChoices, ratioNotOffered, resolveRatio } from './ratios.ts';

const model = (id: string): ModelInfo => {
  const found = findModel(id);
  if (!found) throw new Error(`no ${id} in the catalogue`);
  return found;
};
const gen4 = model('gen4_image');
const gemini = model('gemini_2.5_flash');

describe('resolveRatio', () => {
  it.each([
    ['', '1920:1080'],
    ['1920:1080', '1920:1080'],
    ['1920x1080', '1920:1080'],
    ['1920 X 1080', '1920:1080'],
    ['16:9', '1920:1080'],
    ['16/9', '1920:1080'],
    ['LANDSCAPE', '1920:1080'],
    ['portrait', '1080:1920'],
    ['square', '1080:1080'],
    ['wide', '2112:912'],
    ['21:9', '2112:912'],
    ['4:3', '1440:1080'],
    ['720p', '1280:720'],
    ['16:9 720p', '1280:720'],
    ['1:1 720p', '720:720'],
    ['1360:768', '1360:768'],
    ['1920:1080 (16:9, 1080p)', '1920:1080'],
  ])('gen4_image reads %j as %s', (raw, expected) => {
    expect(resolveRatio(gen4, raw)).toEqual({ ok: true, ratio: expected });
  });

  it.each([
    ['16:9', '1344:768'],
    ['4:3', '1184:864'],
    ['wide', '1536:672'],
    ['square', '1024:1024'],
    ['2:3', '832:1248'],
    ['', '1344:768'],
  ])('gemini_2.5_flash reads %j as %s', (raw, expected) => {
    expect(resolveRatio(gemini, raw)).toEqual({ ok: true, ratio: expected });
  });

  it('refuses a resolution the model lacks, suggesting its value of the same shape', () => {
    const result = resolveRatio(gemini, '1280:720');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure.code).toBe('request.ratio_not_offered');
    expect(result.failure.userMessage).toContain('same shape on this model is `1344:768`');
  });

  it.each(['5:4', 'banana', '0:0', '21:9 1080p', 'constructor'])('gen4_image refuses %j, listing its ratios and shortcuts', (raw) => {
    const result = resolveRatio(gen4, raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure.code).toBe('request.ratio_not_offered');
    expect(result.failure.userMessage).toContain('`1280:720` (16:9, 720p)');
    expect(result.failure.userMessage).toContain('`landscape` = 1920:1080');
  });

  it('names every choice with its value first', () => {
    const choices = listRatioChoices(gen4);
    expect(choices).toHaveLength(gen4.ratios.length);
    expect(choices).toContainEqual({ value: '1920:1080', name: '1920:1080 (16:9, 1080p)' });
    expect(choices).toContainEqual({ value: '1280:720', name: '1280:720 (16:9, 720p)' });
  });

  it.each([
    ['auto', 'gpt_image_2', 'auto'],
    ['Auto_1K', 'seedream5_pro', 'auto_1k'],
    ['square', 'gpt_image_2', '2880:2880'],
    ['16:9', 'grok_imagine_image_2', '2816:1584'],
    ['16:9 720p', 'grok_imagine_image_2', '1280:720'],
    ['1:8', 'gemini_image3.1_flash', '1408:11264'],
    ['', 'seedream5_lite', '2848:1600'],
    ['2000 x 2000', 'seedream5_lite', '2000:2000'],
  ])('reads %j on %s as %s; `auto` never stands for an aspect', (raw, id, expected) => {
    expect(resolveRatio(model(id), raw)).toEqual({ ok: true, ratio: expected });
  });

  it('names `auto` values by what they do, and sizes by their shape', () => {
    expect([friendlyRatioName('auto'), friendlyRatioName('auto_2k'), friendlyRatioName('3840:2160')]).toEqual([
      'auto (the model picks the shape)',
      'auto_2k (the model picks the shape, 2K)',
      '3840:2160 (16:9, 2160p)',
    ]);
  });

  it("refuses a size outside seedream5_lite's list and pixel range, naming the range", () => {
    const result = resolveRatio(model('seedream5_lite'), '1000:1000');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure.code).toBe('request.ratio_not_offered');
    expect(result.failure.userMessage).toContain('Or give any size `W:H` of 3,686,400 to 16,777,216 pixels in all.');
  });

  it("keeps a long list short: each shape's largest size, and `auto`", () => {
    expect(ratioNotOffered(model('gpt_image_2'), '7:3')).toEqual({
      code: 'request.ratio_not_offered',
      userMessage:
        "GPT Image 2 (`gpt_image_2`) doesn't offer the ratio `7:3`. Pick one of: `3840:1648` (21:9), `3840:2160` (16:9, 2160p), `3504:2336` (3:2), `3264:2448` (4:3), `3200:2560` (5:4), `2880:2880` (1:1), `2560:3200` (4:5), `2448:3264` (3:4), `2336:3504` (2:3), `2160:3840` (9:16, 2160p), `auto` (the model picks the shape) (most shapes also come smaller: type the size exactly, or pick it from Discord's ratio list). Shortcuts: `landscape` = 3840:2160, `portrait` = 2160:3840, `square` = 2880:2880 and `wide` = 3840:1648; an aspect such as `16:9` takes its largest size, and `720p` or `1080p` picks the height.",
    });
  });
});
