/**
 * What a request costs by the catalogue (before Runway's estimate corrects it), and the cheaper
 * ways to get a similar picture, for the "not enough credits" message.
 */
import { MODELS, catalogueCost, findModel, type ModelInfo } from '../models.ts';
import { friendlyRatioName, isSameShape, pixelsOf } from './ratios.ts';
import type { ImagineRequest } from './request.ts';

type PricedRequest = Pick<ImagineRequest, 'modelId' | 'ratio'>;

const credits = (n: number): string => (n === 1 ? '1 credit' : `${n} credits`);

/** The catalogue price of a validated request; throws for a model or ratio the catalogue lacks. */
export function priceOf(request: PricedRequest): number {
  const model = findModel(request.modelId);
  if (!model) throw new Error(`unknown model ${request.modelId}`);
  return catalogueCost(model, request.ratio);
}

/**
 * The cheapest ratio of this model with the request's shape; at equal price the request's own
 * ratio, else the largest size, so a cheaper option never shrinks the picture needlessly.
 */
function cheapestSameShape(model: ModelInfo, ratio: string): { value: string; costCredits: number } | null {
  const sameShape = model.ratios.filter((r) => isSameShape(r.value, ratio));
  const cheapest = Math.min(...sameShape.map((r) => r.costCredits));
  const atThatPrice = sameShape.filter((r) => r.costCredits === cheapest);
  const own = atThatPrice.find((r) => r.value === ratio);
  if (own) return own;
  return atThatPrice.map((r) => r.value).sort((a, b) => pixelsOf(b) - pixelsOf(a)).map((value) => ({ value, costCredits: cheapest }))[0] ?? null;
}

/**
 * Short lines, cheapest first, for options strictly cheaper than the request that the user can
 * actually take: same shape of picture, a model that takes this many images (and the seed, if one
 * was given). A model that needs more images than attached is listed with what to attach.
 * e.g. "`gen4_image` at 1280:720 (16:9, 720p): 5 credits".
 */
export function cheaperOptions(request: Pick<ImagineRequest, 'modelId' | 'ratio' | 'seed'>, referenceCount: number): string[] {
  const current = findModel(request.modelId);
  if (!current || !current.ratios.some((r) => r.value === request.ratio)) return [];
  const price = catalogueCost(current, request.ratio);
  const options: { costCredits: number; line: string }[] = [];
  for (const model of MODELS) {
    if (referenceCount > model.maxReferences) continue;
    if (request.seed !== null && !model.supportsSeed) continue;
    const option = cheapestSameShape(model, request.ratio);
    if (!option || option.costCredits >= price) continue;
    const missing = model.minReferences - referenceCount;
    const condition = missing <= 0 ? '' : missing === 1 ? ' with a reference image attached' : ` with ${missing} more reference images attached`;
    options.push({
      costCredits: option.costCredits,
      line: `\`${model.id}\` at ${friendlyRatioName(option.value)}${condition}: ${credits(option.costCredits)}`,
    });
  }
  return options.sort((a, b) => a.costCredits - b.costCredits).map((o) => o.line);
}
