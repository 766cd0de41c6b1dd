import { BotError, type ErrorCode, type Failure } from '../errors.ts';
import { extensionFor } from '../media/sniff.ts';
import { findModel } from '../models.ts';
import type { ChatSurface, Delivery, OutputFile } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import { resultOffers } from '../actions/result-actions.ts';
import { deliveryCaption } from './caption.ts';
import type { JobIn } from './job.ts';
import type { JobStore } from './job-store.ts';

/** Downloads the finished images from Runway's (signed, expiring) output URLs. */
export type OutputFetcher = (url: string) => Promise<{ bytes: Uint8Array; type: OutputFile['contentType'] }>;

export interface DeliveryDependencies {
  readonly store: JobStore;
  readonly gateway: RunwayGateway;
  readonly fetchOutput: OutputFetcher;
}

/** `delivery.failed`: the image exists but could not be posted; the job is failed and refunded. */
export const UNDELIVERABLE: Failure = {
  code: 'delivery.failed',
  userMessage: 'Your image was generated but could not be posted here. You were not charged for it; please try again.',
};

/** The job stopped being ours and `succeeded` mid-delivery: whoever has it now finishes it. */
export class JobMovedOn extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} is no longer ours and succeeded`);
    this.name = 'JobMovedOn';
  }
}

/** Media errors that another attempt cannot fix: the URL's host or the bytes themselves are refused. */
const PERMANENT_MEDIA_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'media.origin_not_allowed',
  'media.private_address',
  'media.not_an_image',
  'media.too_large',
  'media.invalid_url',
]);

/** Whether a delivery error is one that retrying cannot fix. */
export function isPermanentDeliveryError(error: unknown): boolean {
  return error instanceof BotError && PERMANENT_MEDIA_CODES.has(error.code);
}

/**
 * Download a finished job's images and hand them to its platform, which replaces the placeholder
 * (idempotently). `outputUrls` is null after a restart: the old signed URLs may have expired, so
 * Runway is asked for fresh ones. Throws when anything fails (JobMovedOn when the row refuses a
 * checkpoint or the final transition); the caller decides about retries.
 */
export async function deliverOutputs(
  deps: DeliveryDependencies,
  job: JobIn<'succeeded'>,
  surface: ChatSurface,
  outputUrls: readonly string[] | null,
): Promise<number> {
  let urls = outputUrls;
  if (urls === null) {
    const outcome = await deps.gateway.getTask(job.taskId);
    if (outcome.kind !== 'task' || outcome.task.status !== 'SUCCEEDED') throw new Error(`cannot re-read finished task: ${outcome.kind}`);
    urls = outcome.task.output;
  }
  const files: OutputFile[] = [];
  for (const [index, url] of urls.entries()) {
    const image = await deps.fetchOutput(url);
    files.push({ filename: `imagine-${job.id.slice(0, 8)}-${index + 1}.${extensionFor(image.type)}`, contentType: image.type, bytes: image.bytes });
  }
  const { upscale } = job.request;
  const modelLabel = findModel(job.request.modelId)?.label ?? (upscale ? `Upscale ×${upscale.scaleFactor}` : job.request.modelId);
  const delivery: Delivery = {
    jobId: job.id,
    requester: { userId: job.userId, displayName: job.userName },
    files,
    prompt: job.request.prompt,
    model: job.request.modelId,
    modelLabel,
    ratio: job.request.ratio,
    seed: job.request.seed,
    costCredits: job.costCredits,
    caption: deliveryCaption(job.request, modelLabel, job.costCredits, job.userName),
    offers: resultOffers(job.request),
  };
  const receipt = await surface.deliver(job.placeholder, delivery, {
    load: async () => (await deps.store.get(job.id))?.deliveryCheckpoint ?? null,
    save: async (value) => {
      // Rejecting stops the adapter's next step: a job that is not ours must not be posted further.
      if (!(await deps.store.saveCheckpoint(job.id, value))) throw new JobMovedOn(job.id);
    },
  });
  if (!(await deps.store.markDelivered(job.id, receipt?.link ?? null))) throw new JobMovedOn(job.id);
  return files.length;
}
