import { randomInt } from 'node:crypto';
import type { Clock, Timers } from './clock.ts';
import { creditsCommand } from './commands/credits-command.ts';
import { admitCommunity, type Admission, type ServedCommunities } from './communities/admission.ts';
import { moderationCommand, strikesSummary } from './commands/moderation-command.ts';
import { quotaCommand } from './commands/quota-command.ts';
import type { CreditLedger, ReserveOutcome } from './credits/ledger.ts';
import { communityBudgetSpent, communityCapReached, insufficientCredits, operatorBudgetSpent } from './credits/messages.ts';
import { asBotError, storedFailure, type Failure } from './errors.ts';
import { modelNotOffered } from './imagine/model-choice.ts';
import { cheaperOptions, priceOf } from './imagine/price.ts';
import { validateImagineRequest } from './imagine/request.ts';
import type { Job, ReferenceUri, StoredRequest } from './jobs/job.ts';
import type { AcceptOutcome, AcceptRefusal, JobStore } from './jobs/job-store.ts';
import { REFERENCE_STORE_FULL, type ReferenceStore } from './jobs/reference-store.ts';
import { hasStaleUpload, REFERENCE_UPLOAD_LIFETIME_MS, uploadReferences } from './jobs/references.ts';
import type { StoredReference } from './jobs/transitions/set-references.ts';
import type { JobRunner } from './jobs/runner.ts';
import type { Logger } from './log.ts';
import type { Moderation } from './moderation/moderation.ts';
import { findModel, isOffered } from './models.ts';
import type { BotCore, HistoryOutcome, ImagineCheck, ImagineOptionsInput, ImagineOutcome, QuotaCommand, Reply, Requester } from './ports.ts';
import type { RunwayGateway } from './runway/gateway.ts';
import type { OrganizationGuard } from './runway/organization.ts';
import { MAX_SEED } from './imagine/seed.ts';
import { ResultActions, VARY_NOT_APPLICABLE } from './actions/result-actions.ts';
import type { CancelOutcome, VaryDraft } from './actions/ports.ts';
import type { OutputFetcher } from './jobs/delivery.ts';

export interface BotDependencies {
  readonly store: JobStore;
  readonly ledger: CreditLedger;
  readonly gateway: RunwayGateway;
  readonly runner: JobRunner;
  /** Would Runway's organisation take a request (its balance, the model's daily limit)? Asked before anything is spent. */
  readonly organizationGuard: OrganizationGuard;
  readonly clock: Clock;
  readonly log: Logger;
  readonly moderation: Moderation;
  /** The operator's lists of communities to serve, per platform (empty or absent: all). */
  readonly servedCommunities?: ServedCommunities;
  /** For the reference download deadline; default the global timers. */
  readonly timers?: Timers;
  /** Unfinished jobs one member may have at once: more are refused before anything is held or downloaded. */
  readonly maxJobsPerMember: number;
  /** The bot's copy of reference images, so uploads can be made again after Runway's expire. */
  readonly referenceStore: ReferenceStore;
  /** Downloads a Runway output URL: how Upscale and Vary get a result's bytes (src/actions/). */
  readonly fetchOutput: OutputFetcher;
}

/** How many results /history lists. */
export const HISTORY_LIMIT = 10;

/** Flood control when the operator sets nothing: two images in progress per member. */
export const DEFAULT_MAX_JOBS_PER_MEMBER = 2;


/** `reroll.unknown_job`: the button's job is gone, or belongs to another community. */
export const REROLL_UNKNOWN_JOB: Failure = {
  code: 'reroll.unknown_job',
  userMessage: 'That image is no longer known to the bot, so it cannot be rerolled. Run `/imagine` again.',
};

/** `reroll.references_expired`: the original's uploads expired at Runway and the bot no longer keeps their bytes. */
export const REROLL_REFERENCES_EXPIRED: Failure = {
  code: 'reroll.references_expired',
  userMessage: 'The reference images of this request have expired at Runway and the bot no longer keeps them. Run `/imagine` again with the images attached.',
};

/** `recovery.references_lost`: a restart came between the chat's download and the upload to Runway. */
export const REFERENCES_LOST: Failure = {
  code: 'recovery.references_lost',
  userMessage: 'The bot restarted while your reference images were being prepared. Nothing was charged; please send the request again.',
};

/** `internal.job_moved`: the job left `queued` under us (a race with recovery); someone else handled it. */
export const JOB_MOVED: Failure = { code: 'internal.job_moved', userMessage: 'This request was already handled.' };

/** `recovery.not_reserved`: a job accepted by a version that held nothing at acceptance cannot go on without a hold. */
export const NOT_HELD: Failure = {
  code: 'recovery.not_reserved',
  userMessage: 'The bot was updated while your request was being prepared. Nothing was charged; please send the request again.',
};

/** `internal.accept_interrupted`: the hold stays, truthfully: a restart's recovery either runs the job or refunds it. */
export const HELD_UNTIL_RECOVERY: Failure = {
  code: 'internal.accept_interrupted',
  userMessage:
    'Something went wrong on our side while preparing your request. Its credits stay on hold until the bot restarts, which then either makes the image or refunds them; `/credits` shows them as held until then.',
};

/** `jobs.too_many_in_flight`: the member already has the most images in progress that one member may have. */
export function tooManyInFlight(inFlight: number, limit: number): Failure {
  const images = inFlight === 1 ? 'image' : 'images';
  return {
    code: 'jobs.too_many_in_flight',
    userMessage: `You already have ${inFlight} ${images} in progress, the most one member may have at once (${limit}). Wait for one to finish, then try again. Nothing was charged.`,
  };
}

type ReferenceInput =
  | { readonly kind: 'sources'; readonly sources: ImagineOptionsInput['references'] }
  /** A reroll of a job from before the reference store: its URIs only. */
  | { readonly kind: 'uploaded'; readonly uris: readonly ReferenceUri[] }
  /** A reroll: the original's stored references (re-uploaded before the create if their upload expired). */
  | { readonly kind: 'stored'; readonly refs: readonly StoredReference[] };

/**
 * The core as the adapters see it (src/ports.ts BotCore). It validates, prices and accepts
 * requests; the JobRunner takes each job from there. Knows no platform.
 */
export class Bot implements BotCore {
  /** Upscale, Vary and Cancel (src/actions/): through this class's admission and acceptance. */
  private readonly actions: ResultActions;

  constructor(private readonly deps: BotDependencies) {
    this.actions = new ResultActions({
      store: deps.store,
      gateway: deps.gateway,
      fetchOutput: deps.fetchOutput,
      clock: deps.clock,
      log: deps.log,
      tellFailureOf: (jobId) => deps.runner.tellFailureOf(jobId),
      admit: (requester) => this.admit(requester),
      precheck: (requester, request, price) => this.precheckOrganization(request, price) ?? this.precheckBudget(requester, request, price, request.tags.length),
      accept: (requester, request, price, references, placeholder) => this.accept(requester, request, price, references, placeholder),
    });
  }

  upscale(requester: Requester, jobId: string, factor: number, placeholder: string): Promise<ImagineOutcome> {
    return this.actions.upscale(requester, jobId, factor, placeholder);
  }

  varyDraft(requester: Requester, jobId: string): VaryDraft {
    return this.actions.varyDraft(requester, jobId);
  }

  vary(requester: Requester, jobId: string, prompt: string, placeholder: string): Promise<ImagineOutcome> {
    return this.actions.vary(requester, jobId, prompt, placeholder);
  }

  cancel(requester: Requester, jobId: string): Promise<CancelOutcome> {
    return this.actions.cancel(requester, jobId);
  }

  admission(platform: string, communityId: string): Admission {
    return admitCommunity(this.deps.servedCommunities ?? new Map(), (id) => this.deps.ledger.settings(id), platform, communityId);
  }

  checkImagine(requester: Requester, options: ImagineOptionsInput): ImagineCheck {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return refusal(check.failure);
    const moderated = this.deps.moderation.refusal(requester.communityId, requester.userId, check.request.prompt);
    if (moderated) return refusal(moderated);
    if (options.references.length > 0 && this.deps.referenceStore.isFull()) return refusal(REFERENCE_STORE_FULL);
    // A cheap look, so a flood is refused before the placeholder; acceptance counts again atomically.
    const inFlight = this.deps.store.inFlightOf(requester.communityId, requester.userId);
    if (inFlight >= this.deps.maxJobsPerMember) return refusal(tooManyInFlight(inFlight, this.deps.maxJobsPerMember));
    const organization = this.precheckOrganization(check.request, check.priceCredits);
    if (organization) return organization;
    const shortfall = this.precheckBudget(requester, check.request, check.priceCredits, options.references.length);
    return shortfall ?? { ok: true };
  }

  async imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome> {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return refusal(check.failure);
    if (options.references.length > 0 && this.deps.referenceStore.isFull()) return refusal(REFERENCE_STORE_FULL);
    return this.accept(requester, check.request, check.priceCredits, { kind: 'sources', sources: options.references }, placeholder);
  }

  async reroll(requester: Requester, jobId: string, placeholder: string): Promise<ImagineOutcome> {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const original = this.deps.store.get(jobId);
    if (!original || original.communityId !== requester.communityId) {
      return refusal(REROLL_UNKNOWN_JOB);
    }
    if (original.request.upscale) return refusal(VARY_NOT_APPLICABLE);
    const now = this.deps.clock.now();
    const stored = this.deps.store.referencesOf(original.id);
    const uris = original.referenceUris ?? [];
    let references: ReferenceInput;
    if (stored.length > 0) {
      // Uploads Runway has forgotten are made again from the bot's copy, before the create; only missing bytes refuse.
      const { referenceStore } = this.deps;
      if (hasStaleUpload(stored, now) && stored.some((ref) => !referenceStore.has(ref.sha256))) return refusal(REROLL_REFERENCES_EXPIRED);
      references = { kind: 'stored', refs: stored };
    } else {
      // A job from before the store: its URIs are all there is.
      if (uris.length > 0 && now - original.createdAt > REFERENCE_UPLOAD_LIFETIME_MS) return refusal(REROLL_REFERENCES_EXPIRED);
      references = { kind: 'uploaded', uris };
    }
    const model = findModel(original.request.modelId);
    if (model && !isOffered(model.id)) return refusal(modelNotOffered(model));
    const request: StoredRequest = { ...original.request, seed: model?.supportsSeed ? randomInt(0, MAX_SEED) : null };
    return this.accept(requester, request, priceOf(request), references, placeholder);
  }

  history(requester: Requester): HistoryOutcome {
    const admitted = this.admit(requester);
    if (admitted) return admitted;
    const entries = this.deps.store.deliveredOf(requester.communityId, requester.userId, HISTORY_LIMIT).map((job) => ({
      jobId: job.id,
      prompt: job.request.prompt,
      modelId: job.request.modelId,
      modelLabel: findModel(job.request.modelId)?.label ?? job.request.modelId,
      costCredits: job.costCredits,
      images: job.request.count ?? 1,
      deliveredAt: job.deliveredAt ?? job.createdAt,
      link: job.resultLink,
    }));
    return { ok: true, entries };
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
    if (command.action === 'pardon' || command.action === 'block-words') {
      const answer = moderationCommand(this.deps.moderation, requester, command);
      this.logAnswer('quota', answer.code, requester);
      return answer.reply;
    }
    const result = quotaCommand(this.deps.ledger, requester, command);
    this.logAnswer('quota', result.code, requester);
    if (result.code !== 'quota.report') return result.reply;
    return { ...result.reply, text: `${result.reply.text}
${strikesSummary(this.deps.moderation, requester.communityId)}` };
  }

  /** `Reply` carries no code, so the command's code goes to the log: how operators and tests tell a refusal from an answer. */
  private logAnswer(command: 'credits' | 'quota', code: string, requester: Requester): void {
    this.deps.log.debug(`${command} answered`, { code, platform: requester.platform, community: requester.communityId, user: requester.userId });
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

  private async accept(requester: Requester, request: StoredRequest, price: number, references: ReferenceInput, placeholder: string): Promise<ImagineOutcome> {
    const { store, log } = this.deps;
    // Blocked words and paused members stop here: before any download, hold or call to Runway.
    const moderated = this.deps.moderation.refusal(requester.communityId, requester.userId, request.prompt);
    if (moderated) return refusal(moderated);
    const organization = this.precheckOrganization(request, price);
    if (organization) return organization;
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
      return refusal(botError);
    }
    if (!accepted.ok) return refusal(this.acceptRefusal(accepted, request, request.tags.length));
    const { jobId } = accepted;
    let referenceCount = 0;
    // Files kept for this job are pinned (never swept) until its job_references rows name them.
    const { referenceStore, clock } = this.deps;
    const pinned: string[] = references.kind === 'stored' ? references.refs.map((ref) => ref.sha256) : [];
    for (const sha of pinned) referenceStore.pin(sha);
    try {
      if (references.kind === 'uploaded') {
        referenceCount = references.uris.length;
        if (referenceCount > 0 && !store.setReferenceUris(jobId, references.uris)) return this.afterLosingJob(jobId, price);
      } else {
        const refs = references.kind === 'stored' ? references.refs : await this.keepAndUpload(references.sources, request.tags, pinned, clock.now());
        referenceCount = refs.length;
        if (referenceCount > 0 && !store.setReferences(jobId, refs)) return this.afterLosingJob(jobId, price);
      }
      if (!store.markReady(jobId)) return this.afterLosingJob(jobId, price);
    } catch (error) {
      return this.rejectWhileAccepting(jobId, error, price);
    } finally {
      for (const sha of pinned) referenceStore.unpin(sha);
    }
    return this.queuedOutcome(jobId, request, price, referenceCount);
  }

  /** Download and check the chat's images, keep their bytes in the store (pinned), and upload them to Runway. */
  private async keepAndUpload(sources: ImagineOptionsInput['references'], tags: readonly string[], pinned: string[], startedAt: number): Promise<StoredReference[]> {
    const keep = (bytes: Uint8Array): string => {
      const sha = this.deps.referenceStore.put(bytes);
      pinned.push(sha);
      return sha;
    };
    const uploaded = await uploadReferences(sources, tags, this.deps.gateway, this.deps.timers, keep);
    return uploaded.map((ref, position) => {
      if (ref.sha256 === undefined) throw new Error('a reference was uploaded without being kept');
      // The time before the upload: an upload is never taken as younger than it is.
      return { position, tag: ref.tag, sha256: ref.sha256, uri: ref.uri, uploadedAt: startedAt };
    });
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
      if (this.deps.store.reject(jobId, botError)) return refusal(botError);
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
    if (!job || job.state === 'queued') return refusal(HELD_UNTIL_RECOVERY);
    // Its refund, if any, was part of the transition that finished it.
    if (job.state === 'rejected' || job.state === 'failed' || job.state === 'cancelled') {
      return refusal(job.failureCode === null ? JOB_MOVED : storedFailure(job.failureCode, job.failureMessage));
    }
    return { ok: true, jobId, position: 0, reservedCredits: price };
  }

  /** The community refusal as a private reply, or null when the community is served. */
  private admit(requester: Requester): Extract<ImagineOutcome, { ok: false }> | null {
    const admission = this.admission(requester.platform, requester.communityId);
    return admission.ok ? null : refusal(admission.failure);
  }

  /**
   * Would Runway's organisation take this (its balance, the model's daily limit)? Asked first, before
   * the member's balance is read (which may credit an allowance) and before any download: a request
   * Runway would refuse costs nothing and writes nothing.
   */
  private precheckOrganization(request: StoredRequest, price: number): Extract<ImagineOutcome, { ok: false }> | null {
    const admission = this.deps.organizationGuard.check(request.modelId, price);
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

  /** Why acceptance said no: the member's flood limit, or the budget. */
  private acceptRefusal(outcome: AcceptRefusal, request: StoredRequest, referenceCount: number): Failure {
    if (outcome.reason === 'too_many_jobs') return tooManyInFlight(outcome.inFlight, outcome.limit);
    return this.shortfall(outcome, request, referenceCount);
  }

  /** Why the budget said no, with the numbers: the member's balance, the community's cap or budget, the operator's budget. */
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

