import { describe, expect, it } from 'vitest';
import { findModel, type ModelInfo } from '../models.ts';
import { listRatioChoices, resolveRatio } from './ratios.ts';

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
});
