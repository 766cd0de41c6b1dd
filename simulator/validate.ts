/**
 * Validation of `POST /v1/text_to_image` bodies the way Runway does it: model, ratio, prompt length,
 * references, tags and seed, all read from the model catalogue.
 * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1text_to_image/post
 */
import { z } from 'zod';
import { findModel, type ModelInfo } from '../src/models.ts';

export const TAG_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
export const MAX_SEED = 4_294_967_295;

export interface TextToImageRequest {
  readonly model: ModelInfo;
  readonly promptText: string;
  readonly ratio: string;
  readonly referenceImages: readonly { uri: string; tag?: string | undefined }[];
  readonly seed: number | undefined;
}

export interface ValidationIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

export type ValidationResult =
  | { ok: true; request: TextToImageRequest }
  | { ok: false; error: string; issues: ValidationIssue[] };

const bodySchema = z.object({
  model: z.string(),
  promptText: z.string(),
  ratio: z.string(),
  referenceImages: z
    .array(z.object({ uri: z.string(), tag: z.string().optional() }))
    .optional(),
  seed: z.number().optional(),
  contentModeration: z.object({ publicFigureThreshold: z.enum(['auto', 'low']).optional() }).optional(),
});

/**
 * Validate a parsed JSON body. `isKnownUpload` says whether a `runway://` URI was issued by this
 * server and is still valid; any other URI is refused, because the bot must only send uploads.
 */
export function validateTextToImage(body: unknown, isKnownUpload: (uri: string) => boolean): ValidationResult {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      error: 'Validation of body failed',
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issue.message })),
    };
  }
  const input = parsed.data;
  const issues: ValidationIssue[] = [];
  const model = findModel(input.model);
  if (!model) {
    return { ok: false, error: 'Validation of body failed', issues: [{ path: ['model'], message: `Unknown model ${JSON.stringify(input.model)}` }] };
  }
  if (!model.ratios.some((r) => r.value === input.ratio)) {
    issues.push({ path: ['ratio'], message: `Invalid ratio for ${model.id}; expected one of ${model.ratios.map((r) => r.value).join(', ')}` });
  }
  if (input.promptText.length < 1 || input.promptText.length > model.maxPromptUnits) {
    issues.push({ path: ['promptText'], message: `promptText must be 1 to ${model.maxPromptUnits} characters` });
  }
  const references = input.referenceImages ?? [];
  if (references.length < model.minReferences || references.length > model.maxReferences) {
    const range = model.minReferences === 0 ? `at most ${model.maxReferences}` : `${model.minReferences} to ${model.maxReferences}`;
    issues.push({ path: ['referenceImages'], message: `${model.id} takes ${range} reference images` });
  }
  references.forEach((reference, index) => {
    if (!reference.uri.startsWith('runway://') || !isKnownUpload(reference.uri)) {
      // Runway would fetch https and data URIs too; the simulator refuses them because the bot
      // must only ever send its own uploads (never a chat platform's URL).
      issues.push({ path: ['referenceImages', index, 'uri'], message: 'uri must be a valid, unexpired runway:// upload URI' });
    }
    if (reference.tag !== undefined && (reference.tag.length < 3 || reference.tag.length > 16 || !TAG_PATTERN.test(reference.tag))) {
      issues.push({
        path: ['referenceImages', index, 'tag'],
        message: 'tag must be 3-16 characters, start with a letter, and use only letters, digits, and underscores',
      });
    }
  });
  if (input.seed !== undefined) {
    if (!model.supportsSeed) issues.push({ path: ['seed'], message: `${model.id} does not accept a seed` });
    else if (!Number.isInteger(input.seed) || input.seed < 0 || input.seed > MAX_SEED) {
      issues.push({ path: ['seed'], message: `seed must be an integer from 0 to ${MAX_SEED}` });
    }
  }
  if (issues.length > 0) return { ok: false, error: 'Validation of body failed', issues };
  return {
    ok: true,
    request: { model, promptText: input.promptText, ratio: input.ratio, referenceImages: references, seed: input.seed },
  };
}
