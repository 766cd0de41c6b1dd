import type { Clock } from '../clock.ts';
import { BotError, storedFailure, type Failure } from '../errors.ts';
import type { Logger } from '../log.ts';
import { findModel } from '../models.ts';
import type { ChatSurface } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import { concurrencyOf, type OrganizationSnapshot } from '../runway/organization.ts';
import { estimateFinishedAt, expectedDurationMs, PollSchedule } from '../runway/poll-schedule.ts';
import { CREATE_UNCERTAIN, decideAfterCreate } from './create-decision.ts';
import { deliverOutputs, isPermanentDeliveryError, UNDELIVERABLE, type OutputFetcher } from './delivery.ts';
import { decideAfterPoll } from './poll-decision.ts';
import { pickJobsToSubmit, queuePositions } from './fair-queue.ts';
import type { JobStore } from './job-store.ts';
import { StatusUpdates } from './status-updates.ts';

export type { OutputFetcher };

export interface JobRunnerOptions {
  readonly store: JobStore;
  readonly gateway: RunwayGateway;
  readonly fetchOutput: OutputFetcher;
  readonly clock: Clock;
  readonly log: Logger;
  /** Shortest gap between two polls of one task: 5 000 ms in production (Runway's guidance). */
  readonly pollIntervalMs: number;
  /** Shortest gap between two placeholder edits of one job (platform rate limits). */
  readonly statusIntervalMs: number;
  /** Runway generations per model at once when the organisation's limits are unknown. */
  readonly defaultSlotsPerModel?: number;
  /** How long a generation takes before any has been seen, overriding the catalogue (the simulator is faster than Runway). */
  readonly firstDurationGuessMs?: number;
  readonly random?: () => number;
  /** Each organisation snapshot read (balance, limits, usage), for the bot's admission check and the low-balance warning. */
  readonly onOrganization?: (snapshot: OrganizationSnapshot) => void;
  readonly timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
}

/** Recent generation times the first-poll estimate is the median of: few, so it follows Runway's load. */
const RECENT_DURATIONS = 9;
/** How often the organisation's concurrency limits are read again. */
const LIMITS_REFRESH_MS = 10 * 60 * 1000;
/** Delivery attempts before a finished image is declared lost (and refunded). */
const MAX_DELIVERY_ATTEMPTS = 8;

/**
 * Runs every job after it is reserved: hands out Runway slots fairly, creates tasks, polls them
 * all from one loop, settles the cost and delivers the images. All state lives in the database
 * (JobStore); the maps here are caches rebuilt by `recover()` on start.
 */
export class JobRunner {
  private readonly surfaces = new Map<string, ChatSurface>();
  private readonly schedule: PollSchedule;
  private readonly timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
  private readonly busy = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly pollFailures = new Map<string, number>();
  private readonly malformedPolls = new Map<string, number>();
  private readonly rateLimitedCreates = new Map<string, number>();
  private readonly deliveryAttempts = new Map<string, { attempts: number; retryAt: number }>();
  private readonly status: StatusUpdates;
  private readonly expectedMs = new Map<string, number>();
  /** When a poll last found each task unfinished: with the poll that sees success, it brackets the true finish. */
  private readonly lastSeenUnfinishedAt = new Map<string, number>();
  private slotLimits = new Map<string, number>();
  private limitsReadAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private ticking = false;

  constructor(private readonly options: JobRunnerOptions) {
    this.schedule = new PollSchedule({ minIntervalMs: options.pollIntervalMs, ...(options.random ? { random: options.random } : {}) });
    this.timers = options.timers ?? { setTimeout, clearTimeout };
    this.status = new StatusUpdates({
      store: options.store,
      surfaceFor: (platform) => this.surfaces.get(platform),
      clock: options.clock,
      log: options.log,
      minIntervalMs: options.statusIntervalMs,
      run: (key, work) => this.track(key, work),
    });
  }

  registerSurface(surface: ChatSurface): void {
    this.surfaces.set(surface.platform, surface);
  }

  /** Learn the organisation's limits, balance and usage, and pass them on; on failure keep the last ones (at first, the defaults). */
  async refreshLimits(): Promise<void> {
    this.limitsReadAt = this.options.clock.now();
    const read = await this.options.gateway.organization();
    if (!read.ok) {
      this.options.log.warn('could not read Runway organisation limits; keeping the last ones', { error: read.message });
      return;
    }
    // A model Runway gives no limit (null) gets Infinity slots; one it says nothing about keeps the default.
    this.slotLimits = concurrencyOf(read.snapshot);
    this.options.onOrganization?.(read.snapshot);
  }

  /** Resume every unfinished job (design §3), then start the loop. */
  async start(): Promise<void> {
    await this.refreshLimits();
    this.recover();
    this.stopped = false;
    this.wake();
  }

  /** Stop taking new work and wait for what is in progress (SIGTERM). State is in the database. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.idle();
  }

  /** Resolves when no submission, poll or delivery is in progress. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Jobs of a platform not yet finished, for the sandbox's "wait until done". */
  unfinishedCount(platform: string): number {
    return this.options.store.unfinished().filter((job) => job.platform === platform).length;
  }

  /** Ask for a tick soon: a job was reserved or a slot freed. */
  wake(): void {
    if (this.stopped) return;
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => void this.tickAndReschedule(), 0);
  }

  private async tickAndReschedule(): Promise<void> {
    this.timer = null;
    this.tick();
    if (this.stopped) return;
    const idleTickMs = Math.min(Math.max(Math.round(this.options.pollIntervalMs / 4), 20), 1_000);
    this.timer = this.timers.setTimeout(() => void this.tickAndReschedule(), idleTickMs);
  }

  /** One pass: submit what fits, poll what is due, retry deliveries, refresh queue positions. */
  tick(): void {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = this.options.clock.now();
      // A tier upgrade (more concurrent generations) should not need a restart to take effect.
      if (now - this.limitsReadAt >= LIMITS_REFRESH_MS) this.track('limits', () => this.refreshLimits());
      this.dispatch(now);
      for (const jobId of this.schedule.due(now)) this.track(jobId, () => this.poll(jobId));
      for (const [jobId, retry] of this.deliveryAttempts) {
        if (retry.retryAt <= now) this.track(jobId, () => this.deliverFinished(jobId, null));
      }
    } finally {
      this.ticking = false;
    }
  }

  private dispatch(now: number): void {
    const { waiting, history, inFlightPerModel } = this.options.store.dispatchSnapshot(now);
    if (waiting.length === 0) return;
    const slots = (model: string) => this.slotLimits.get(model) ?? this.options.defaultSlotsPerModel ?? 2;
    const toSubmit = pickJobsToSubmit(waiting, history, inFlightPerModel, slots, now);
    for (const job of toSubmit) this.track(job.id, () => this.submit(job.id));
    const submitted = new Set(toSubmit.map((j) => j.id));
    const positions = queuePositions(waiting.filter((j) => !submitted.has(j.id)), history);
    for (const [jobId, position] of positions) this.status.show(jobId, { kind: 'queued', position });
  }

  private async submit(jobId: string): Promise<void> {
    const { store, gateway, clock, log } = this.options;
    if (!store.startSubmitting(jobId)) return;
    const job = store.get(jobId);
    if (!job || job.state !== 'submitting') return;
    this.status.show(jobId, { kind: 'starting' }, true);
    const outcome = await gateway.createTextToImage({
      model: job.request.modelId,
      promptText: job.request.prompt,
      ratio: job.request.ratio,
      referenceImages: job.referenceUris ?? [],
      seed: job.request.seed,
    });
    const decision = decideAfterCreate(outcome, this.rateLimitedCreates.get(jobId) ?? 0);
    switch (decision.kind) {
      case 'submitted':
        this.rateLimitedCreates.delete(jobId);
        store.markSubmitted(jobId, decision.taskId, decision.estimatedCredits);
        this.schedule.scheduleFirst(jobId, clock.now(), this.expectedDuration(job.request.modelId));
        log.info('runway task created', { jobId, taskId: decision.taskId, estimatedCredits: decision.estimatedCredits });
        return;
      case 'retry':
        this.rateLimitedCreates.set(jobId, (this.rateLimitedCreates.get(jobId) ?? 0) + 1);
        store.backToQueue(jobId, clock.now() + decision.afterMs);
        log.warn('runway create deferred; no task was made', { jobId, reason: decision.reason, retryAfterMs: decision.afterMs });
        return;
      case 'fail':
        this.rateLimitedCreates.delete(jobId);
        log.warn(decision.logMessage, { jobId, code: decision.failure.code });
        await this.fail(jobId, decision.failure);
        return;
      default: {
        const unreachable: never = decision;
        throw new Error(`unhandled create decision ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private async poll(jobId: string): Promise<void> {
    const { store, gateway, clock, log } = this.options;
    const job = store.get(jobId);
    if (!job || (job.state !== 'submitted' && job.state !== 'running')) {
      this.forgetTask(jobId);
      return;
    }
    const decision = decideAfterPoll(await gateway.getTask(job.taskId), this.malformedPolls.get(jobId) ?? 0);
    const now = clock.now();
    if (decision.kind === 'back_off') {
      const failures = (this.pollFailures.get(jobId) ?? 0) + 1;
      this.pollFailures.set(jobId, failures);
      this.malformedPolls.set(jobId, decision.malformed ? (this.malformedPolls.get(jobId) ?? 0) + 1 : 0);
      this.schedule.scheduleBackoff(jobId, now, decision.retryAfterMs, failures);
      log.warn('runway poll failed; backing off', { jobId, failures, message: decision.message });
      return;
    }
    this.pollFailures.delete(jobId);
    this.malformedPolls.delete(jobId);
    switch (decision.kind) {
      case 'waiting':
        this.lastSeenUnfinishedAt.set(jobId, now);
        this.schedule.scheduleNext(jobId, now);
        return;
      case 'running':
        this.lastSeenUnfinishedAt.set(jobId, now);
        store.markRunning(jobId, decision.progress);
        this.status.show(jobId, { kind: 'running', progress: decision.progress });
        this.schedule.scheduleNext(jobId, now);
        return;
      case 'succeeded': {
        // Runway reports the final cost; without it, what is held (its estimate) is the best figure.
        const cost = decision.costCredits ?? store.heldCredits(jobId);
        const finishedAt = estimateFinishedAt(job.submittedAt, this.lastSeenUnfinishedAt.get(jobId), now);
        this.forgetTask(jobId);
        if (store.markSucceeded(jobId, cost, finishedAt)) this.expectedMs.delete(job.request.modelId);
        await this.deliverFinished(jobId, decision.outputUrls);
        return;
      }
      case 'failed':
        this.forgetTask(jobId);
        if (decision.logMessage) log.error(decision.logMessage, { jobId });
        await this.fail(jobId, decision.failure);
        return;
      case 'cancelled':
        this.forgetTask(jobId);
        if (store.markCancelled(jobId, decision.failure)) await this.tellFailure(jobId, decision.failure);
        return;
      default: {
        const unreachable: never = decision;
        throw new Error(`unhandled poll decision ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /** The task is no longer polled: drop what the poll loop remembered about it. */
  private forgetTask(jobId: string): void {
    this.schedule.forget(jobId);
    this.lastSeenUnfinishedAt.delete(jobId);
    this.pollFailures.delete(jobId);
    this.malformedPolls.delete(jobId);
  }

  /** Download the images at once (their URLs expire) and hand them to the platform; retry with backoff. */
  private async deliverFinished(jobId: string, outputUrls: readonly string[] | null): Promise<void> {
    const { store, log, clock } = this.options;
    const job = store.get(jobId);
    if (!job || job.state !== 'succeeded') {
      this.deliveryAttempts.delete(jobId);
      return;
    }
    const surface = this.surfaces.get(job.platform);
    if (!surface) {
      // The platform is not configured in this run: keep the job for a run that has it.
      this.deliveryAttempts.delete(jobId);
      log.warn('no adapter for this job; delivery waits for a restart with it configured', { jobId, platform: job.platform });
      return;
    }
    try {
      this.status.show(jobId, { kind: 'delivering' }, true);
      const files = await deliverOutputs(this.options, job, surface, outputUrls);
      this.deliveryAttempts.delete(jobId);
      this.status.forget(jobId);
      log.info('delivered', { jobId, files });
    } catch (error) {
      const attempts = (this.deliveryAttempts.get(jobId)?.attempts ?? 0) + 1;
      if (attempts >= MAX_DELIVERY_ATTEMPTS || isPermanentDeliveryError(error)) {
        this.deliveryAttempts.delete(jobId);
        log.error('delivery failed for good; refunding', { jobId, attempts, error });
        await this.fail(jobId, UNDELIVERABLE);
        return;
      }
      const backoffMs = Math.min(this.options.pollIntervalMs * 2 ** attempts, 300_000);
      this.deliveryAttempts.set(jobId, { attempts, retryAt: clock.now() + backoffMs });
      log.warn('delivery failed; will retry', { jobId, attempts, backoffMs, error: error instanceof BotError ? error.code : error });
    }
  }

  /** Resume what a crash or restart left unfinished. */
  private recover(): void {
    const { store, clock, log } = this.options;
    for (const job of store.unfinished()) {
      switch (job.state) {
        case 'queued':
        case 'reserved':
          // `queued` jobs are finished by the acceptance path (src/bot.ts recoverQueued); reserved ones wait for a slot.
          break;
        case 'submitting':
          // The create may or may not have reached Runway; it is not idempotent, so never resend it.
          this.track(job.id, () => this.fail(job.id, CREATE_UNCERTAIN));
          break;
        case 'submitted':
        case 'running': {
          const elapsed = clock.now() - job.submittedAt;
          this.schedule.scheduleFirst(job.id, clock.now(), Math.max(0, this.expectedDuration(job.request.modelId) - elapsed));
          break;
        }
        case 'succeeded':
          this.deliveryAttempts.set(job.id, { attempts: 0, retryAt: clock.now() });
          break;
        default:
          break;
      }
    }
    log.info('recovery scheduled', { unfinished: store.unfinished().length });
  }

  /** A waiting job's place in line for its model (1 = next), or 0 once it has left the queue. */
  positionOf(jobId: string): number {
    const { waiting, history } = this.options.store.dispatchSnapshot(this.options.clock.now());
    return queuePositions(waiting, history).get(jobId) ?? 0;
  }

  /** Show a job's recorded failure on its placeholder (used by recovery in src/bot.ts). */
  async tellFailureOf(jobId: string): Promise<void> {
    const job = this.options.store.get(jobId);
    if (job && (job.state === 'rejected' || job.state === 'failed' || job.state === 'cancelled')) {
      await this.tellFailure(jobId, storedFailure(job.failureCode, job.failureMessage));
    }
  }

  /** Refund and tell the user, once. */
  async fail(jobId: string, failure: Failure): Promise<void> {
    if (this.options.store.markFailed(jobId, failure)) await this.tellFailure(jobId, failure);
  }

  private async tellFailure(jobId: string, failure: Failure): Promise<void> {
    const job = this.options.store.get(jobId);
    const surface = job ? this.surfaces.get(job.platform) : undefined;
    if (!job || !surface) return;
    this.status.forget(jobId);
    try {
      await surface.showFailure(job.placeholder, failure);
    } catch (error) {
      this.options.log.warn('could not show a failure to the user', { jobId, error });
    }
  }

  private expectedDuration(model: string): number {
    const cached = this.expectedMs.get(model);
    if (cached !== undefined) return cached;
    const fallback = this.options.firstDurationGuessMs ?? findModel(model)?.expectedDurationMs ?? 20_000;
    const learned = expectedDurationMs(this.options.store.recentDurationsMs(model, RECENT_DURATIONS), fallback);
    this.expectedMs.set(model, learned);
    return learned;
  }

  /** Run one piece of work per key at a time, and remember it so stop() can wait. */
  private track(key: string, work: () => Promise<void>): void {
    if (this.busy.has(key)) return;
    this.busy.add(key);
    const promise = work()
      .catch((error: unknown) => this.options.log.error('job work failed', { key, error }))
      .finally(() => {
        this.busy.delete(key);
        this.pending.delete(promise);
        if (!this.stopped) this.wakeSoonIfWaiting();
      });
    this.pending.add(promise);
  }

  private wakeSoonIfWaiting(): void {
    // A finished submission or delivery may have freed a slot for a waiting job.
    if (this.timer === null) return;
    this.wake();
  }
}
