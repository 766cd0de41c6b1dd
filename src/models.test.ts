/**
 * The catalogue against the pinned SDK's types, read from its .d.ts text: a model, ratio, option or
 * stated limit the SDK has and the catalogue lacks (or the reverse) fails here. The same tie holds at
 * compile time (`ENTRIES satisfies Catalogue` in models.ts); this test also catches what types
 * cannot: a ratio left out of a list, and the limits only the doc comments state.
 */
import { describe, expect, it } from 'vitest';
import { literalsOf, readSdkTextToImage, type SdkModel } from '../test/support/sdk-text-to-image.ts';
import { catalogueCost, DEFAULT_MODEL_ID, findModel, MODEL_IDS, MODELS, offeredModels, offerModels, takesRatio, UNSTATED_PROMPT_LIMIT, type ModelInfo } from './models.ts';

const sdk = readSdkTextToImage();

function entryOf(model: SdkModel): ModelInfo {
  const entry = findModel(model.id);
  if (!entry) throw new Error(`the catalogue has no entry for the SDK's model ${model.id}`);
  return entry;
}

function sdkProperty(model: SdkModel, name: string) {
  const property = model.properties.get(name);
  if (!property) throw new Error(`${model.id} has no ${name} in the SDK`);
  return property;
}

const WORDS: Readonly<Record<string, number>> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10 };
const numberIn = (text: string): number => WORDS[text.toLowerCase()] ?? Number(text.replace(/,/g, ''));

/** The keys the catalogue handles by name; the rest of an SDK interface are a model's `options`. */
const NAMED_KEYS = new Set(['model', 'promptText', 'ratio', 'referenceImages', 'seed', 'contentModeration', 'outputCount']);

describe('the catalogue and the SDK', () => {
  it('has exactly one entry per model of the SDK union, and no other', () => {
    expect(sdk.models).toHaveLength(12);
    expect([...MODEL_IDS].sort()).toEqual(sdk.models.map((m) => m.id).sort());
    expect(new Set(MODEL_IDS).size).toBe(MODEL_IDS.length);
  });

  it.each(sdk.models.map((model) => ({ id: model.id, model })))('$id: every ratio of the SDK union and only those, freeform where the union is open', ({ model }) => {
    const entry = entryOf(model);
    const type = sdkProperty(model, 'ratio').type;
    expect(entry.ratios.map((r) => r.value).sort()).toEqual(literalsOf(type).sort());
    expect(entry.freeformPixels !== null).toBe(type.includes('(string & {})'));
    expect(entry.ratios.map((r) => r.value)).toContain(entry.defaultRatio);
    for (const ratio of entry.ratios) expect(ratio.costCredits).toBeGreaterThan(0);
  });

  it.each(sdk.models.map((model) => ({ id: model.id, model })))('$id: the prompt limit the SDK states, or the bot’s cap marked as assumed', ({ model }) => {
    const entry = entryOf(model);
    const stated = /up to ([\d,]+) characters/.exec(sdkProperty(model, 'promptText').doc);
    if (stated) {
      expect({ units: entry.maxPromptUnits, source: entry.promptLimitSource }).toEqual({ units: numberIn(stated[1] ?? ''), source: 'sdk' });
    } else {
      expect({ units: entry.maxPromptUnits, source: entry.promptLimitSource }).toEqual({ units: UNSTATED_PROMPT_LIMIT, source: 'assumed' });
    }
  });

  it.each(sdk.models.map((model) => ({ id: model.id, model })))('$id: references as the SDK states them: how many, tags, subjects', ({ model }) => {
    const entry = entryOf(model);
    const references = sdkProperty(model, 'referenceImages');
    const doc = references.doc;
    const range = /\b(one|two|three|four|five|\d+) to (\w+) images/.exec(doc);
    const upTo = /up to (\w+) (?:images|of those)/i.exec(doc);
    const stated = range ? { min: numberIn(range[1] ?? ''), max: numberIn(range[2] ?? '') } : upTo ? { min: 0, max: numberIn(upTo[1] ?? '') } : null;
    if (stated) expect({ min: entry.minReferences, max: entry.maxReferences, source: entry.maxReferencesSource }).toEqual({ ...stated, source: 'sdk' });
    else expect({ min: entry.minReferences, source: entry.maxReferencesSource }).toEqual({ min: 0, source: 'assumed' });
    expect(entry.minReferences > 0).toBe(!references.optional);
    expect(entry.referenceTags === 'none').toBe(!model.referenceProperties.has('tag'));
    expect(entry.referenceTags === 'unique').toBe(doc.includes('No two images may share the same tag'));
    const human = /Up to (\w+) of those images can pass `subject: "human"`/.exec(doc);
    const object = /up to (\w+) of those images can pass `subject: "object"`/.exec(doc);
    expect(entry.referenceSubjects).toEqual(model.referenceProperties.has('subject') ? { human: numberIn(human?.[1] ?? ''), object: numberIn(object?.[1] ?? '') } : null);
  });

  it.each(sdk.models.map((model) => ({ id: model.id, model })))('$id: seed, contentModeration and outputCount exactly where the SDK has them', ({ model }) => {
    const entry = entryOf(model);
    expect(entry.supportsSeed).toBe(model.properties.has('seed'));
    expect(entry.contentModeration).toBe(model.properties.has('contentModeration'));
    const count = model.properties.get('outputCount');
    if (!count) {
      expect({ counts: entry.outputCounts, source: entry.outputCountSource }).toEqual({ counts: [], source: 'sdk' });
      return;
    }
    const literals = count.type.split('|').map((part) => part.trim());
    const range = /\((\d+)-(\d+)\)/.exec(count.doc);
    if (literals.every((part) => /^\d+$/.test(part))) {
      expect({ counts: entry.outputCounts, source: entry.outputCountSource }).toEqual({ counts: literals.map(Number), source: 'sdk' });
    } else if (range) {
      const [low, high] = [Number(range[1]), Number(range[2])];
      expect({ counts: entry.outputCounts, source: entry.outputCountSource }).toEqual({ counts: Array.from({ length: high - low + 1 }, (_, i) => low + i), source: 'sdk' });
    } else {
      expect({ counts: entry.outputCounts, source: entry.outputCountSource }).toEqual({ counts: [1, 2, 3, 4], source: 'assumed' });
    }
  });

  it.each(sdk.models.map((model) => ({ id: model.id, model })))('$id: every other option of the SDK with its values', ({ model }) => {
    const entry = entryOf(model);
    const expected = Object.fromEntries(
      [...model.properties.values()]
        .filter((property) => !NAMED_KEYS.has(property.name))
        .map((property) => [property.name, property.type === 'boolean' ? [true, false] : literalsOf(property.type)] as const),
    );
    expect(entry.options).toEqual(expected);
  });
});

describe('the catalogue', () => {
  it('says where every price comes from, and marks guesses', () => {
    expect(MODELS.map((m) => [m.id, m.price.source])).toEqual([
      ['gen4_image', 'runway_pricing'],
      ['gen4_image_turbo', 'runway_pricing'],
      ['gemini_2.5_flash', 'runway_pricing'],
      ['gemini_image3_pro', 'guess'],
      ['gemini_image3.1_flash', 'guess'],
      ['gpt_image_2', 'guess'],
      ['gpt_image_2_5_flare', 'guess'],
      ['gpt_image_2_5_sunburst', 'guess'],
      ['seedream5_pro', 'guess'],
      ['seedream5_lite', 'guess'],
      ['muse_image', 'sdk_types'],
      ['grok_imagine_image_2', 'guess'],
    ]);
    for (const model of MODELS) {
      if (model.price.source === 'guess') expect(model.price.note).toMatch(/^guess: /);
    }
  });

  it('prices a ratio, a reference surcharge and a freeform size from the entry', () => {
    const model = (id: string): ModelInfo => findModel(id) ?? MODELS[0]!;
    expect(catalogueCost(model('gen4_image'), '1280:720')).toBe(5);
    expect(catalogueCost(model('gen4_image'), '1920:1080', 3)).toBe(8);
    expect(catalogueCost(model('grok_imagine_image_2'), '2048:2048', 2)).toBe(10);
    expect(catalogueCost(model('gpt_image_2_5_flare'), 'auto', 16)).toBe(57);
    expect(catalogueCost(model('seedream5_lite'), '2000:2000')).toBe(4);
    expect(() => catalogueCost(model('seedream5_lite'), '1000:1000')).toThrow('ratio 1000:1000 is not offered by seedream5_lite');
  });

  it('takes a freeform size only within the pixel range, and only as Runway writes it', () => {
    const lite = findModel('seedream5_lite')!;
    expect([takesRatio(lite, '1920:1920'), takesRatio(lite, '4096:4096'), takesRatio(lite, '4096:4097'), takesRatio(lite, '1919:1920'), takesRatio(lite, '02000:2000')]).toEqual([
      true, true, false, false, false,
    ]);
    expect(takesRatio(findModel('seedream5_pro')!, '2000:2000')).toBe(false);
  });

  it('fits Discord: at most 25 models, each label and description within a 100-character choice name', () => {
    expect(MODELS.length).toBeLessThanOrEqual(25);
    for (const model of MODELS) expect(`${model.label}: ${model.description}`.length).toBeLessThanOrEqual(100);
  });

  it('offers what the operator lists, in catalogue order, and refuses an empty or unknown list', () => {
    try {
      offerModels(['muse_image', 'gen4_image']);
      expect(offeredModels().map((m) => m.id)).toEqual(['gen4_image', 'muse_image']);
      expect(() => offerModels([])).toThrow('at least one model must be offered');
      expect(() => offerModels(['gen5'])).toThrow('not in the model catalogue: gen5');
    } finally {
      offerModels(MODEL_IDS);
    }
    expect(offeredModels()).toEqual(MODELS);
    expect(DEFAULT_MODEL_ID).toBe('gen4_image');
  });
});
