import { randomInt } from 'node:crypto';
import type { Clock } from './clock.ts';
import { creditsCommand } from './commands/credits-command.ts';
import { quotaCommand } from './commands/quota-command.ts';
import type { CreditLedger, ReserveOutcome } from './credits/ledger.ts';
import { communityCapMessage, insufficientCreditsMessage } from './credits/messages.ts';
import { asBotError } from './errors.ts';
import { cheaperOptions, priceOf } from './imagine/price.ts';
import { validateImagineRequest } from './imagine/request.ts';
import type { Job, JobFailure, ReferenceUri, StoredRequest } from './jobs/job.ts';
import type { AcceptOutcome, AcceptRefusal, JobStore } from './jobs/job-store.ts';
import { uploadReferences } from './jobs/references.ts';
import type { JobRunner } from './jobs/runner.ts';
import type { Logger } from './log.ts';
import { findModel } from './models.ts';
import type { BotCore, ImagineOptionsInput, ImagineOutcome, QuotaCommand, Reply, Requester } from './ports.ts';
import type { RunwayGateway } from './runway/gateway.ts';
import { MAX_SEED } from './imagine/seed.ts';

export interface BotDependencies {
  readonly store: JobStore;
  readonly ledger: CreditLedger;
  readonly gateway: RunwayGateway;
  readonly runner: JobRunner;
  readonly clock: Clock;
  readonly log: Logger;
  /** Unfinished jobs one member may have at once: more are refused before anything is held or downloaded. */
  readonly maxJobsPerMember: number;
}

/** Flood control when the operator sets nothing: two images in progress per member. */
export const DEFAULT_MAX_JOBS_PER_MEMBER = 2;

const REFERENCES_LOST: JobFailure = {
  code: 'recovery.references_lost',
  userMessage: 'The bot restarted while your reference images were being prepared. Nothing was charged; please send the request again.',
};

/** A job accepted by a version that held nothing at acceptance: it cannot go on without a hold. */
const NOT_HELD: JobFailure = {
  code: 'recovery.not_reserved',
  userMessage: 'The bot was updated while your request was being prepared. Nothing was charged; please send the request again.',
};

/** The hold stays, truthfully: a restart's recovery either runs the job or refunds it. */
const HELD_UNTIL_RECOVERY: JobFailure = {
  code: 'internal.accept_interrupted',
  userMessage:
    'Something went wrong on our side while preparing your request. Its credits stay on hold until the bot restarts, which then either makes the image or refunds them.',
};

/** `runway://` URIs live 24 h; a reroll older than this must upload its references again. */
const REFERENCE_URI_LIFETIME_MS = 23 * 60 * 60 * 1000;

type ReferenceInput = { readonly kind: 'sources'; readonly sources: ImagineOptionsInput['references'] } | { readonly kind: 'uploaded'; readonly uris: readonly ReferenceUri[] };

/**
 * The core as the adapters see it (src/ports.ts BotCore). It validates, prices and accepts
 * requests; the JobRunner takes each job from there. Knows no platform.
 */
export class Bot implements BotCore {
  constructor(private readonly deps: BotDependencies) {}

  checkImagine(requester: Requester, options: ImagineOptionsInput): { ok: true } | { ok: false; code: string; reply: Reply } {
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return { ok: false, code: check.problem.code, reply: { visibility: 'private', text: check.problem.userMessage } };
    // A cheap look, so a flood is refused before the placeholder; acceptance counts again atomically.
    const inFlight = this.deps.store.inFlightOf(requester.communityId, requester.userId);
    if (inFlight >= this.deps.maxJobsPerMember) {
      const reply = this.refusalReply({ ok: false, reason: 'too_many_jobs', inFlight, limit: this.deps.maxJobsPerMember }, check.request, options.references.length);
      return { ok: false, code: reply.code, reply: reply.reply };
    }
    const shortfall = this.precheckBudget(requester, check.request, check.priceCredits, options.references.length);
    return shortfall ?? { ok: true };
  }

  async imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome> {
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return { ok: false, code: check.problem.code, reply: { visibility: 'private', text: check.problem.userMessage } };
    return this.accept(requester, check.request, check.priceCredits, { kind: 'sources', sources: options.references }, placeholder);
  }

  async reroll(requester: Requester, jobId: string, placeholder: string): Promise<ImagineOutcome> {
    const original = this.deps.store.get(jobId);
    if (!original || original.communityId !== requester.communityId) {
      return refusal('reroll.unknown_job', 'That image is no longer known to the bot, so it cannot be rerolled. Run `/imagine` again.');
    }
    const uris = original.referenceUris ?? [];
    if (uris.length > 0 && this.deps.clock.now() - original.createdAt > REFERENCE_URI_LIFETIME_MS) {
      return refusal('reroll.references_expired', 'The reference images of this request have expired at Runway. Run `/imagine` again with the images attached.');
    }
    const model = findModel(original.request.modelId);
    const request: StoredRequest = { ...original.request, seed: model?.supportsSeed ? randomInt(0, MAX_SEED) : null };
    return this.accept(requester, request, priceOf(request), { kind: 'uploaded', uris }, placeholder);
  }

  mayDeleteResult(requester: Requester, jobId: string): boolean {
    const job = this.deps.store.get(jobId);
    if (!job || job.communityId !== requester.communityId) return requester.isModerator;
    return requester.isModerator || job.userId === requester.userId;
  }

  credits(requester: Requester, subject?: { userId: string; displayName: string }): Reply {
    return creditsCommand(this.deps.ledger, requester, subject).reply;
  }

  quota(requester: Requester, command: QuotaCommand): Reply {
    return quotaCommand(this.deps.ledger, requester, command).reply;
  }

  /**
   * Finish accepting the `queued` jobs recovery took over (`jobIds`, from src/app.ts): a text-only
   * request goes on with the hold it already has; one whose references were not all uploaded cannot
   * be rebuilt (the chat's URLs and credentials are gone) and is rejected, its hold refunded.
   */
  async recoverQueued(jobIds: readonly string[]): Promise<void> {
    const { store, runner, log } = this.deps;
    for (const jobId of jobIds) {
      const job = store.get(jobId);
      if (!job || job.state !== 'queued') continue;
      const referencesLost = job.request.tags.length > 0 && (job.referenceUris === null || job.referenceUris.length < job.request.tags.length);
      const failure = job.reservedCredits === null ? NOT_HELD : referencesLost ? REFERENCES_LOST : null;
      if (failure) {
        if (store.reject(jobId, failure)) await runner.tellFailureOf(jobId);
        else log.warn('a recovered job could not be rejected: it moved on', { jobId });
        continue;
      }
      if (!store.markReady(jobId)) log.warn('a recovered job could not be made ready: it moved on', { jobId });
    }
  }

  /**
   * Accept a request: one transaction inserts the job and holds its price (or refuses, writing
   * nothing), then the references are downloaded and uploaded while the job is `queued`, then it
   * is ready for the runner. Once the hold exists, every way out either refunds it through a
   * guarded transition (and only then says nothing was charged) or leaves the job to the runner.
   */
  private async accept(requester: Requester, request: StoredRequest, price: number, references: ReferenceInput, placeholder: string): Promise<ImagineOutcome> {
    const { store, gateway, log } = this.deps;
    const shortfall = this.precheckBudget(requester, request, price, request.tags.length);
    if (shortfall) return shortfall;
    let accepted: AcceptOutcome;
    try {
      accepted = store.accept(
        { platform: requester.platform, communityId: requester.communityId, userId: requester.userId, userName: requester.displayName, placeholder, request },
        price,
        this.deps.maxJobsPerMember,
      );
    } catch (error) {
      // The acceptance is one transaction: when it throws, nothing was written or held.
      const botError = asBotError(error);
      log.error('could not accept a job', { code: botError.code, error });
      return refusal(botError.code, botError.userMessage);
    }
    if (!accepted.ok) {
      const reply = this.refusalReply(accepted, request, request.tags.length);
      return { ok: false, code: reply.code, reply: reply.reply };
    }
    const { jobId } = accepted;
    let referenceCount = 0;
    try {
      const uris = references.kind === 'uploaded' ? [...references.uris] : await uploadReferences(references.sources, request.tags, gateway);
      referenceCount = uris.length;
      if (uris.length > 0 && !store.setReferenceUris(jobId, uris)) return this.afterLosingJob(jobId, price);
      if (!store.markReady(jobId)) return this.afterLosingJob(jobId, price);
    } catch (error) {
      return this.rejectWhileAccepting(jobId, error, price);
    }
    return this.queuedOutcome(jobId, request, price, referenceCount);
  }

  /** The job is the runner's now: nothing here may reject it or say it was not charged. */
  private queuedOutcome(jobId: string, request: StoredRequest, price: number, referenceCount: number): ImagineOutcome {
    const { runner, log } = this.deps;
    try {
      runner.wake();
      log.info('job accepted', { jobId, model: request.modelId, ratio: request.ratio, references: referenceCount, reservedCredits: price });
      return { ok: true, jobId, position: runner.positionOf(jobId), reservedCredits: price };
    } catch (error) {
      log.warn('job queued, but its queue position could not be read', { jobId, error });
      return { ok: true, jobId, position: 0, reservedCredits: price };
    }
  }

  /** A download, check or upload failed while the job held credits: reject it, refunding in the same transaction. */
  private rejectWhileAccepting(jobId: string, error: unknown, price: number): ImagineOutcome {
    const botError = asBotError(error);
    this.deps.log.warn('job rejected while accepting', { jobId, code: botError.code, error: botError.message });
    try {
      if (this.deps.store.reject(jobId, { code: botError.code, userMessage: botError.userMessage })) return refusal(botError.code, botError.userMessage);
    } catch (rejectError) {
      this.deps.log.error('could not reject a job while accepting; it keeps its hold until recovery', { jobId, error: rejectError });
    }
    return this.afterLosingJob(jobId, price);
  }

  /** A transition on a job being accepted did not apply (or the database failed): tell what its row says, truthfully. */
  private afterLosingJob(jobId: string, price: number): ImagineOutcome {
    let job: Job | undefined;
    try {
      job = this.deps.store.get(jobId);
    } catch (error) {
      this.deps.log.error('could not read a job being accepted', { jobId, error });
    }
    if (!job || job.state === 'queued') return refusal(HELD_UNTIL_RECOVERY.code, HELD_UNTIL_RECOVERY.userMessage);
    // Its refund, if any, was part of the transition that finished it.
    if (job.state === 'rejected' || job.state === 'failed' || job.state === 'cancelled') {
      return refusal(job.failureCode ?? 'internal.job_moved', job.failureMessage ?? 'This request was already handled.');
    }
    return { ok: true, jobId, position: 0, reservedCredits: price };
  }

  /**
   * A look at the balance before any download, so most shortfalls stop cheaply. It runs on every
   * request, so it reads the balance alone (crediting a due allowance) and builds the full
   * `/credits` view only to explain a shortfall. The reservation itself re-checks atomically.
   */
  private precheckBudget(requester: Requester, request: StoredRequest, price: number, referenceCount: number): { ok: false; code: string; reply: Reply } | null {
    const { ledger } = this.deps;
    if (ledger.balance(requester.communityId, requester.userId, requester.displayName) >= price) return null;
    const view = ledger.creditsView(requester.communityId, requester.userId, requester.displayName);
    const reply = this.shortfallReply(
      { ok: false, reason: 'insufficient_credits', balance: view.balance, price, resetsAt: view.resetsAt, allowance: view.allowance },
      request,
      referenceCount,
    );
    return { ok: false, code: reply.code, reply: reply.reply };
  }

  private refusalReply(outcome: AcceptRefusal, request: StoredRequest, referenceCount: number): { code: string; reply: Reply } {
    if (outcome.reason === 'too_many_jobs') {
      const images = outcome.inFlight === 1 ? 'image' : 'images';
      return {
        code: 'jobs.too_many_in_flight',
        reply: {
          visibility: 'private',
          text: `You already have ${outcome.inFlight} ${images} in progress, the most one member may have at once (${outcome.limit}). Wait for one to finish, then try again. Nothing was charged.`,
        },
      };
    }
    return this.shortfallReply(outcome, request, referenceCount);
  }

  private shortfallReply(outcome: Exclude<ReserveOutcome, { ok: true }>, request: StoredRequest, referenceCount: number): { code: string; reply: Reply } {
    const nowMs = this.deps.clock.now();
    if (outcome.reason === 'community_cap') {
      return {
        code: 'credits.community_cap',
        reply: { visibility: 'private', text: communityCapMessage({ capRemaining: outcome.capRemaining, price: outcome.price, resetsAt: outcome.resetsAt, nowMs }) },
      };
    }
    return {
      code: 'credits.insufficient',
      reply: {
        visibility: 'private',
        text: insufficientCreditsMessage({
          balance: outcome.balance,
          price: outcome.price,
          modelId: request.modelId,
          ratio: request.ratio,
          cheaperOptions: cheaperOptions(request, referenceCount),
          resetsAt: outcome.resetsAt,
          allowance: outcome.allowance,
          nowMs,
        }),
      },
    };
  }
}

function refusal(code: string, text: string): ImagineOutcome {
  return { ok: false, code, reply: { visibility: 'private', text } };
}

