import { describe, expect, it } from 'vitest';
import { MODELS } from '../../src/models.ts';
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
