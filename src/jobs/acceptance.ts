/**
 * The acceptance path every new job takes (/imagine, Reroll, Upscale, Vary): moderation, the
 * organisation and budget prechecks, the atomic hold, the references, then `ready` for the runner.
 * Apart from the Bot so its facade stays a list of commands; the Bot lends it its dependencies.
 */
import type { Clock, Timers } from '../clock.ts';
import type { CreditLedger, ReserveOutcome } from '../credits/ledger.ts';
import { communityBudgetSpent, communityCapReached, insufficientCredits, operatorBudgetSpent } from '../credits/messages.ts';
import { asBotError, storedFailure, type Failure } from '../errors.ts';
import { HELD_UNTIL_RECOVERY, JOB_MOVED, refusal, tooManyInFlight } from '../imagine/acceptance-failures.ts';
import { cheaperOptions } from '../imagine/price.ts';
import type { Logger } from '../log.ts';
import type { Moderation } from '../moderation/moderation.ts';
import type { ImagineOptionsInput, ImagineOutcome, Requester } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import type { OrganizationGuard } from '../runway/organization.ts';
import type { Job, ReferenceUri, StoredRequest } from './job.ts';
import type { AcceptOutcome, AcceptRefusal, JobStore } from './job-store.ts';
import type { ReferenceStore } from './reference-store.ts';
import { uploadReferences } from './references.ts';
import type { JobRunner } from './runner.ts';
import type { StoredReference } from './transitions/set-references.ts';

/** What acceptance uses; the Bot's own dependencies (src/bot.ts) hold all of it. */
export interface AcceptanceDependencies {
  readonly store: JobStore;
  readonly ledger: CreditLedger;
  readonly gateway: RunwayGateway;
  /** Woken for each accepted job, and asked its place in line. */
  readonly runner: Pick<JobRunner, 'wake' | 'positionOf'>;
  readonly organizationGuard: OrganizationGuard;
  readonly clock: Clock;
  readonly log: Logger;
  readonly moderation: Moderation;
  readonly timers?: Timers;
  readonly maxJobsPerMember: number;
  readonly referenceStore: ReferenceStore;
}

/** Where a new job's references come from. */
export type ReferenceInput =
  | { readonly kind: 'sources'; readonly sources: ImagineOptionsInput['references'] }
  /** A reroll of a job from before the reference store: its URIs only. */
  | { readonly kind: 'uploaded'; readonly uris: readonly ReferenceUri[] }
  /** A reroll: the original's stored references (re-uploaded before the create if their upload expired). */
  | { readonly kind: 'stored'; readonly refs: readonly StoredReference[] };

/** A refusal as the adapters see it: a private reply with the failure's code. */
type Refusal = Extract<ImagineOutcome, { ok: false }>;

/** Accepts validated, priced requests as jobs, or says truthfully why not. */
export class Acceptance {
  /** Jobs this process is accepting right now: `queued` because their acceptance is under way, not stranded. */
  private readonly accepting = new Set<string>();

  constructor(private readonly deps: AcceptanceDependencies) {}

  /** Whether `jobId`'s acceptance is under way in this process (see Bot.recoverStranded). */
  isAccepting(jobId: string): boolean {
    return this.accepting.has(jobId);
  }

  /** Moderate, precheck, hold and prepare the references of one request; the job is the runner's once this says ok. */
  async accept(requester: Requester, request: StoredRequest, price: number, references: ReferenceInput, placeholder: string): Promise<ImagineOutcome> {
    const { store, log } = this.deps;
    // Blocked words and paused members stop here: before any download, hold or call to Runway.
    const moderated = await this.deps.moderation.refusal(requester.communityId, requester.userId, request.prompt);
    if (moderated) return refusal(moderated);
    const organization = await this.precheckOrganization(request, price);
    if (organization) return organization;
    const shortfall = await this.precheckBudget(requester, request, price, request.tags.length);
    if (shortfall) return shortfall;
    let accepted: AcceptOutcome;
    try {
      accepted = await store.accept(
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
    this.accepting.add(jobId);
    let referenceCount = 0;
    // Files kept for this job are pinned (never swept) until its job_references rows name them.
    const { referenceStore, clock } = this.deps;
    const pinned: string[] = references.kind === 'stored' ? references.refs.map((ref) => ref.sha256) : [];
    for (const sha of pinned) referenceStore.pin(sha);
    try {
      if (references.kind === 'uploaded') {
        referenceCount = references.uris.length;
        if (referenceCount > 0 && !(await store.setReferenceUris(jobId, references.uris))) return await this.afterLosingJob(jobId, price);
      } else {
        const refs = references.kind === 'stored' ? references.refs : await this.keepAndUpload(references.sources, request.tags, pinned, clock.now());
        referenceCount = refs.length;
        if (referenceCount > 0 && !(await store.setReferences(jobId, refs))) return await this.afterLosingJob(jobId, price);
      }
      if (!(await store.markReady(jobId))) return await this.afterLosingJob(jobId, price);
    } catch (error) {
      return await this.rejectWhileAccepting(jobId, error, price);
    } finally {
      for (const sha of pinned) referenceStore.unpin(sha);
      this.accepting.delete(jobId);
    }
    return this.queuedOutcome(jobId, request, price, referenceCount);
  }

  /**
   * Would Runway's organisation take this (its balance, the model's daily limit)? Asked first, before
   * the member's balance is read (which may credit an allowance) and before any download: a request
   * Runway would refuse costs nothing and writes nothing.
   */
  async precheckOrganization(request: StoredRequest, price: number): Promise<Refusal | null> {
    const admission = await this.deps.organizationGuard.check(request.modelId, price);
    return admission.ok ? null : refusal(admission.failure);
  }

  /**
   * A look at the balance before any download, so most shortfalls stop cheaply. It runs on every
   * request, so it reads the balance alone (crediting a due allowance) and builds the full
   * `/credits` view only to explain a shortfall. The reservation itself re-checks atomically.
   */
  async precheckBudget(requester: Requester, request: StoredRequest, price: number, referenceCount: number): Promise<Refusal | null> {
    const { ledger } = this.deps;
    if ((await ledger.balance(requester.communityId, requester.userId, requester.displayName)) >= price) return null;
    const view = await ledger.creditsView(requester.communityId, requester.userId, requester.displayName);
    return refusal(
      this.shortfall(
        { ok: false, reason: 'insufficient_credits', balance: view.balance, price, resetsAt: view.resetsAt, allowance: view.allowance },
        request,
        referenceCount,
      ),
    );
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
  private async queuedOutcome(jobId: string, request: StoredRequest, price: number, referenceCount: number): Promise<ImagineOutcome> {
    const { runner, log } = this.deps;
    try {
      runner.wake();
      log.info('job accepted', { jobId, model: request.modelId, ratio: request.ratio, references: referenceCount, reservedCredits: price });
      return { ok: true, jobId, position: await runner.positionOf(jobId), reservedCredits: price };
    } catch (error) {
      log.warn('job queued, but its queue position could not be read', { jobId, error });
      return { ok: true, jobId, position: 0, reservedCredits: price };
    }
  }

  /** A download, check or upload failed while the job held credits: reject it, refunding in the same transaction. */
  private async rejectWhileAccepting(jobId: string, error: unknown, price: number): Promise<ImagineOutcome> {
    const botError = asBotError(error);
    this.deps.log.warn('job rejected while accepting', { jobId, code: botError.code, error: botError.message });
    try {
      if (await this.deps.store.reject(jobId, botError)) return refusal(botError);
    } catch (rejectError) {
      this.deps.log.error('could not reject a job while accepting; it keeps its hold until recovery', { jobId, error: rejectError });
    }
    return this.afterLosingJob(jobId, price);
  }

  /** A transition on a job being accepted did not apply (or the database failed): tell what its row says, truthfully. */
  private async afterLosingJob(jobId: string, price: number): Promise<ImagineOutcome> {
    let job: Job | undefined;
    try {
      job = await this.deps.store.get(jobId);
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
