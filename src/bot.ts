import { randomInt } from 'node:crypto';
import type { Clock, Timers } from './clock.ts';
import { creditsCommand } from './commands/credits-command.ts';
import { admitCommunity, type Admission, type ServedCommunities } from './communities/admission.ts';
import { moderationCommand, strikesSummary } from './commands/moderation-command.ts';
import { quotaCommand } from './commands/quota-command.ts';
import type { CreditLedger } from './credits/ledger.ts';
import { NOT_HELD, REFERENCES_LOST, REROLL_REFERENCES_EXPIRED, REROLL_UNKNOWN_JOB, refusal, tooManyInFlight } from './imagine/acceptance-failures.ts';
import { modelNotOffered } from './imagine/model-choice.ts';
import { priceOf } from './imagine/price.ts';
import { validateImagineRequest } from './imagine/request.ts';
import { Acceptance, type ReferenceInput } from './jobs/acceptance.ts';
import type { StoredRequest } from './jobs/job.ts';
import type { JobStore } from './jobs/job-store.ts';
import { REFERENCE_STORE_FULL, type ReferenceStore } from './jobs/reference-store.ts';
import { hasStaleUpload, REFERENCE_UPLOAD_LIFETIME_MS } from './jobs/references.ts';
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

/**
 * The core as the adapters see it (src/ports.ts BotCore). It validates, prices and accepts
 * requests; the JobRunner takes each job from there. Knows no platform.
 */
export class Bot implements BotCore {
  /** Upscale, Vary and Cancel (src/actions/): through this class's admission and acceptance. */
  private readonly actions: ResultActions;

  /** The path every new job takes: moderation, prechecks, the hold, the references. */
  private readonly acceptance: Acceptance;

  constructor(private readonly deps: BotDependencies) {
    this.acceptance = new Acceptance(deps);
    this.actions = new ResultActions({
      store: deps.store,
      gateway: deps.gateway,
      fetchOutput: deps.fetchOutput,
      clock: deps.clock,
      log: deps.log,
      tellFailureOf: (jobId) => deps.runner.tellFailureOf(jobId),
      admit: (requester) => this.admit(requester),
      precheck: async (requester, request, price) =>
        (await this.acceptance.precheckOrganization(request, price)) ?? (await this.acceptance.precheckBudget(requester, request, price, request.tags.length)),
      accept: (requester, request, price, references, placeholder) => this.acceptance.accept(requester, request, price, references, placeholder),
    });
  }

  upscale(requester: Requester, jobId: string, factor: number, placeholder: string): Promise<ImagineOutcome> {
    return this.actions.upscale(requester, jobId, factor, placeholder);
  }

  varyDraft(requester: Requester, jobId: string): Promise<VaryDraft> {
    return this.actions.varyDraft(requester, jobId);
  }

  vary(requester: Requester, jobId: string, prompt: string, placeholder: string): Promise<ImagineOutcome> {
    return this.actions.vary(requester, jobId, prompt, placeholder);
  }

  cancel(requester: Requester, jobId: string): Promise<CancelOutcome> {
    return this.actions.cancel(requester, jobId);
  }

  admission(platform: string, communityId: string): Promise<Admission> {
    return admitCommunity(this.deps.servedCommunities ?? new Map(), (id) => this.deps.ledger.settings(id), platform, communityId);
  }

  async checkImagine(requester: Requester, options: ImagineOptionsInput): Promise<ImagineCheck> {
    const admitted = await this.admit(requester);
    if (admitted) return admitted;
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return refusal(check.failure);
    const moderated = await this.deps.moderation.refusal(requester.communityId, requester.userId, check.request.prompt);
    if (moderated) return refusal(moderated);
    if (options.references.length > 0 && this.deps.referenceStore.isFull()) return refusal(REFERENCE_STORE_FULL);
    // A cheap look, so a flood is refused before the placeholder; acceptance counts again atomically.
    const inFlight = await this.deps.store.inFlightOf(requester.communityId, requester.userId);
    if (inFlight >= this.deps.maxJobsPerMember) return refusal(tooManyInFlight(inFlight, this.deps.maxJobsPerMember));
    const organization = await this.acceptance.precheckOrganization(check.request, check.priceCredits);
    if (organization) return organization;
    const shortfall = await this.acceptance.precheckBudget(requester, check.request, check.priceCredits, options.references.length);
    return shortfall ?? { ok: true };
  }

  async imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome> {
    const admitted = await this.admit(requester);
    if (admitted) return admitted;
    const check = validateImagineRequest({ ...options, referenceCount: options.references.length });
    if (!check.ok) return refusal(check.failure);
    if (options.references.length > 0 && this.deps.referenceStore.isFull()) return refusal(REFERENCE_STORE_FULL);
    return this.acceptance.accept(requester, check.request, check.priceCredits, { kind: 'sources', sources: options.references }, placeholder);
  }

  async reroll(requester: Requester, jobId: string, placeholder: string): Promise<ImagineOutcome> {
    const admitted = await this.admit(requester);
    if (admitted) return admitted;
    const original = await this.deps.store.get(jobId);
    if (!original || original.communityId !== requester.communityId) {
      return refusal(REROLL_UNKNOWN_JOB);
    }
    if (original.request.upscale) return refusal(VARY_NOT_APPLICABLE);
    const now = this.deps.clock.now();
    const stored = await this.deps.store.referencesOf(original.id);
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
    return this.acceptance.accept(requester, request, priceOf(request), references, placeholder);
  }

  async history(requester: Requester): Promise<HistoryOutcome> {
    const admitted = await this.admit(requester);
    if (admitted) return admitted;
    const delivered = await this.deps.store.deliveredOf(requester.communityId, requester.userId, HISTORY_LIMIT);
    const entries = delivered.map((job) => ({
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

  async mayDeleteResult(requester: Requester, jobId: string): Promise<boolean> {
    if (await this.admit(requester)) return false;
    const job = await this.deps.store.get(jobId);
    if (!job || job.communityId !== requester.communityId) return requester.isModerator;
    return requester.isModerator || job.userId === requester.userId;
  }

  async credits(requester: Requester, subject?: { userId: string; displayName: string }): Promise<Reply> {
    const admitted = await this.admit(requester);
    if (admitted) return admitted.reply;
    const result = await creditsCommand(this.deps.ledger, requester, subject);
    this.logAnswer('credits', result.code, requester);
    return result.reply;
  }

  async quota(requester: Requester, command: QuotaCommand): Promise<Reply> {
    const admitted = await this.admit(requester);
    if (admitted) return admitted.reply;
    if (command.action === 'pardon' || command.action === 'block-words') {
      const answer = await moderationCommand(this.deps.moderation, requester, command);
      this.logAnswer('quota', answer.code, requester);
      return answer.reply;
    }
    const result = await quotaCommand(this.deps.ledger, requester, command);
    this.logAnswer('quota', result.code, requester);
    if (result.code !== 'quota.report') return result.reply;
    return { ...result.reply, text: `${result.reply.text}
${await strikesSummary(this.deps.moderation, requester.communityId)}` };
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
      const job = await store.get(jobId);
      if (!job || job.state !== 'queued') continue;
      const referencesLost = job.request.tags.length > 0 && (job.referenceUris === null || job.referenceUris.length < job.request.tags.length);
      const failure = job.reservedCredits === null ? NOT_HELD : referencesLost ? REFERENCES_LOST : null;
      if (failure) {
        if (await store.reject(jobId, failure)) await runner.tellFailureOf(jobId);
        else log.warn('a recovered job could not be rejected: it moved on', { jobId });
        continue;
      }
      if (!(await store.markReady(jobId))) log.warn('a recovered job could not be made ready: it moved on', { jobId });
    }
  }

  /**
   * Finish the acceptances that stopped half way in this process: a `queued` job of ours, older than
   * a job lease (far longer than the moment between its insert and its acceptance being noted here),
   * that no acceptance here is still working on. Its acceptance could write
   * neither its references nor its rejection (the database was out of reach), and it would hold its
   * credits until a restart; the runner calls this at every lease renewal instead.
   */
  async recoverStranded(): Promise<void> {
    const { store, clock } = this.deps;
    const queued = await store.queuedOf(clock.now() - store.leaseMs);
    const stranded = queued.filter((jobId) => !this.acceptance.isAccepting(jobId));
    if (stranded.length === 0) return;
    this.deps.log.warn('finishing acceptances that stopped half way', { jobs: stranded.length });
    await this.recoverQueued(stranded);
  }

  /** The community refusal as a private reply, or null when the community is served. */
  private async admit(requester: Requester): Promise<Extract<ImagineOutcome, { ok: false }> | null> {
    const admission = await this.admission(requester.platform, requester.communityId);
    return admission.ok ? null : refusal(admission.failure);
  }
}
