/**
 * How many reference images a model takes. `gen4_image_turbo` keeps its own code,
 * `request.turbo_needs_reference`, because dashboards and tests already count it by name.
 */
import { problem, type Problem } from '../errors.ts';
import { MODELS, type ModelInfo } from '../models.ts';

const TURBO_MODEL_ID = 'gen4_image_turbo';

const images = (n: number): string => (n === 1 ? '1 reference image' : `${n} reference images`);

/** Null when the count suits the model; otherwise what to attach or drop. */
export function checkReferenceCount(model: ModelInfo, referenceCount: number): Problem | null {
  if (referenceCount > model.maxReferences) {
    return problem(
      'request.too_many_references',
      `${model.label} (\`${model.id}\`) takes at most ${images(model.maxReferences)}, and you attached ${referenceCount}: remove ${referenceCount - model.maxReferences}.`,
    );
  }
  if (referenceCount < model.minReferences) {
    const withoutReferences = MODELS.filter((m) => m.minReferences === 0).map((m) => `\`${m.id}\``);
    const alternative = withoutReferences.length > 0 ? `, or use ${withoutReferences.join(' or ')}, which work${withoutReferences.length === 1 ? 's' : ''} without one` : '';
    const range = model.minReferences === model.maxReferences ? `${model.minReferences}` : `${model.minReferences}–${model.maxReferences}`;
    return problem(
      model.id === TURBO_MODEL_ID ? 'request.turbo_needs_reference' : 'request.needs_reference',
      `${model.label} (\`${model.id}\`) needs ${range} reference image${model.maxReferences === 1 ? '' : 's'} and you attached ${referenceCount}: attach ${referenceCount === 0 && model.minReferences === 1 ? 'one' : images(model.minReferences - referenceCount)}${alternative}.`,
    );
  }
  return null;
}
