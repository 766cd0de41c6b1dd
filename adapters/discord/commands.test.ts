import { ApplicationCommandOptionType } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_IDS, MODELS, offerModels } from '../../src/models.ts';
import { commandDefinitions, MAX_OPTION_CHOICES, MAX_STRING_OPTION_CHARS } from './commands.ts';

afterEach(() => offerModels(MODEL_IDS));

function imagineOptions() {
  const imagine = commandDefinitions({ hasModeratorRole: false }).find((command) => command.name === 'imagine');
  if (!imagine || !('options' in imagine) || !imagine.options) throw new Error('no /imagine');
  return imagine.options;
}

function stringOption(name: string) {
  const option = imagineOptions().find((o) => o.name === name);
  if (!option || option.type !== ApplicationCommandOptionType.String) throw new Error(`no string option ${name}`);
  return option;
}

describe('/imagine for Discord', () => {
  it('offers every catalogue model as a choice, within Discord’s 25 choices of 100 characters', () => {
    const model = stringOption('model');
    const choices = 'choices' in model ? (model.choices ?? []) : [];
    expect(choices.map((c) => c.value)).toEqual(MODEL_IDS);
    expect(choices.length).toBeLessThanOrEqual(MAX_OPTION_CHOICES);
    for (const choice of choices) expect(choice.name.length).toBeLessThanOrEqual(100);
    expect(choices[0]).toEqual({ name: 'Gen-4 Image: Runway Gen-4: high quality, optional reference images', value: 'gen4_image' });
    expect(model.description).toBe('Which Runway model to use (default: Gen-4 Image)');
  });

  it("caps the prompt at the longest an offered model takes, within Discord's 6000", () => {
    const prompt = stringOption('prompt');
    expect('max_length' in prompt && prompt.max_length).toBe(MAX_STRING_OPTION_CHARS);
    offerModels(['gen4_image', 'seedream5_pro']);
    const narrowed = stringOption('prompt');
    expect('max_length' in narrowed && narrowed.max_length).toBe(4_000);
  });

  it('leaves out the models the operator hides', () => {
    offerModels(['muse_image', 'gemini_image3_pro']);
    const model = stringOption('model');
    expect('choices' in model && model.choices?.map((c) => c.value)).toEqual(['gemini_image3_pro', 'muse_image']);
    expect(model.description).toBe('Which Runway model to use (default: Gemini 3 Pro Image)');
    expect(MODELS).toHaveLength(12);
  });
});
