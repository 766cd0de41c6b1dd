import { afterEach, describe, expect, it } from 'vitest';
import { MODEL_IDS, offerModels } from '../models.ts';
import { validateImagineRequest, type RequestCheck } from './request.ts';

afterEach(() => offerModels(MODEL_IDS));

const base = { prompt: 'a koi pond at dawn', referenceCount: 0 };

function problemOf(check: RequestCheck) {
  if (check.ok) throw new Error(`expected a problem, got ${JSON.stringify(check.request)}`);
  return check.failure;
}

describe('validateImagineRequest', () => {
  it('accepts a bare prompt with the default model, ratio and price', () => {
    expect(validateImagineRequest(base)).toEqual({
      ok: true,
      request: { prompt: 'a koi pond at dawn', modelId: 'gen4_image', ratio: '1920:1080', seed: null, tags: [] },
      priceCredits: 8,
    });
  });

  it('accepts a full request and prices it from the catalogue', () => {
    const check = validateImagineRequest({ prompt: '@cat on a rug', model: 'gen4_image', ratio: '16:9 720p', seed: '7', tags: ['cat'], referenceCount: 2 });
    expect(check).toEqual({
      ok: true,
      request: { prompt: '@cat on a rug', modelId: 'gen4_image', ratio: '1280:720', seed: 7, tags: ['cat', 'image2'] },
      priceCredits: 5,
    });
  });

  it('refuses an empty prompt', () => {
    expect(problemOf(validateImagineRequest({ ...base, prompt: '   ' })).code).toBe('request.prompt_empty');
  });

  it('refuses 999 characters plus an emoji (1001 UTF-16 units), saying by how much', () => {
    const p = problemOf(validateImagineRequest({ ...base, prompt: `${'a'.repeat(999)}😀` }));
    expect(p.code).toBe('request.prompt_too_long');
    expect(p.userMessage).toContain('1000');
    expect(p.userMessage).toContain('by 1');
  });

  it('accepts 998 characters plus an emoji (exactly 1000 units)', () => {
    expect(validateImagineRequest({ ...base, prompt: `${'a'.repeat(998)}😀` }).ok).toBe(true);
  });

  it('refuses an unknown model and lists the models with their ids', () => {
    const p = problemOf(validateImagineRequest({ ...base, model: 'dall-e-3' }));
    expect(p.code).toBe('request.unknown_model');
    for (const id of ['gen4_image', 'gen4_image_turbo', 'gemini_2.5_flash']) expect(p.userMessage).toContain(`\`${id}\``);
  });

  it('reads a model named loosely by id or label', () => {
    const check = validateImagineRequest({ ...base, model: 'Gemini 2.5 Flash Image' });
    expect(check.ok && check.request.modelId).toBe('gemini_2.5_flash');
  });

  it('refuses a ratio the model lacks and lists the ones it has', () => {
    const p = problemOf(validateImagineRequest({ ...base, model: 'gemini_2.5_flash', ratio: '1920:1080' }));
    expect(p.code).toBe('request.ratio_not_offered');
    expect(p.userMessage).toContain('1344:768');
  });

  it('refuses four references for a model that takes three', () => {
    const p = problemOf(validateImagineRequest({ ...base, referenceCount: 4 }));
    expect(p.code).toBe('request.too_many_references');
    expect(p.userMessage).toContain('at most 3');
  });

  it('refuses gen4_image_turbo without a reference and names the way out', () => {
    const p = problemOf(validateImagineRequest({ ...base, model: 'gen4_image_turbo' }));
    expect(p.code).toBe('request.turbo_needs_reference');
    expect(p.userMessage).toContain('1–3');
    expect(p.userMessage).toContain('`gen4_image`');
  });

  it('accepts gen4_image_turbo with one reference at 2 credits', () => {
    const check = validateImagineRequest({ ...base, model: 'gen4_image_turbo', referenceCount: 1 });
    expect(check.ok && check.priceCredits).toBe(2);
  });

  it('refuses the tag 1cat (must start with a letter)', () => {
    expect(problemOf(validateImagineRequest({ ...base, tags: ['1cat'], referenceCount: 1 })).code).toBe('request.invalid_tag');
  });

  it('refuses the tag ab (too short)', () => {
    const p = problemOf(validateImagineRequest({ ...base, tags: ['ab'], referenceCount: 1 }));
    expect(p.code).toBe('request.invalid_tag');
    expect(p.userMessage).toContain('too short');
  });

  it('refuses the tag my-cat (hyphen)', () => {
    expect(problemOf(validateImagineRequest({ ...base, tags: ['my-cat'], referenceCount: 1 })).code).toBe('request.invalid_tag');
  });

  it('refuses duplicate tags', () => {
    expect(problemOf(validateImagineRequest({ ...base, tags: ['cat', 'cat'], referenceCount: 2 })).code).toBe('request.duplicate_tag');
  });

  it('refuses a user tag that collides with a default tag', () => {
    expect(problemOf(validateImagineRequest({ ...base, tags: ['image2'], referenceCount: 2 })).code).toBe('request.duplicate_tag');
  });

  it('refuses more tags than images', () => {
    const p = problemOf(validateImagineRequest({ ...base, tags: ['cat', 'dog'], referenceCount: 1 }));
    expect(p.code).toBe('request.too_many_tags');
  });

  it('refuses an @Tag that names no image and lists the tags available', () => {
    const p = problemOf(validateImagineRequest({ ...base, prompt: '@dog chasing @image1', referenceCount: 1 }));
    expect(p.code).toBe('request.unknown_prompt_tag');
    expect(p.userMessage).toContain('@dog');
    expect(p.userMessage).toContain('`image1`');
  });

  it('refuses an @Tag when no image is attached, saying so', () => {
    const p = problemOf(validateImagineRequest({ ...base, prompt: 'a portrait of @image1' }));
    expect(p.code).toBe('request.unknown_prompt_tag');
    expect(p.userMessage).toContain('no images are attached');
  });

  it('ignores Discord mentions and emails in the prompt', () => {
    expect(validateImagineRequest({ ...base, prompt: 'for <@123456789012345678> and <@U0ABC123>, mail a@bcd.com' }).ok).toBe(true);
  });

  it('matches @Tags case-sensitively and points at the near miss', () => {
    const p = problemOf(validateImagineRequest({ ...base, prompt: '@Cat sleeping', tags: ['cat'], referenceCount: 1 }));
    expect(p.code).toBe('request.unknown_prompt_tag');
    expect(p.userMessage).toContain('`@cat`');
  });

  it.each(['-1', '1.5', 'abc', '99999999999', '4294967296', '1e3', '0x10', '+5'])('refuses the seed %s', (seed) => {
    expect(problemOf(validateImagineRequest({ ...base, seed })).code).toBe('request.invalid_seed');
  });

  it.each([-1, 1.5, Number.NaN, 2 ** 32])('refuses the numeric seed %s', (seed) => {
    expect(problemOf(validateImagineRequest({ ...base, seed })).code).toBe('request.invalid_seed');
  });

  it.each([
    ['0', 0],
    ['4294967295', 4294967295],
    [' 42 ', 42],
    [7, 7],
  ] as const)('accepts the seed %s', (seed, expected) => {
    const check = validateImagineRequest({ ...base, seed });
    expect(check.ok && check.request.seed).toBe(expected);
  });

  it('refuses a seed for gemini_2.5_flash', () => {
    expect(problemOf(validateImagineRequest({ ...base, model: 'gemini_2.5_flash', seed: 3 })).code).toBe('request.seed_not_supported');
  });

  it('treats an empty seed as none, even for a model without seeds', () => {
    const check = validateImagineRequest({ ...base, model: 'gemini_2.5_flash', seed: '' });
    expect(check.ok && check.request.seed).toBe(null);
  });

  it('refuses a seed for gemini_2.5_flash, saying so', () => {
    expect(problemOf(validateImagineRequest({ ...base, model: 'gemini_2.5_flash', seed: '3' }))).toEqual({
      code: 'request.seed_not_supported',
      userMessage: "Gemini 2.5 Flash Image (`gemini_2.5_flash`) doesn't take a seed: leave the seed out, or pick a model that takes one.",
    });
  });

  it.each(['gemini_image3_pro', 'gpt_image_2', 'seedream5_lite', 'muse_image', 'grok_imagine_image_2'])('refuses a seed for %s, which takes none', (model) => {
    expect(problemOf(validateImagineRequest({ ...base, model, seed: 3 })).code).toBe('request.seed_not_supported');
  });

  it('refuses 4 references on gen4_image, which takes 3', () => {
    expect(problemOf(validateImagineRequest({ ...base, model: 'gen4_image', referenceCount: 4 }))).toEqual({
      code: 'request.too_many_references',
      userMessage: 'Gen-4 Image (`gen4_image`) takes at most 3 reference images, and you attached 4: remove 1.',
    });
  });

  it('refuses 15 references on gemini_image3_pro, which takes 14, and accepts 14', () => {
    expect(problemOf(validateImagineRequest({ ...base, model: 'gemini_image3_pro', referenceCount: 15 }))).toEqual({
      code: 'request.too_many_references',
      userMessage: 'Gemini 3 Pro Image (`gemini_image3_pro`) takes at most 14 reference images, and you attached 15: remove 1.',
    });
    const check = validateImagineRequest({ ...base, model: 'gemini_image3_pro', referenceCount: 14 });
    expect(check.ok && check.request.tags.length).toBe(14);
  });

  it("refuses a prompt over the model's limit counted in UTF-16 units: 3999 characters and an emoji on seedream5_pro", () => {
    expect(problemOf(validateImagineRequest({ ...base, model: 'seedream5_pro', prompt: `${'a'.repeat(3999)}😀` }))).toEqual({
      code: 'request.prompt_too_long',
      userMessage: 'Your prompt is 4001 characters long and Seedream 5 Pro takes at most 4000: shorten it by 1 (emoji and some symbols count as 2).',
    });
    expect(validateImagineRequest({ ...base, model: 'seedream5_pro', prompt: `${'a'.repeat(3998)}😀` }).ok).toBe(true);
  });

  it("takes gpt_image_2's long prompts, and caps models whose limit the SDK does not state at 1000 units", () => {
    expect(validateImagineRequest({ ...base, model: 'gpt_image_2', prompt: 'a'.repeat(32_000) }).ok).toBe(true);
    expect(problemOf(validateImagineRequest({ ...base, model: 'gpt_image_2', prompt: 'a'.repeat(32_001) })).code).toBe('request.prompt_too_long');
    expect(problemOf(validateImagineRequest({ ...base, model: 'muse_image', prompt: 'a'.repeat(1_001) })).code).toBe('request.prompt_too_long');
  });

  it('refuses a model the operator has hidden, listing the ones offered', () => {
    offerModels(['gen4_image', 'muse_image']);
    expect(problemOf(validateImagineRequest({ ...base, model: 'gpt_image_2' }))).toEqual({
      code: 'request.model_not_offered',
      userMessage:
        "GPT Image 2 (`gpt_image_2`) isn't offered here: the operator has turned it off. Choose one of: `gen4_image` (Gen-4 Image), `muse_image` (Muse Image); leave it out for `gen4_image`.",
    });
    expect(problemOf(validateImagineRequest({ ...base, model: 'gpt_image_3' }))).toEqual({
      code: 'request.unknown_model',
      userMessage: 'There is no model called `gpt_image_3`. Choose one of: `gen4_image` (Gen-4 Image), `muse_image` (Muse Image); leave it out for `gen4_image`.',
    });
  });

  it('falls back to the first offered model when the operator hides the default', () => {
    offerModels(['muse_image', 'grok_imagine_image_2']);
    expect(validateImagineRequest(base)).toEqual({
      ok: true,
      request: { prompt: 'a koi pond at dawn', modelId: 'muse_image', ratio: '2016:1152', seed: null, tags: [] },
      priceCredits: 1,
    });
  });

  it('refuses tags for a model whose references carry none, and reads @words as plain text there', () => {
    expect(problemOf(validateImagineRequest({ ...base, model: 'muse_image', tags: ['cat'], referenceCount: 1 }))).toEqual({
      code: 'request.tags_not_supported',
      userMessage: 'Muse Image (`muse_image`) knows reference images by their order, not by tags: leave the tags out and describe the images in the prompt by position, for example “the first image”.',
    });
    expect(validateImagineRequest({ ...base, model: 'seedream5_pro', prompt: 'a poster saying @home', referenceCount: 1 })).toEqual({
      ok: true,
      request: { prompt: 'a poster saying @home', modelId: 'seedream5_pro', ratio: '1376:768', seed: null, tags: ['image1'] },
      priceCredits: 5,
    });
  });

  it('takes `auto` ratios as typed, and prices references where the model charges for them', () => {
    expect(validateImagineRequest({ ...base, model: 'grok imagine image 2', ratio: 'AUTO_2K', referenceCount: 2 })).toEqual({
      ok: true,
      request: { prompt: 'a koi pond at dawn', modelId: 'grok_imagine_image_2', ratio: 'auto_2k', seed: null, tags: ['image1', 'image2'] },
      priceCredits: 10,
    });
    expect(problemOf(validateImagineRequest({ ...base, model: 'gen4_image', ratio: 'auto' })).code).toBe('request.ratio_not_offered');
  });

  it("takes seedream5_lite's freeform sizes within its pixel range", () => {
    const check = validateImagineRequest({ ...base, model: 'seedream5_lite', ratio: '2000x2000' });
    expect(check.ok && [check.request.ratio, check.priceCredits]).toEqual(['2000:2000', 4]);
    expect(problemOf(validateImagineRequest({ ...base, model: 'seedream5_lite', ratio: '1000:1000' })).code).toBe('request.ratio_not_offered');
  });
});

describe('count (Runway outputCount), checked against the model entry', () => {
  it('asks gpt_image_2 for 4 images, priced per image', () => {
    expect(validateImagineRequest({ ...base, model: 'gpt_image_2', ratio: '1920:1088', count: '4' })).toEqual({
      ok: true,
      request: { prompt: 'a koi pond at dawn', modelId: 'gpt_image_2', ratio: '1920:1088', seed: null, tags: [], count: 4 },
      priceCredits: 80,
    });
  });

  it('takes count 1 on any model, and stores no count for it', () => {
    expect(validateImagineRequest({ ...base, count: 1 })).toMatchObject({ ok: true, request: { modelId: 'gen4_image' }, priceCredits: 8 });
    const check = validateImagineRequest({ ...base, count: 1 });
    expect(check.ok && 'count' in check.request).toBe(false);
  });

  it('refuses a count on gen4_image, which makes one image', () => {
    const failure = problemOf(validateImagineRequest({ ...base, model: 'gen4_image', count: '4' }));
    expect(failure.code).toBe('request.count_not_supported');
    expect(failure.userMessage).toBe(
      'Gen-4 Image (`gen4_image`) makes one image per request: leave the count out, or pick a model that makes several, such as `gemini_image3_pro` (1 or 4). Nothing was charged.',
    );
  });

  it('refuses a count above the model maximum, or one it does not take', () => {
    const above = problemOf(validateImagineRequest({ ...base, model: 'gpt_image_2', count: 11 }));
    expect(above).toEqual({
      code: 'request.count_out_of_range',
      userMessage: 'GPT Image 2 (`gpt_image_2`) makes 1–10 images per request, not `11`: pick one of those counts. Nothing was charged.',
    });
    expect(problemOf(validateImagineRequest({ ...base, model: 'gemini_image3_pro', count: '3' })).code).toBe('request.count_out_of_range');
    expect(problemOf(validateImagineRequest({ ...base, model: 'muse_image', count: 'four' })).code).toBe('request.count_out_of_range');
  });
});
