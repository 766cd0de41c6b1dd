/**
 * Upscale ×2 / ×4 of a result, with Runway's Magnific precision upscaler (`imageUpscale.create`).
 * Its limits, from the pinned SDK's `image-upscale.d.ts`: each input side 300–8,000 px, and the
 * output (input × `scaleFactor` on each side) at most 25,300,000 pixels. A request that would break
 * them is refused here, before anything is uploaded or held.
 */
import type { Failure } from '../errors.ts';
import type { StoredRequest } from '../jobs/job.ts';
import { UPSCALE_MODEL } from '../runway/gateway.ts';

export type ScaleFactor = 2 | 4;
export const SCALE_FACTORS: readonly ScaleFactor[] = [2, 4];

export const UPSCALE_MIN_SIDE_PX = 300;
export const UPSCALE_MAX_SIDE_PX = 8_000;
export const UPSCALE_MAX_OUTPUT_PIXELS = 25_300_000;

/**
 * What an upscale holds when it is accepted, before Runway's `estimatedCost` replaces it. No Runway
 * price for the upscaler was at hand: a deliberately high **guess**, like the catalogue's guesses.
 */
export const UPSCALE_PRICE_CREDITS: Readonly<Record<ScaleFactor, number>> = { 2: 5, 4: 10 };

const px = (n: number): string => n.toLocaleString('en-US');

/** `upscale.too_small`: a side under Runway's 300 px. */
export function upscaleTooSmall(size: { width: number; height: number }): Failure {
  return {
    code: 'upscale.too_small',
    userMessage: `This image is ${px(size.width)}×${px(size.height)} px; Runway's upscaler needs at least ${UPSCALE_MIN_SIDE_PX} px on each side. Nothing was charged. Make it at a larger size (for example \`1920:1080\`), then upscale that.`,
  };
}

/** `upscale.too_large`: a side over 8,000 px, or an output over 25.3 MP at this factor. */
export function upscaleTooLarge(size: { width: number; height: number }, factor: ScaleFactor): Failure {
  const outWidth = size.width * factor;
  const outHeight = size.height * factor;
  const smaller = factor === 4 && size.width * size.height * 4 <= UPSCALE_MAX_OUTPUT_PIXELS ? ' Use Upscale ×2 instead: it fits.' : ' Use a smaller size of the image instead.';
  return {
    code: 'upscale.too_large',
    userMessage: `Upscaling this ${px(size.width)}×${px(size.height)} px image ×${factor} would make ${px(outWidth)}×${px(outHeight)} px, more than Runway's upscaler makes (25.3 million pixels, ${px(UPSCALE_MAX_SIDE_PX)} px a side in). Nothing was charged.${smaller}`,
  };
}

/** Null when Runway would take this image at this factor, else why not. */
export function upscaleRefusal(size: { width: number; height: number }, factor: ScaleFactor): Failure | null {
  if (size.width < UPSCALE_MIN_SIDE_PX || size.height < UPSCALE_MIN_SIDE_PX) return upscaleTooSmall(size);
  if (size.width > UPSCALE_MAX_SIDE_PX || size.height > UPSCALE_MAX_SIDE_PX) return upscaleTooLarge(size, factor);
  if (size.width * factor * size.height * factor > UPSCALE_MAX_OUTPUT_PIXELS) return upscaleTooLarge(size, factor);
  return null;
}

/**
 * The stored request of an upscale: the original's prompt (for the caption and moderation), the
 * upscaler as its model, the output size as its ratio, and one reference, the result itself (its
 * `runway://` upload is the job's only reference URI, so recovery treats it like any reference).
 */
export function upscaleRequest(original: StoredRequest, sourceJobId: string, size: { width: number; height: number }, factor: ScaleFactor): StoredRequest {
  return {
    prompt: original.prompt,
    modelId: UPSCALE_MODEL,
    ratio: `${size.width * factor}:${size.height * factor}`,
    seed: null,
    tags: ['source'],
    upscale: { scaleFactor: factor, sourceJobId },
  };
}
