/**
 * Validation of `POST /v1/text_to_image` bodies the way Runway does it, per model, all read from the
 * model catalogue (itself tied to the SDK's `TextToImageCreateParams`): the model, its ratios (and a
 * freeform size where it takes one), the prompt's length in UTF-16 code units, the number of
 * references and what each may carry (a tag, a subject), a seed and `contentModeration` only where
 * taken, `outputCount` among its values, and the model's other options with their values. A key the
 * model's SDK interface lacks is refused, so a test sees any request the bot should not have sent.
 * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1text_to_image/post
 */
import { z } from 'zod';
import { findModel, takesRatio, type ModelInfo } from '../src/models.ts';

export const TAG_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
export const MAX_SEED = 4_294_967_295;

export interface TextToImageRequest {
  readonly model: ModelInfo;
  readonly promptText: string;
  readonly ratio: string;
  readonly referenceImages: readonly { uri: string; tag?: string | undefined; subject?: 'human' | 'object' | undefined }[];
  readonly seed: number | undefined;
  /** 1 unless the request asked for more. */
  readonly outputCount: number;
}

export interface ValidationIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

export type ValidationResult =
  | { ok: true; request: TextToImageRequest }
  | { ok: false; error: string; issues: ValidationIssue[] };

const VALIDATION_FAILED = 'Validation of body failed';

/** A reference as any model may carry it; unknown keys are kept so they can be refused by name. */
const referenceSchema = z.looseObject({ uri: z.string(), tag: z.string().optional(), subject: z.enum(['human', 'object']).optional() });
type ParsedReference = z.infer<typeof referenceSchema>;

/** Every key some model takes; which of them a given model takes is its entry's business. */
const bodySchema = z.looseObject({
  model: z.string(),
  promptText: z.string(),
  ratio: z.string(),
  referenceImages: z.array(referenceSchema).optional(),
  seed: z.number().optional(),
  contentModeration: z.strictObject({ publicFigureThreshold: z.enum(['auto', 'low']).optional() }).optional(),
  outputCount: z.number().optional(),
});

/** Keys every model takes, beside its own options. */
const COMMON_KEYS = ['model', 'promptText', 'ratio', 'referenceImages'] as const;

/** The body keys the model's SDK interface has. */
function keysOf(model: ModelInfo): ReadonlySet<string> {
  return new Set<string>([
    ...COMMON_KEYS,
    ...(model.supportsSeed ? ['seed'] : []),
    ...(model.contentModeration ? ['contentModeration'] : []),
    ...(model.outputCounts.length > 0 ? ['outputCount'] : []),
    ...Object.keys(model.options),
  ]);
}

/** The keys one reference may carry on this model. */
function referenceKeysOf(model: ModelInfo): ReadonlySet<string> {
  return new Set<string>(['uri', ...(model.referenceTags === 'none' ? [] : ['tag']), ...(model.referenceSubjects ? ['subject'] : [])]);
}

const failed = (issues: ValidationIssue[]): ValidationResult => ({ ok: false, error: VALIDATION_FAILED, issues });

/**
 * Validate a parsed JSON body. `isKnownUpload` says whether a `runway://` URI was issued by this
 * server and is still valid; any other URI is refused, because the bot must only send uploads.
 */
export function validateTextToImage(body: unknown, isKnownUpload: (uri: string) => boolean): ValidationResult {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    return failed(parsed.error.issues.map((issue) => ({ path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issue.message })));
  }
  const input = parsed.data;
  const model = findModel(input.model);
  if (!model) return failed([{ path: ['model'], message: `Unknown model ${JSON.stringify(input.model)}` }]);

  const issues: ValidationIssue[] = [];
  const keys = keysOf(model);
  for (const key of Object.keys(input)) {
    if (!keys.has(key)) issues.push({ path: [key], message: `${model.id} does not accept ${key}` });
  }

  if (!takesRatio(model, input.ratio)) {
    const freeform = model.freeformPixels ? `, or a W:H size of ${model.freeformPixels.min} to ${model.freeformPixels.max} pixels` : '';
    issues.push({ path: ['ratio'], message: `Invalid ratio for ${model.id}; expected one of ${model.ratios.map((r) => r.value).join(', ')}${freeform}` });
  }
  // String length is UTF-16 code units: how Runway counts (an emoji is 2).
  if (input.promptText.length < 1 || input.promptText.length > model.maxPromptUnits) {
    issues.push({ path: ['promptText'], message: `promptText must be 1 to ${model.maxPromptUnits} characters (UTF-16 code units)` });
  }

  const references = input.referenceImages ?? [];
  if (references.length < model.minReferences || references.length > model.maxReferences) {
    const range = model.minReferences === 0 ? `at most ${model.maxReferences}` : `${model.minReferences} to ${model.maxReferences}`;
    issues.push({ path: ['referenceImages'], message: `${model.id} takes ${range} reference images` });
  }
  issues.push(...referenceIssues(model, references, isKnownUpload));

  if (input.seed !== undefined && model.supportsSeed && (!Number.isInteger(input.seed) || input.seed < 0 || input.seed > MAX_SEED)) {
    issues.push({ path: ['seed'], message: `seed must be an integer from 0 to ${MAX_SEED}` });
  }
  if (input.outputCount !== undefined && model.outputCounts.length > 0 && !model.outputCounts.includes(input.outputCount)) {
    issues.push({ path: ['outputCount'], message: `outputCount for ${model.id} must be one of ${model.outputCounts.join(', ')}` });
  }
  for (const [option, values] of Object.entries(model.options)) {
    const value: unknown = input[option];
    if (value !== undefined && !values.some((allowed) => allowed === value)) {
      issues.push({ path: [option], message: `${option} must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
    }
  }
  // grok_imagine_image_2: "`edit` … Requires at least one reference image."
  if (input['edit'] === true && references.length === 0) issues.push({ path: ['edit'], message: 'edit requires at least one reference image' });

  if (issues.length > 0) return failed(issues);
  return {
    ok: true,
    request: {
      model,
      promptText: input.promptText,
      ratio: input.ratio,
      referenceImages: references.map((r) => ({ uri: r.uri, tag: r.tag, subject: r.subject })),
      seed: input.seed,
      outputCount: input.outputCount ?? 1,
    },
  };
}

function referenceIssues(
  model: ModelInfo,
  references: readonly ParsedReference[],
  isKnownUpload: (uri: string) => boolean,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const allowed = referenceKeysOf(model);
  const seenTags = new Set<string>();
  references.forEach((reference, index) => {
    for (const key of Object.keys(reference)) {
      if (!allowed.has(key)) issues.push({ path: ['referenceImages', index, key], message: `${model.id} reference images do not accept ${key}` });
    }
    if (!reference.uri.startsWith('runway://') || !isKnownUpload(reference.uri)) {
      // Runway would fetch https and data URIs too; the simulator refuses them because the bot
      // must only ever send its own uploads (never a chat platform's URL).
      issues.push({ path: ['referenceImages', index, 'uri'], message: 'uri must be a valid, unexpired runway:// upload URI' });
    }
    const tag = reference.tag;
    if (tag !== undefined && (tag.length < 3 || tag.length > 16 || !TAG_PATTERN.test(tag))) {
      issues.push({
        path: ['referenceImages', index, 'tag'],
        message: 'tag must be 3-16 characters, start with a letter, and use only letters, digits, and underscores',
      });
    }
    if (tag !== undefined && model.referenceTags === 'unique') {
      if (seenTags.has(tag)) issues.push({ path: ['referenceImages', index, 'tag'], message: 'No two images may share the same tag' });
      seenTags.add(tag);
    }
  });
  const subjects = model.referenceSubjects;
  if (subjects) {
    for (const subject of ['human', 'object'] as const) {
      const count = references.filter((r) => r.subject === subject).length;
      if (count > subjects[subject]) {
        issues.push({ path: ['referenceImages'], message: `at most ${subjects[subject]} reference images may pass subject "${subject}"` });
      }
    }
  }
  return issues;
}
