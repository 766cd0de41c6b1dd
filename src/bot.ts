import { randomInt } from 'node:crypto';
import type { Clock, Timers } from './clock.ts';
import { creditsCommand } from './commands/credits-command.ts';
import { admitCommunity, type Admission, type ServedCommunities } from './communities/admission.ts';
import { quotaCommand } from './commands/quota-command.ts';
import type { CreditLedger, ReserveOutcome } from './credits/ledger.ts';
import { communityBudgetSpent, communityCapReached, insufficientCredits, operatorBudgetSpent } from './credits/messages.ts';
import { asBotError, type Failure } from './errors.ts';
import { cheaperOptions, priceOf } from './imagine/price.ts';
import { validateImagineRequest } from './imagine/request.ts';
import type { ReferenceUri, StoredRequest } from './jobs/job.ts';
import type { JobStore } from './jobs/job-store.ts';
import { uploadReferences } from './jobs/references.ts';
import type { JobRunner } from './jobs/runner.ts';
import type { Logger } from './log.ts';
import { findModel } from './models.ts';
import type { BotCore, ImagineCheck, ImagineOptionsInput, ImagineOutcome, QuotaCommand, Reply, Requester } from './ports.ts';
import type { RunwayGateway } from './runway/gateway.ts';
import { MAX_SEED } from './imagine/seed.ts';

export interface BotDependencies {
  readonly store: JobStore;
  readonly ledger: CreditLedger;
  readonly gateway: RunwayGateway;
  readonly runner: JobRunner;
  readonly clock: Clock;
  readonly log: Logger;
  /** The operator's lists of communities to serve, per platform (empty or absent: all). */
  readonly servedCommunities?: ServedCommunities;
  /** For the reference download deadline; default the global timers. */
  readonly timers?: Timers;
}

/** `runway://` URIs live 24 h; a reroll older than this must upload its references again. */
const REFERENCE_URI_LIFETIME_MS = 23 * 60 * 60 * 1000;

/** `reroll.unknown_job`: the button's job is gone, or belongs to another community. */
export const REROLL_UNKNOWN_JOB: Failure = {
  code: 'reroll.unknown_job',
  userMessage: 'That image is no longer known to the bot, so it cannot be rerolled. Run `/imagine` again.',
};

/** `reroll.references_expired`: the `runway://` URIs of the original request are past their lifetime. */
export const REROLL_REFERENCES_EXPIRED: Failure = {
  code: 'reroll.references_expired',
  userMessage: 'The reference images of this request have expired at Runway. Run `/imagine` again with the images attached.',
};

/** `recovery.references_lost`: a restart came between the chat's download and the upload to Runway. */
export const REFERENCES_LOST: Failure = {
  code: 'recovery.references_lost',
  userMessage: 'The bot restarted while your reference images were being prepared. Nothing was charged; please send the request again.',
};

/** `internal.job_moved`: the job left `queued` under us (a race with recovery); someone else handled it. */
export const JOB_MOVED: Failure = { code: 'internal.job_moved', userMessage: 'This request was already handled.' };

type ReferenceInput = { readonly kind: 'sources'; readonly sources: ImagineOptionsInput['references'] } | { readonly kind: 'uploaded'; readonly uris: readonly ReferenceUri[] };

/**
 * The core as the adapters see it (src/ports.ts BotCore). It validates, prices and accepts
 * requests; the JobRunner takes each job from there. Knows no platform.
 */
export class Bot implements BotCore {
  constructor(private readonly deps: BotDependencies) {}

  admission(platform: string, communityId: string): Admission {
    return admitCommunity(this.deps.servedCommunities ?? new Map(), (id) => this.deps.ledger.settings(id), platform, communityId);
  }

  checkImagine(requester: Requester, options: ImagineOptionsInput): ImagineCheck {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return refusal(check.failure);
    const shortfall = this.precheckBudget(requester, check.request, check.priceCredits, options.references.length);
    return shortfall ?? { ok: true };
  }

  async imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome> {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return refusal(check.failure);
    return this.accept(requester, check.request, check.priceCredits, { kind: 'sources', sources: options.references }, placeholder);
  }

  async reroll(requester: Requester, jobId: string, placeholder: string): Promise<ImagineOutcome> {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const original = this.deps.store.get(jobId);
    if (!original || original.communityId !== requester.communityId) {
      return refusal(REROLL_UNKNOWN_JOB);
    }
    const uris = original.referenceUris ?? [];
    if (uris.length > 0 && this.deps.clock.now() - original.createdAt > REFERENCE_URI_LIFETIME_MS) {
      return refusal(REROLL_REFERENCES_EXPIRED);
    }
    const model = findModel(original.request.modelId);
    const request: StoredRequest = { ...original.request, seed: model?.supportsSeed ? randomInt(0, MAX_SEED) : null };
    return this.accept(requester, request, priceOf(request), { kind: 'uploaded', uris }, placeholder);
  }

  mayDeleteResult(requester: Requester, jobId: string): boolean {
    if (this.admit(requester)) return false;
    const job = this.deps.store.get(jobId);
    if (!job || job.communityId !== requester.communityId) return requester.isModerator;
    return requester.isModerator || job.userId === requester.userId;
  }

  credits(requester: Requester, subject?: { userId: string; displayName: string }): Reply {
    const admitted = this.admit(requester);
    if (admitted) return admitted.reply;
    const result = creditsCommand(this.deps.ledger, requester, subject);
    this.logAnswer('credits', result.code, requester);
    return result.reply;
  }

  quota(requester: Requester, command: QuotaCommand): Reply {
    const admitted = this.admit(requester);
    if (admitted) return admitted.reply;
    const result = quotaCommand(this.deps.ledger, requester, command);
    this.logAnswer('quota', result.code, requester);
    return result.reply;
  }

  /** `Reply` carries no code, so the command's code goes to the log: how operators and tests tell a refusal from an answer. */
  private logAnswer(command: 'credits' | 'quota', code: string, requester: Requester): void {
    this.deps.log.debug(`${command} answered`, { code, platform: requester.platform, community: requester.communityId, user: requester.userId });
  }

  /**
   * Finish accepting jobs a crash left in `queued`: a text-only request is reserved and goes on;
   * one whose references were not all uploaded cannot be rebuilt (the chat's URLs and credentials
   * are gone) and is rejected, costing nothing.
   */
  async recoverQueued(): Promise<void> {
    for (const job of this.deps.store.inStates(['queued'])) {
      const needsReferences = job.request.tags.length > 0;
      if (needsReferences && (job.referenceUris === null || job.referenceUris.length < job.request.tags.length)) {
        this.deps.store.reject(job.id, REFERENCES_LOST);
        await this.deps.runner.tellFailureOf(job.id);
        continue;
      }
      const outcome = this.deps.store.reserve(job.id, priceOf(job.request));
      if (!outcome.ok) {
        const shortfall = outcome.reason === 'not_queued' ? null : this.shortfall(outcome, job.request, job.request.tags.length);
        if (shortfall) {
          this.deps.store.reject(job.id, shortfall);
          await this.deps.runner.tellFailureOf(job.id);
        }
      }
    }
  }

  private async accept(requester: Requester, request: StoredRequest, price: number, references: ReferenceInput, placeholder: string): Promise<ImagineOutcome> {
    const { store, gateway, runner, log } = this.deps;
    const shortfall = this.precheckBudget(requester, request, price, request.tags.length);
    if (shortfall) return shortfall;
    const jobId = store.insert({
      platform: requester.platform,
      communityId: requester.communityId,
      userId: requester.userId,
      userName: requester.displayName,
      placeholder,
      request,
    });
    try {
      const uris = references.kind === 'uploaded' ? [...references.uris] : await uploadReferences(references.sources, request.tags, gateway, this.deps.timers);
      if (uris.length > 0) store.setReferenceUris(jobId, uris);
      const outcome = store.reserve(jobId, price);
      if (!outcome.ok) {
        const failure = outcome.reason === 'not_queued' ? JOB_MOVED : this.shortfall(outcome, request, request.tags.length);
        store.reject(jobId, failure);
        return refusal(failure);
      }
      runner.wake();
      log.info('job accepted', { jobId, model: request.modelId, ratio: request.ratio, references: uris.length, reservedCredits: price });
      return { ok: true, jobId, position: runner.positionOf(jobId), reservedCredits: price };
    } catch (error) {
      const botError = asBotError(error);
      log.warn('job rejected while accepting', { jobId, code: botError.code, error: botError.message });
      store.reject(jobId, botError);
      return refusal(botError);
    }
  }

  /** The community refusal as a private reply, or null when the community is served. */
  private admit(requester: Requester): Extract<ImagineOutcome, { ok: false }> | null {
    const admission = this.admission(requester.platform, requester.communityId);
    return admission.ok ? null : refusal(admission.failure);
  }

  /**
   * A look at the balance before any download, so most shortfalls stop cheaply. It runs on every
   * request, so it reads the balance alone (crediting a due allowance) and builds the full
   * `/credits` view only to explain a shortfall. The reservation itself re-checks atomically.
   */
  private precheckBudget(requester: Requester, request: StoredRequest, price: number, referenceCount: number): Extract<ImagineOutcome, { ok: false }> | null {
    const { ledger } = this.deps;
    if (ledger.balance(requester.communityId, requester.userId, requester.displayName) >= price) return null;
    const view = ledger.creditsView(requester.communityId, requester.userId, requester.displayName);
    return refusal(
      this.shortfall(
        { ok: false, reason: 'insufficient_credits', balance: view.balance, price, resetsAt: view.resetsAt, allowance: view.allowance },
        request,
        referenceCount,
      ),
    );
  }

  /** Why the budget said no: `credits.community_cap` or `credits.insufficient`, with the numbers. */
  private shortfall(outcome: Exclude<ReserveOutcome, { ok: true }>, request: StoredRequest, referenceCount: number): Failure {
    const nowMs = this.deps.clock.now();
    if (outcome.reason === 'community_cap') {
      return communityCapReached({ capRemaining: outcome.capRemaining, price: outcome.price, resetsAt: outcome.resetsAt, nowMs });
    }
    if (outcome.reason === 'community_budget') return communityBudgetSpent({ ...outcome, nowMs });
    if (outcome.reason === 'operator_budget') return operatorBudgetSpent({ ...outcome, nowMs });
    return insufficientCredits({
      balance: outcome.balance,
      price: outcome.price,
      modelId: request.modelId,
      ratio: request.ratio,
      cheaperOptions: cheaperOptions(request, referenceCount),
      resetsAt: outcome.resetsAt,
      allowance: outcome.allowance,
      nowMs,
    });
  }
}

/** A failure as the private refusal of an /imagine. */
function refusal(failure: Failure): Extract<ImagineOutcome, { ok: false }> {
  return { ok: false, code: failure.code, reply: { visibility: 'private', text: failure.userMessage } };
}

