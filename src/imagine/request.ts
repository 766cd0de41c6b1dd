/**
 * An /imagine request checked against the catalogue: the contract of design.md §4. Pure and
 * platform-free, cheap enough to run before the platform's acknowledgement deadline.
 * Checks run in the order a user fixes things (prompt, model, ratio, seed, images, tags) and the
 * first problem is returned, so every message names one thing to do.
 */
import { problem, type Problem } from '../errors.ts';
import type { ModelInfo } from '../models.ts';
import { resolveModel } from './model-choice.ts';
import { priceOf } from './price.ts';
import { resolveRatio } from './ratios.ts';
import { checkReferenceCount } from './references.ts';
import { checkSeed } from './seed.ts';
import { checkPromptTags, checkTags } from './tags.ts';

export interface ImagineRequest {
  prompt: string;
  modelId: string;
  ratio: string;
  seed: number | null;
  /** One per reference, in attachment order. */
  tags: string[];
}

export type RequestCheck = { ok: true; request: ImagineRequest; priceCredits: number } | { ok: false; problem: Problem };

export interface ImagineRequestInput {
  prompt: string;
  model?: string | undefined;
  ratio?: string | undefined;
  seed?: string | number | undefined;
  tags?: readonly string[] | undefined;
  /** The number of attached reference images. */
  referenceCount: number;
}

/** C0 and C1 control characters except tab, line feed and carriage return. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** Validate options against the catalogue. referenceCount = number of attachments. */
export function validateImagineRequest(input: ImagineRequestInput): RequestCheck {
  const fail = (p: Problem): RequestCheck => ({ ok: false, problem: p });
  const referenceCount = Number.isFinite(input.referenceCount) ? Math.max(0, Math.floor(input.referenceCount)) : 0;

  // Control characters (NUL, ESC, …) draw nothing, and in a caption or a terminal they only do harm.
  const prompt = (typeof input.prompt === 'string' ? input.prompt : '').replace(CONTROL_CHARACTERS, '').trim();
  if (prompt === '') {
    return fail(problem('request.prompt_empty', 'Your prompt is empty: describe the image you want, for example `a koi pond at dawn`.'));
  }

  const modelChoice = resolveModel(input.model);
  if (!modelChoice.ok) return fail(modelChoice.problem);
  const model = modelChoice.model;

  const promptProblem = checkPromptLength(model, prompt);
  if (promptProblem) return fail(promptProblem);

  const ratio = resolveRatio(model, input.ratio ?? '');
  if (!ratio.ok) return fail(ratio.problem);

  const seed = checkSeed(model, input.seed);
  if (!seed.ok) return fail(seed.problem);

  const referenceProblem = checkReferenceCount(model, referenceCount);
  if (referenceProblem) return fail(referenceProblem);

  const tags = checkTags(input.tags, referenceCount);
  if (!tags.ok) return fail(tags.problem);

  const promptTagProblem = checkPromptTags(prompt, tags.tags);
  if (promptTagProblem) return fail(promptTagProblem);

  const request: ImagineRequest = { prompt, modelId: model.id, ratio: ratio.ratio, seed: seed.seed, tags: tags.tags };
  return { ok: true, request, priceCredits: priceOf(request) };
}

/** Runway counts the prompt in UTF-16 code units (`'😀'.length === 2`), so we count the same way. */
function checkPromptLength(model: ModelInfo, prompt: string): Problem | null {
  if (prompt.length > model.maxPromptUnits) {
    const over = prompt.length - model.maxPromptUnits;
    return problem(
      'request.prompt_too_long',
      `Your prompt is ${prompt.length} characters long and ${model.label} takes at most ${model.maxPromptUnits}: shorten it by ${over} (emoji and some symbols count as 2).`,
    );
  }
  return null;
}
