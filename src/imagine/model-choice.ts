/**
 * Reading the model a user named. Ids are what we document, but `Gen4-Image`, `gen4 image` and the
 * label `Gemini 2.5 Flash Image` are clearly meant too: case, spaces and dashes are ignored.
 */
import type { Failure } from '../errors.ts';
import { DEFAULT_MODEL_ID, MODELS, findModel, type ModelInfo } from '../models.ts';
import { echo } from './user-text.ts';

export type ModelChoice = { ok: true; model: ModelInfo } | { ok: false; failure: Failure };

const normalise = (name: string): string => name.trim().toLowerCase().replace(/[\s_-]+/g, '_');

/** One line per model for messages: "`gen4_image` (Gen-4 Image)". */
export function listModelIds(): string[] {
  return MODELS.map((m) => `\`${m.id}\` (${m.label})`);
}

/** The model the user named, or the default when they named none. */
export function resolveModel(raw: string | undefined): ModelChoice {
  const wanted = normalise(raw ?? '');
  if (wanted === '') {
    const fallback = findModel(DEFAULT_MODEL_ID) ?? MODELS[0];
    if (fallback) return { ok: true, model: fallback };
  }
  const model = MODELS.find((m) => normalise(m.id) === wanted || normalise(m.label) === wanted);
  if (model) return { ok: true, model };
  return { ok: false, failure: unknownModel(raw ?? '') };
}

/** `request.unknown_model`: `raw` names no model in the catalogue. */
export function unknownModel(raw: string): Failure {
  return {
    code: 'request.unknown_model',
    userMessage: `There is no model called ${echo(raw)}. Choose one of: ${listModelIds().join(', ')}; leave it out for \`${DEFAULT_MODEL_ID}\`.`,
  };
}
