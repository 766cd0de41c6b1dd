/**
 * How many reference images a model takes. `gen4_image_turbo` keeps its own code,
 * `request.turbo_needs_reference`, because dashboards and tests already count it by name.
 */
import type { Failure } from '../errors.ts';
import { defaultModel, offeredModels, type ModelInfo } from '../models.ts';

const TURBO_MODEL_ID = 'gen4_image_turbo';

const images = (n: number): string => (n === 1 ? '1 reference image' : `${n} reference images`);

/** Null when the count suits the model; otherwise what to attach or drop. */
export function checkReferenceCount(model: ModelInfo, referenceCount: number): Failure | null {
  if (referenceCount > model.maxReferences) return tooManyReferences(model, referenceCount);
  if (referenceCount < model.minReferences) return needsReference(model, referenceCount);
  return null;
}

/** `request.too_many_references`: more images attached than the model takes. */
export function tooManyReferences(model: ModelInfo, referenceCount: number): Failure {
  return {
    code: 'request.too_many_references',
    userMessage: `${model.label} (\`${model.id}\`) takes at most ${images(model.maxReferences)}, and you attached ${referenceCount}: remove ${referenceCount - model.maxReferences}.`,
  };
}

/**
 * `request.needs_reference`, or `request.turbo_needs_reference` for Turbo: fewer images than the
 * model needs. One text for both codes; only the code differs, for the dashboards.
 */
export function needsReference(model: Pick<ModelInfo, 'label' | 'minReferences' | 'maxReferences'> & { readonly id: string }, referenceCount: number): Failure {
  // One example is enough: most models work without references, and `/imagine help` lists them.
  const fallback = defaultModel();
  const example = fallback.minReferences === 0 ? fallback : offeredModels().find((m) => m.minReferences === 0);
  const alternative = example ? `, or use a model that works without one, such as \`${example.id}\`` : '';
  const range = model.minReferences === model.maxReferences ? `${model.minReferences}` : `${model.minReferences}–${model.maxReferences}`;
  return {
    code: model.id === TURBO_MODEL_ID ? 'request.turbo_needs_reference' : 'request.needs_reference',
    userMessage: `${model.label} (\`${model.id}\`) needs ${range} reference image${model.maxReferences === 1 ? '' : 's'} and you attached ${referenceCount}: attach ${referenceCount === 0 && model.minReferences === 1 ? 'one' : images(model.minReferences - referenceCount)}${alternative}.`,
  };
}
