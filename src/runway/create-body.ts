/**
 * The body of `POST /v1/text_to_image`, built from the model's catalogue entry so a request never
 * carries what the model does not take: a seed only where it takes one, tags only where its
 * references carry them, `outputCount` only among the values it takes (and never where it takes
 * none), nothing the bot does not offer (`contentModeration`, `quality`, `background`… are left to
 * Runway's defaults). A combination the entry forbids is not sent at all: the caller fails the job
 * at no cost instead of spending a round trip on a certain 400.
 * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1text_to_image/post
 */
import type { TextToImageCreateParams } from '@runwayml/sdk/resources/text-to-image';
import { findModel, takesRatio } from '../models.ts';

/** What to send for a text-to-image task. */
export interface TextToImageParams {
  readonly model: string;
  readonly promptText: string;
  readonly ratio: string;
  /** One per reference, in order; the tag is dropped for models whose references carry none. */
  readonly referenceImages: readonly { readonly uri: string; readonly tag: string }[];
  readonly seed: number | null;
  /** Images to make; absent (or 1 on a model without `outputCount`) sends none. */
  readonly outputCount?: number | undefined;
}

export type CreateBody = { readonly ok: true; readonly body: TextToImageCreateParams } | { readonly ok: false; readonly problem: string };

/** The create body for `params`, or why it must not be sent. */
export function textToImageBody(params: TextToImageParams): CreateBody {
  const model = findModel(params.model);
  const refuse = (problem: string): CreateBody => ({ ok: false, problem: `not sent: ${problem}` });
  if (!model) return refuse(`${params.model} is not in the model catalogue`);
  if (!takesRatio(model, params.ratio)) return refuse(`${model.id} does not take the ratio ${params.ratio}`);
  if (params.seed !== null && !model.supportsSeed) return refuse(`${model.id} takes no seed`);
  const references = params.referenceImages;
  if (references.length < model.minReferences || references.length > model.maxReferences) {
    return refuse(`${model.id} takes ${model.minReferences} to ${model.maxReferences} reference images, not ${references.length}`);
  }
  const count = params.outputCount;
  const sendsCount = count !== undefined && !(count === 1 && model.outputCounts.length === 0);
  if (sendsCount && !model.outputCounts.includes(count)) {
    return refuse(model.outputCounts.length === 0 ? `${model.id} takes no outputCount` : `${model.id} takes an outputCount of ${model.outputCounts.join(', ')}, not ${count}`);
  }
  const body = {
    model: model.id,
    promptText: params.promptText,
    ratio: params.ratio,
    ...(references.length > 0
      ? { referenceImages: references.map((r) => (model.referenceTags === 'none' ? { uri: r.uri } : { uri: r.uri, tag: r.tag })) }
      : {}),
    ...(params.seed === null ? {} : { seed: params.seed }),
    ...(sendsCount ? { outputCount: count } : {}),
  };
  // The SDK's params are a union per model; the checks above are the entry's, and the entry is tied to
  // that union by type (src/models.ts) and by create-body.test.ts, which compares every key sent with
  // the model's interface in the SDK's .d.ts.
  return { ok: true, body: body as TextToImageCreateParams };
}
