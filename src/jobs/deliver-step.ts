/**
 * Handing a finished job's images to its platform, with the retries and the final refund when
 * they cannot be. Apart from the runner, which only decides when this runs.
 */
import type { Clock } from '../clock.ts';
import { BotError, type Failure } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ChatSurface, JobStatusView } from '../ports.ts';
import { deliverOutputs, isPermanentDeliveryError, JobMovedOn, UNDELIVERABLE, type DeliveryDependencies } from './delivery.ts';

/** Delivery attempts before a finished image is declared lost (and refunded). */
const MAX_DELIVERY_ATTEMPTS = 8;

/** What a delivery needs from the runner: the download's dependencies, the retry pace, and its own ways to show and fail a job. */
export interface DeliverStepContext extends DeliveryDependencies {
  readonly clock: Clock;
  readonly log: Logger;
  /** The backoff between attempts grows from twice this. */
  readonly pollIntervalMs: number;
  readonly surfaceFor: (platform: string) => ChatSurface | undefined;
  /** Starts the placeholder edit (resolves once started; never rejects). */
  readonly showStatus: (jobId: string, status: JobStatusView, force?: boolean) => Promise<void>;
  /** The placeholder's status is done with: no more edits for this job. */
  readonly forgetStatus: (jobId: string) => void;
  /** Refund and tell the user, once. */
  readonly fail: (jobId: string, failure: Failure) => Promise<void>;
}

/** Download the images at once (their URLs expire) and hand them to the platform; retry with backoff. */
export async function deliverFinished(context: DeliverStepContext, jobId: string, outputUrls: readonly string[] | null): Promise<void> {
  const { store, log, clock } = context;
  const job = await store.get(jobId);
  if (!job || job.state !== 'succeeded') return;
  const surface = context.surfaceFor(job.platform);
  if (!surface) return; // left due: the runner's workOn() logs it, and a run with the platform configured delivers it
  try {
    await context.showStatus(jobId, { kind: 'delivering' }, true);
    const files = await deliverOutputs(context, job, surface, outputUrls);
    context.forgetStatus(jobId);
    log.info('delivered', { jobId, files });
  } catch (error) {
    if (error instanceof JobMovedOn) {
      log.warn('delivery stopped: the job is no longer ours and succeeded', { jobId });
      return;
    }
    const attempts = job.attempts + 1;
    if (attempts >= MAX_DELIVERY_ATTEMPTS || isPermanentDeliveryError(error)) {
      log.error('delivery failed for good; refunding', { jobId, attempts, error });
      await context.fail(jobId, UNDELIVERABLE);
      return;
    }
    const backoffMs = Math.min(context.pollIntervalMs * 2 ** attempts, 300_000);
    if (await store.deferDelivery(jobId, clock.now() + backoffMs)) {
      log.warn('delivery failed; will retry', { jobId, attempts, backoffMs, error: error instanceof BotError ? error.code : error });
    }
  }
}
