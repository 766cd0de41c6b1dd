/**
 * The create call a job needs, by its kind: an upscale (its request carries `upscale`) goes to
 * `imageUpscale.create`, everything else to `textToImage.create`. The runner's submit path calls this.
 */
import type { Job, ReferenceUri } from '../jobs/job.ts';
import type { CreateOutcome, RunwayGateway } from '../runway/gateway.ts';

/** Create the job's task at Runway with `referenceImages` (its references, uploaded again if theirs expired). */
export function createTaskFor(
  gateway: Pick<RunwayGateway, 'createTextToImage' | 'createUpscale'>,
  job: Job,
  referenceImages: readonly ReferenceUri[],
): Promise<CreateOutcome> {
  const { upscale } = job.request;
  if (upscale) {
    const source = referenceImages[0];
    // Recovery rejects a job whose references were lost; this is only a guard: no task, no cost.
    if (!source) return Promise.resolve({ kind: 'rejected', status: 400, message: 'not sent: an upscale without its uploaded image' });
    return gateway.createUpscale({ imageUri: source.uri, scaleFactor: upscale.scaleFactor });
  }
  return gateway.createTextToImage({
    model: job.request.modelId,
    promptText: job.request.prompt,
    ratio: job.request.ratio,
    referenceImages,
    seed: job.request.seed,
    outputCount: job.request.count,
  });
}
