import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_IDS, MODELS, offerModels } from '../../src/models.ts';
import { ratioChoices } from './ratios.ts';

describe('ratio autocomplete', () => {
  it("offers exactly the chosen model's values, with the price and the default marked", () => {
    const gemini = ratioChoices('gemini_2.5_flash', '');
    expect(gemini.map((c) => c.value)).toEqual(MODELS.find((m) => m.id === 'gemini_2.5_flash')!.ratios.map((r) => r.value));
    expect(gemini.find((c) => c.value === '1344:768')?.name).toBe('1344:768 (16:9) · landscape · 5 credits (default)');
  });

  it('filters by what was typed, in the value or the words', () => {
    expect(ratioChoices('gen4_image', '1080p').map((c) => c.value)).toEqual(['1920:1080', '1080:1920', '1080:1080', '1440:1080', '1080:1440']);
    expect(ratioChoices('gen4_image', 'portrait').map((c) => c.value)).toContain('1080:1920');
    expect(ratioChoices('gen4_image', 'portrait').map((c) => c.value)).not.toContain('1920:1080');
  });

  it("falls back to the default model's sizes for an unknown model, within Discord's 25 choices", () => {
    const choices = ratioChoices('no_such_model', '');
    expect(choices).toEqual(ratioChoices('gen4_image', ''));
    expect(choices.map((c) => c.value)).toEqual(MODELS.find((m) => m.id === 'gen4_image')!.ratios.map((r) => r.value).slice(0, 25));
    expect(choices.length).toBeLessThanOrEqual(25);
    expect(choices.map((c) => c.value)).toContain('1920:1080');
  });
});

describe('ratio autocomplete across the catalogue', () => {
  afterEach(() => offerModels(MODEL_IDS));

  it.each(MODELS.map((m) => ({ id: m.id, model: m })))("$id: at most 25 choices, its default among them, and every size found by typing it", ({ id, model }) => {
    const all = ratioChoices(id, '');
    expect(all.length).toBe(Math.min(25, model.ratios.length));
    expect(all.map((c) => c.value)).toContain(model.defaultRatio);
    for (const { value } of model.ratios) expect(ratioChoices(id, value).map((c) => c.value)).toContain(value);
    for (const choice of all) expect(choice.name.length).toBeLessThanOrEqual(100);
  });

  it('names `auto` values without an orientation, and marks estimated prices', () => {
    expect(ratioChoices('gpt_image_2', 'auto')).toEqual([{ value: 'auto', name: 'auto (the model picks the shape) · any shape · about 41 credits' }]);
    expect(ratioChoices('muse_image', 'auto')).toEqual([{ value: 'auto', name: 'auto (the model picks the shape) · any shape · 1 credit' }]);
  });

  it("offers the default model's sizes for a model the operator hides", () => {
    offerModels(['gemini_2.5_flash', 'muse_image']);
    expect(ratioChoices('gen4_image', '').map((c) => c.value)).toEqual(MODELS.find((m) => m.id === 'gemini_2.5_flash')!.ratios.map((r) => r.value));
    expect(ratioChoices('muse_image', '1600').map((c) => c.value)).toEqual(['1600:1600']);
  });
});
