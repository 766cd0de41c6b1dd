/**
 * Reading the model a user named. Ids are what we document, but `Gen4-Image`, `gen4 image` and the
 * label `Gemini 2.5 Flash Image` are clearly meant too: case, spaces and dashes are ignored.
 * Only the models the operator offers (MODELS) can be chosen; one of the catalogue's that is
 * hidden gets its own answer, so nobody thinks they misspelled it.
 */
import type { Failure } from '../errors.ts';
import { defaultModel, MODELS, offeredModels, isOffered, type ModelInfo } from '../models.ts';
import { echo } from './user-text.ts';

export type ModelChoice = { ok: true; model: ModelInfo } | { ok: false; failure: Failure };

const normalise = (name: string): string => name.trim().toLowerCase().replace(/[\s_-]+/g, '_');

/** One entry per offered model for messages: "`gen4_image` (Gen-4 Image)". */
export function listModelIds(): string[] {
  return offeredModels().map((m) => `\`${m.id}\` (${m.label})`);
}

/** The model the user named, or the default when they named none. */
export function resolveModel(raw: string | undefined): ModelChoice {
  const wanted = normalise(raw ?? '');
  if (wanted === '') return { ok: true, model: defaultModel() };
  const model = MODELS.find((m) => normalise(m.id) === wanted || normalise(m.label) === wanted);
  if (!model) return { ok: false, failure: unknownModel(raw ?? '') };
  if (!isOffered(model.id)) return { ok: false, failure: modelNotOffered(model) };
  return { ok: true, model };
}

/** `request.unknown_model`: `raw` names no model in the catalogue. */
export function unknownModel(raw: string): Failure {
  return {
    code: 'request.unknown_model',
    userMessage: `There is no model called ${echo(raw)}. Choose one of: ${listModelIds().join(', ')}; leave it out for \`${defaultModel().id}\`.`,
  };
}

/** `request.model_not_offered`: a Runway model this bot's operator has turned off (MODELS). */
export function modelNotOffered(model: Pick<ModelInfo, 'id' | 'label'>): Failure {
  return {
    code: 'request.model_not_offered',
    userMessage: `${model.label} (\`${model.id}\`) isn't offered here: the operator has turned it off. Choose one of: ${listModelIds().join(', ')}; leave it out for \`${defaultModel().id}\`.`,
  };
}
