/**
 * An /imagine request checked against the catalogue: the contract of design.md §4. Pure and
 * platform-free, cheap enough to run before the platform's acknowledgement deadline.
 * Checks run in the order a user fixes things (prompt, model, ratio, seed, images, tags) and the
 * first failure is returned, so every message names one thing to do. Everything is read from the
 * model's catalogue entry: only the models the operator offers, the prompt within the model's limit
 * (in UTF-16 code units, as Runway counts), its ratios, a seed only where it takes one, references
 * within its limits, tags only where its references carry them.
 */
import type { Failure } from '../errors.ts';
import type { ModelInfo } from '../models.ts';
import { resolveModel } from './model-choice.ts';
import { priceOf } from './price.ts';
import { resolveRatio } from './ratios.ts';
import { checkCount } from './count.ts';
import { checkReferenceCount } from './references.ts';
import { checkSeed } from './seed.ts';
import { checkPromptTags, checkTags, splitTagInput, tagsNotSupported } from './tags.ts';

export interface ImagineRequest {
  prompt: string;
  modelId: string;
  ratio: string;
  seed: number | null;
  /** One per reference, in attachment order. */
  tags: string[];
  /** Images asked for in one task (Runway's `outputCount`); absent means one. */
  count?: number;
}

export type RequestCheck = { ok: true; request: ImagineRequest; priceCredits: number } | { ok: false; failure: Failure };

export interface ImagineRequestInput {
  prompt: string;
  model?: string | undefined;
  ratio?: string | undefined;
  seed?: string | number | undefined;
  tags?: readonly string[] | undefined;
  /** Images in one task; raw text or number, checked against the model's `outputCount` values. */
  count?: string | number | undefined;
  /** The number of attached reference images. */
  referenceCount: number;
}

/** C0 and C1 control characters except tab, line feed and carriage return. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** Validate options against the catalogue. referenceCount = number of attachments. */
export function validateImagineRequest(input: ImagineRequestInput): RequestCheck {
  const fail = (failure: Failure): RequestCheck => ({ ok: false, failure });
  const referenceCount = Number.isFinite(input.referenceCount) ? Math.max(0, Math.floor(input.referenceCount)) : 0;

  // Control characters (NUL, ESC, …) draw nothing, and in a caption or a terminal they only do harm.
  const prompt = (typeof input.prompt === 'string' ? input.prompt : '').replace(CONTROL_CHARACTERS, '').trim();
  if (prompt === '') return fail(PROMPT_EMPTY);

  const modelChoice = resolveModel(input.model);
  if (!modelChoice.ok) return fail(modelChoice.failure);
  const model = modelChoice.model;

  if (prompt.length > model.maxPromptUnits) return fail(promptTooLong(model, prompt.length));

  const ratio = resolveRatio(model, input.ratio ?? '');
  if (!ratio.ok) return fail(ratio.failure);

  const seed = checkSeed(model, input.seed);
  if (!seed.ok) return fail(seed.failure);

  const count = checkCount(model, input.count);
  if (!count.ok) return fail(count.failure);

  const referenceFailure = checkReferenceCount(model, referenceCount);
  if (referenceFailure) return fail(referenceFailure);

  // Images of a model without tags are still named image1, image2… inside the bot (one name per
  // reference, in order); the gateway sends them without.
  const takesTags = model.referenceTags !== 'none';
  if (!takesTags && splitTagInput(input.tags ?? []).length > 0) return fail(tagsNotSupported(model));
  const tags = checkTags(input.tags, referenceCount);
  if (!tags.ok) return fail(tags.failure);

  // Where Runway reads no tags, an `@word` in the prompt is only text to it.
  const promptTagFailure = takesTags ? checkPromptTags(prompt, tags.tags) : null;
  if (promptTagFailure) return fail(promptTagFailure);

  const request: ImagineRequest = { prompt, modelId: model.id, ratio: ratio.ratio, seed: seed.seed, tags: tags.tags, ...(count.count > 1 ? { count: count.count } : {}) };
  return { ok: true, request, priceCredits: priceOf(request) };
}

/** `request.prompt_empty`: nothing left of the prompt once trimmed. */
export const PROMPT_EMPTY: Failure = {
  code: 'request.prompt_empty',
  userMessage: 'Your prompt is empty: describe the image you want, for example `a koi pond at dawn`.',
};

/**
 * `request.prompt_too_long`: `length` is in UTF-16 code units, as Runway counts the prompt
 * (`'😀'.length === 2`), so we count the same way.
 */
export function promptTooLong(model: Pick<ModelInfo, 'label' | 'maxPromptUnits'>, length: number): Failure {
  return {
    code: 'request.prompt_too_long',
    userMessage: `Your prompt is ${length} characters long and ${model.label} takes at most ${model.maxPromptUnits}: shorten it by ${length - model.maxPromptUnits} (emoji and some symbols count as 2).`,
  };
}
