/**
 * What a request costs by the catalogue (before Runway's estimate corrects it), and the cheaper
 * ways to get a similar picture among the models the operator offers, for the "not enough credits"
 * message.
 */
import { catalogueCost, findModel, offeredModels, takesRatio, type ModelInfo } from '../models.ts';
import { friendlyRatioName, isSameShape, pixelsOf } from './ratios.ts';
import { findPromptTags } from './tags.ts';
import type { ImagineRequest } from './request.ts';

/** `tags` has one entry per reference image: some models charge per reference. */
type PricedRequest = Pick<ImagineRequest, 'modelId' | 'ratio'> & { readonly tags?: readonly string[]; readonly count?: number | undefined };

const credits = (n: number): string => (n === 1 ? '1 credit' : `${n} credits`);

/** The catalogue price of a validated request, per image times its count; throws for a model or ratio the catalogue lacks. */
export function priceOf(request: PricedRequest): number {
  const model = findModel(request.modelId);
  if (!model) throw new Error(`unknown model ${request.modelId}`);
  return catalogueCost(model, request.ratio, request.tags?.length ?? 0) * (request.count ?? 1);
}

/**
 * The cheapest ratio of this model with the request's shape; at equal price the request's own
 * ratio, else the largest size, so a cheaper option never shrinks the picture needlessly.
 */
function cheapestSameShape(model: ModelInfo, ratio: string): { value: string; costCredits: number } | null {
  const sameShape = model.ratios.filter((r) => isSameShape(r.value, ratio));
  if (sameShape.length === 0) return null;
  const cheapest = Math.min(...sameShape.map((r) => r.costCredits));
  const atThatPrice = sameShape.filter((r) => r.costCredits === cheapest);
  const own = atThatPrice.find((r) => r.value === ratio);
  if (own) return own;
  return atThatPrice.map((r) => r.value).sort((a, b) => pixelsOf(b) - pixelsOf(a)).map((value) => ({ value, costCredits: cheapest }))[0] ?? null;
}

/** The most cheaper options one message lists: the cheapest, so it stays short with a dozen models. */
export const MAX_CHEAPER_OPTIONS = 3;

/**
 * Short lines (at most MAX_CHEAPER_OPTIONS) for options strictly cheaper than the request that the
 * user can actually take: an offered model, the same shape of picture, one that takes this many
 * images (and the seed, if one was given; tags, if the prompt uses them). The same model at a smaller
 * size comes first, being closest to what was asked; then the others, cheapest first. A model that
 * needs more images than attached is listed with what to attach.
 * e.g. "`gen4_image` at 1280:720 (16:9, 720p): 5 credits".
 */
export function cheaperOptions(request: Pick<ImagineRequest, 'modelId' | 'ratio' | 'seed'> & { readonly prompt?: string }, referenceCount: number): string[] {
  const current = findModel(request.modelId);
  if (!current || !takesRatio(current, request.ratio)) return [];
  const usesTags = findPromptTags(request.prompt ?? '').length > 0;
  const price = catalogueCost(current, request.ratio, referenceCount);
  const options: { costCredits: number; sameModel: boolean; line: string }[] = [];
  for (const model of offeredModels()) {
    if (referenceCount > model.maxReferences) continue;
    if (request.seed !== null && !model.supportsSeed) continue;
    if (usesTags && model.referenceTags === 'none') continue;
    const same = cheapestSameShape(model, request.ratio);
    const option = same && { value: same.value, costCredits: same.costCredits + model.price.perReferenceCredits * Math.max(referenceCount, model.minReferences) };
    if (!option || option.costCredits >= price) continue;
    const missing = model.minReferences - referenceCount;
    const condition = missing <= 0 ? '' : missing === 1 ? ' with a reference image attached' : ` with ${missing} more reference images attached`;
    options.push({
      costCredits: option.costCredits,
      sameModel: model.id === current.id,
      line: `\`${model.id}\` at ${friendlyRatioName(option.value)}${condition}: ${credits(option.costCredits)}`,
    });
  }
  return options
    .sort((a, b) => Number(b.sameModel) - Number(a.sameModel) || a.costCredits - b.costCredits)
    .slice(0, MAX_CHEAPER_OPTIONS)
    .map((o) => o.line);
}
