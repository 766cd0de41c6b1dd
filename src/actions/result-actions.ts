/**
 * Actions on a result (Upscale ×2 / ×4, Vary) and on a placeholder (Cancel): issue 9, item 5.
 * Each Upscale or Vary is a new job through the same acceptance path as /imagine (the Bot's
 * `accept`: moderation, the organisation, the budget, the flood limit, the hold), priced before it
 * runs. The result's bytes are re-read from Runway (a fresh output URL: they last 24–48 h), checked,
 * and uploaded to Runway again as the new job's one reference. Buttons carry only a job id: the job
 * is read from the database on every click, so they work on old messages and after a restart.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { asBotError, BotError, type Failure } from '../errors.ts';
import { modelNotOffered } from '../imagine/model-choice.ts';
import { priceOf } from '../imagine/price.ts';
import { validateImagineRequest } from '../imagine/request.ts';
import { MAX_SEED } from '../imagine/seed.ts';
import type { Job, StoredRequest } from '../jobs/job.ts';
import type { JobStore } from '../jobs/job-store.ts';
import type { OutputFetcher } from '../jobs/delivery.ts';
import type { Logger } from '../log.ts';
import { imageDimensions } from '../media/sniff.ts';
import { findModel, isOffered } from '../models.ts';
import type { ImagineOutcome, ReferenceSource, Requester } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import type { CancelOutcome, ResultOffer, VaryDraft } from './ports.ts';
import { SCALE_FACTORS, UPSCALE_PRICE_CREDITS, upscaleRefusal, upscaleRequest, type ScaleFactor } from './upscale.ts';
import { formatCredits } from '../credits/messages.ts';

/** `actions.unknown_job`: the button's job is gone (deleted), or belongs to another community. */
export const ACTION_UNKNOWN_JOB: Failure = {
  code: 'actions.unknown_job',
  userMessage: 'That image is no longer known to the bot, so this button cannot act on it. Nothing was charged. Run `/imagine` again.',
};

/** `actions.bad_button`: a button or form id the bot did not make (tampered with, or garbage). */
export const ACTION_BAD_BUTTON: Failure = {
  code: 'actions.bad_button',
  userMessage: 'That button is not one the bot made, so it did nothing. Nothing was charged. Use the buttons under an image, or run `/imagine`.',
};

/** `actions.not_finished`: Upscale or Vary on a job that has no finished image. */
export const ACTION_NOT_FINISHED: Failure = {
  code: 'actions.not_finished',
  userMessage: 'That request has no finished image to work from. Nothing was charged. Wait for the image, or run `/imagine` again.',
};

/** `actions.result_expired`: Runway no longer serves the result (its outputs last 24–48 h). */
export const ACTION_RESULT_EXPIRED: Failure = {
  code: 'actions.result_expired',
  userMessage:
    'Runway no longer keeps this image (results last a day or two), so it cannot be upscaled or varied. Nothing was charged. Attach the image to a new `/imagine` instead.',
};

/** `actions.not_applicable`: Vary on an upscale, or on a model that takes no reference image. */
export const VARY_NOT_APPLICABLE: Failure = {
  code: 'actions.not_applicable',
  userMessage: 'This image cannot be varied: use Vary on the original image, not on an upscale. Nothing was charged.',
};

/** `cancel.not_yours`: only the requester or a moderator may cancel. */
export const CANCEL_NOT_YOURS: Failure = {
  code: 'cancel.not_yours',
  userMessage: 'Only the person who asked for this image, or a moderator, can cancel it. Nothing was changed; ask one of them if it should stop.',
};

/** `cancel.finished`: the job already ended. */
export const CANCEL_FINISHED: Failure = {
  code: 'cancel.finished',
  userMessage: 'This request has already finished, so there is nothing to cancel. Use Delete to remove a result.',
};

/** `cancel.starting`: the create call is in flight; its answer decides what there is to cancel. */
export const CANCEL_STARTING: Failure = {
  code: 'cancel.starting',
  userMessage: 'This image is being handed to Runway right now. Try Cancel again in a few seconds.',
};

/** `cancel.failed`: Runway did not take the cancellation. */
export const CANCEL_FAILED: Failure = {
  code: 'cancel.failed',
  userMessage: 'Runway did not take the cancellation just now; the image is still being made. Try Cancel again in a moment.',
};

/** `cancel.by_user`: what the placeholder of a cancelled job says (stored with the job). */
export function cancelledBy(name: string, costCredits: number): Failure {
  const cost = costCredits === 0 ? 'Nothing was charged.' : `Runway charged ${formatCredits(costCredits)} for the work done.`;
  return { code: 'cancel.by_user', userMessage: `Cancelled by ${name}. ${cost} Run \`/imagine\` again for a new picture.` };
}

/** The one private answer to every refused action. */
type Refusal = Extract<ImagineOutcome, { ok: false }>;
const refusal = (failure: Failure): Refusal => ({ ok: false, code: failure.code, reply: { visibility: 'private', text: failure.userMessage } });

type Sources = { readonly kind: 'sources'; readonly sources: readonly ReferenceSource[] };

/** What the Bot lends the actions: its admission, its cheap prechecks and its acceptance path. */
export interface ResultActionsDependencies {
  readonly store: JobStore;
  readonly gateway: Pick<RunwayGateway, 'getTask' | 'cancelTask'>;
  /** Downloads a Runway output URL (src/media/download.ts, as delivery does). */
  readonly fetchOutput: OutputFetcher;
  readonly clock: Clock;
  readonly log: Logger;
  /** Show a finished job's stored failure on its placeholder (the runner's tellFailureOf). */
  readonly tellFailureOf: (jobId: string) => Promise<void>;
  readonly admit: (requester: Requester) => Promise<Refusal | null>;
  /** The organisation and budget prechecks of src/bot.ts: null when the member could pay. */
  readonly precheck: (requester: Requester, request: StoredRequest, price: number) => Promise<Refusal | null>;
  readonly accept: (requester: Requester, request: StoredRequest, price: number, references: Sources, placeholder: string) => Promise<ImagineOutcome>;
}

const FINISHED_WITH_IMAGE = new Set<Job['state']>(['succeeded', 'delivered']);

export class ResultActions {
  constructor(private readonly deps: ResultActionsDependencies) {}

  /** Upscale ×`factor` of a result: a new job, held at the upscale's price. */
  async upscale(requester: Requester, jobId: string, factor: number, placeholder: string): Promise<ImagineOutcome> {
    const admitted = await this.deps.admit(requester);
    if (admitted) return admitted;
    const scale = SCALE_FACTORS.find((f) => f === factor);
    if (scale === undefined) return refusal(ACTION_BAD_BUTTON);
    const found = await this.finishedJob(requester, jobId);
    if (!found.ok) return found;
    const { job } = found;
    const price = UPSCALE_PRICE_CREDITS[scale];
    // A first, cheap look with a provisional request (the size is known only from the bytes).
    const provisional = upscaleRequest(job.request, job.id, { width: 1, height: 1 }, scale);
    const early = await this.deps.precheck(requester, provisional, price);
    if (early) return early;
    const result = await this.resultBytes(job);
    if (!result.ok) return result;
    const size = imageDimensions(result.bytes);
    if (!size) return refusal(ACTION_RESULT_EXPIRED);
    const tooBig = upscaleRefusal(size, scale);
    if (tooBig) return refusal(tooBig);
    const request = upscaleRequest(job.request, job.id, size, scale);
    return this.deps.accept(requester, request, price, bytesSource(result.bytes, `upscale-source-${job.id.slice(0, 8)}`), placeholder);
  }

  /** What the Vary form starts from: the prompt, and the price of a request with one reference. */
  async varyDraft(requester: Requester, jobId: string): Promise<VaryDraft> {
    const admitted = await this.deps.admit(requester);
    if (admitted) return admitted;
    const found = await this.finishedJob(requester, jobId);
    if (!found.ok) return found;
    const planned = varyPlan(found.job.request);
    return planned.ok ? { ok: true, prompt: found.job.request.prompt, priceCredits: planned.price } : refusal(planned.failure);
  }

  /** Vary: the (possibly edited) prompt, the same model and ratio, a new seed, and the result as the one reference. */
  async vary(requester: Requester, jobId: string, prompt: string, placeholder: string): Promise<ImagineOutcome> {
    const admitted = await this.deps.admit(requester);
    if (admitted) return admitted;
    const found = await this.finishedJob(requester, jobId);
    if (!found.ok) return found;
    const { job } = found;
    const planned = varyPlan(job.request);
    if (!planned.ok) return refusal(planned.failure);
    const check = validateImagineRequest({
      prompt,
      model: job.request.modelId,
      ratio: job.request.ratio,
      seed: planned.supportsSeed ? randomInt(0, MAX_SEED) : undefined,
      referenceCount: 1,
    });
    if (!check.ok) return refusal(check.failure);
    const early = await this.deps.precheck(requester, check.request, check.priceCredits);
    if (early) return early;
    const result = await this.resultBytes(job);
    if (!result.ok) return result;
    return this.deps.accept(requester, check.request, check.priceCredits, bytesSource(result.bytes, `vary-source-${job.id.slice(0, 8)}`), placeholder);
  }

  /**
   * Cancel a job in progress. Before Runway has it (queued, reserved) it is cancelled here and
   * refunded; at Runway (submitted, running) the task is cancelled with `DELETE /v1/tasks/{id}`, and
   * since Runway serves a cancelled task no more, the job is settled at once at what it reported
   * for it: nothing.
   */
  async cancel(requester: Requester, jobId: string): Promise<CancelOutcome> {
    const admitted = await this.deps.admit(requester);
    if (admitted) return admitted;
    const { store, log } = this.deps;
    const job = await store.get(jobId);
    if (!job || job.communityId !== requester.communityId) return refusal(ACTION_UNKNOWN_JOB);
    if (job.userId !== requester.userId && !requester.isModerator) return refusal(CANCEL_NOT_YOURS);
    const failure = cancelledBy(requester.displayName, 0);
    switch (job.state) {
      case 'queued':
      case 'reserved':
        if (await store.cancelWaiting(jobId, failure)) return this.cancelled(jobId, failure);
        return this.afterRace(jobId);
      case 'submitting':
        return refusal(CANCEL_STARTING);
      case 'submitted':
      case 'running': {
        const answer = await this.deps.gateway.cancelTask(job.taskId);
        if (typeof answer === 'object') {
          log.warn('runway did not take a cancellation', { jobId, error: answer.failed });
          return refusal(CANCEL_FAILED);
        }
        if (await store.markCancelled(jobId, failure, 0)) return this.cancelled(jobId, failure);
        return this.afterRace(jobId);
      }
      default:
        return refusal(CANCEL_FINISHED);
    }
  }

  private async cancelled(jobId: string, failure: Failure): Promise<CancelOutcome> {
    this.deps.log.info('job cancelled by a member', { jobId });
    await this.deps.tellFailureOf(jobId);
    return { ok: true, reply: { visibility: 'private', text: failure.userMessage } };
  }

  /** The transition found the job elsewhere: it finished, or moved to Runway, while we looked. */
  private async afterRace(jobId: string): Promise<CancelOutcome> {
    const job = await this.deps.store.get(jobId);
    return refusal(job && (job.state === 'submitting' || job.state === 'submitted' || job.state === 'running') ? CANCEL_STARTING : CANCEL_FINISHED);
  }

  /** The job behind a button, when it is this community's and has a finished image. */
  private async finishedJob(requester: Requester, jobId: string): Promise<{ ok: true; job: Extract<Job, { state: 'succeeded' | 'delivered' }> } | Refusal> {
    const job = await this.deps.store.get(jobId);
    if (!job || job.communityId !== requester.communityId) return refusal(ACTION_UNKNOWN_JOB);
    if (!FINISHED_WITH_IMAGE.has(job.state) || (job.state !== 'succeeded' && job.state !== 'delivered')) return refusal(ACTION_NOT_FINISHED);
    return { ok: true, job };
  }

  /**
   * The result's first image, from a fresh output URL (Runway re-signs them on every read). Runway
   * no longer knowing the task, or the download being refused, means the result is too old.
   */
  private async resultBytes(job: Extract<Job, { taskId: string }>): Promise<{ ok: true; bytes: Uint8Array } | Refusal> {
    const read = await this.deps.gateway.getTask(job.taskId);
    if (read.kind === 'not_found') return refusal(ACTION_RESULT_EXPIRED);
    if (read.kind !== 'task') {
      this.deps.log.warn('could not re-read a finished task for an action', { jobId: job.id, kind: read.kind });
      return refusal(asBotError(new Error(`re-read failed: ${read.kind}`)));
    }
    const url = read.task.status === 'SUCCEEDED' ? read.task.output[0] : undefined;
    if (url === undefined) return refusal(ACTION_RESULT_EXPIRED);
    try {
      return { ok: true, bytes: (await this.deps.fetchOutput(url)).bytes };
    } catch (error) {
      const code = error instanceof BotError ? error.code : null;
      this.deps.log.warn('could not download a result for an action', { jobId: job.id, code });
      if (code === 'media.http_error' || code === 'media.not_an_image') return refusal(ACTION_RESULT_EXPIRED);
      return refusal(asBotError(error));
    }
  }
}

/** Whether a result can be varied, at what price, and whether its model takes a seed. */
function varyPlan(request: StoredRequest): { ok: true; price: number; supportsSeed: boolean } | { ok: false; failure: Failure } {
  if (request.upscale) return { ok: false, failure: VARY_NOT_APPLICABLE };
  const model = findModel(request.modelId);
  if (!model || model.maxReferences < 1) return { ok: false, failure: VARY_NOT_APPLICABLE };
  if (!isOffered(model.id)) return { ok: false, failure: modelNotOffered(model) };
  return { ok: true, price: priceOf({ modelId: model.id, ratio: request.ratio, tags: ['image1'] }), supportsSeed: model.supportsSeed };
}

/** The offers under a finished result, with their prices: what the platforms turn into buttons. */
export function resultOffers(request: StoredRequest): ResultOffer[] {
  const offers: ResultOffer[] = SCALE_FACTORS.map((factor) => ({
    action: factor === 2 ? 'upscale2' : 'upscale4',
    label: `Upscale ×${factor}`,
    credits: UPSCALE_PRICE_CREDITS[factor],
  }));
  const vary = varyPlan(request);
  if (vary.ok) offers.push({ action: 'vary', label: 'Vary', credits: vary.price });
  return offers;
}

/** Bytes already in hand, as a reference source for the acceptance path (which checks and uploads them). */
function bytesSource(bytes: Uint8Array, filename: string): Sources {
  return { kind: 'sources', sources: [{ filename, declaredSizeBytes: bytes.length, download: async () => bytes }] };
}

export type { ScaleFactor };
