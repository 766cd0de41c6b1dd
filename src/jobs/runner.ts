import type { Clock } from '../clock.ts';
import { storedFailure, type Failure } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ChatSurface } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import { concurrencyOf, type OrganizationSnapshot } from '../runway/organization.ts';
import { learnFrom, NOTHING_LEARNED, type Learned, type PollTiming } from '../runway/poll-schedule.ts';
import { CREATE_UNCERTAIN } from './create-decision.ts';
import { deliverFinished, type DeliverStepContext } from './deliver-step.ts';
import type { OutputFetcher } from './delivery.ts';
import { pickJobsToSubmit, queuePositions } from './fair-queue.ts';
import type { Job, JobIn, JobState, ReferenceUri } from './job.ts';
import type { DueJob, JobStore } from './job-store.ts';
import { pollJob, type PollStepContext } from './poll-step.ts';
import { submitJob, type SubmitStepContext } from './submit-step.ts';
import { leaseRenewalMs } from './transitions/context.ts';
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
  /**
   * How long a generation takes before any has finished here (the built-in simulator knows its
   * own). Without it, the first tasks of a model on a fresh database are first polled at the interval.
   */
  readonly firstDurationGuessMs?: number;
  readonly random?: () => number;
  /** What to tell a community's moderators after a moderated generation of `job`, or null (no new pause). */
  readonly moderationNotice?: (job: Job) => Promise<string | null>;
  /** Each organisation snapshot read (balance, limits, usage), for the bot's admission check and the low-balance warning. */
  readonly onOrganization?: (snapshot: OrganizationSnapshot) => void;
  readonly timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
  /**
   * The references to send with a job's create (issue 9, item 4): uploads Runway has forgotten are
   * made again from the bot's store first. Throws a BotError when they cannot be (the job fails, refunded).
   * Default: the job's URIs as they are.
   */
  readonly prepareReferences?: (job: JobIn<'submitting'>) => Promise<readonly ReferenceUri[]>;
  /**
   * Jobs this runner just took over from a process that stopped renewing their leases (several
   * processes on PostgreSQL). The ones still `queued` were being accepted there: the core decides
   * their fate (src/bot.ts recoverQueued). The rest the runner works as they fall due.
   */
  readonly onTakenOver?: (jobs: readonly { readonly id: string; readonly state: JobState }[]) => Promise<void>;
  /** Called at every lease renewal: the core finishes its own acceptances that stopped half way (src/bot.ts recoverStranded). */
  readonly onSweep?: () => Promise<void>;
}

/** Recent generations of a model the poll schedule learns from: few enough to follow Runway's load. */
const RECENT_GENERATIONS = 20;
/** How often the organisation's concurrency limits are read again. */
const LIMITS_REFRESH_MS = 10 * 60 * 1000;
/**
 * Jobs worked at once (creates, polls, deliveries). With a thousand in flight, polls falling due
 * together would otherwise all be sent, parsed and written at once: the event loop stalls and
 * memory peaks. The rest stay due and start as these finish, a few milliseconds later.
 */
const MAX_JOBS_WORKED_AT_ONCE = 32;
/** Ticks are at least this far apart however often work ends or jobs fall due: each reads the database. */
const MIN_TICK_GAP_MS = 20;

/**
 * Runs every job after it is reserved: hands out Runway slots fairly, creates tasks, polls them
 * all from one loop, settles the cost and delivers the images. All state lives in the job rows:
 * which jobs are ours (`locked_by`, renewed here), when each is next due (`run_at`) and how many
 * tries it has had (`attempts`, `malformed_polls`), so a restart continues where it was. What is
 * kept here is only what this process is doing right now (`busy`) and caches.
 */
export class JobRunner {
  private readonly surfaces = new Map<string, ChatSurface>();
  private readonly timing: PollTiming;
  private readonly timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
  /** Jobs with work in progress in this process: a due job that is busy is not started twice. */
  private readonly busy = new Set<string>();
  /** The jobs among them being created, polled or delivered: capped at MAX_JOBS_WORKED_AT_ONCE. */
  private readonly worked = new Set<string>();
  /** When the timer set now fires, and when the last tick ran (clock time). */
  private timerAt = Number.POSITIVE_INFINITY;
  private lastTickAt = Number.NEGATIVE_INFINITY;
  /** When queue positions were last shown. */
  private positionsShownAt = Number.NEGATIVE_INFINITY;
  private readonly pending = new Set<Promise<void>>();
  private readonly status: StatusUpdates;
  /** What the create, poll and delivery steps (submit-step.ts, poll-step.ts, deliver-step.ts) use of this runner. */
  private readonly steps: SubmitStepContext & PollStepContext & DeliverStepContext;
  /** What the schedule learned per model, read from the database (the read itself, so callers at once share it) and dropped when a task of it finishes. */
  private readonly learned = new Map<string, Promise<Learned>>();
  /** Jobs whose platform is not configured in this run, told once in the log. */
  private readonly noSurfaceLogged = new Set<string>();
  private slotLimits = new Map<string, number>();
  private limitsReadAt = Number.NEGATIVE_INFINITY;
  private leasesRenewedAt = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  /** The pass under way (it reads and writes the database between its steps): not doubled, and waited for by idle(). */
  private passInProgress: Promise<void> | null = null;

  constructor(private readonly options: JobRunnerOptions) {
    this.timing = { minIntervalMs: options.pollIntervalMs, random: options.random ?? Math.random };
    this.timers = options.timers ?? { setTimeout, clearTimeout };
    this.status = new StatusUpdates({
      store: options.store,
      surfaceFor: (platform) => this.surfaces.get(platform),
      clock: options.clock,
      log: options.log,
      minIntervalMs: options.statusIntervalMs,
      run: (key, work) => this.track(key, work),
    });
    this.steps = {
      store: options.store,
      gateway: options.gateway,
      fetchOutput: options.fetchOutput,
      clock: options.clock,
      log: options.log,
      timing: this.timing,
      pollIntervalMs: options.pollIntervalMs,
      learnedFor: (model) => this.learnedFor(model),
      forgetLearned: (model) => this.learned.delete(model),
      showStatus: (jobId, status, force) => this.status.show(jobId, status, force),
      forgetStatus: (jobId) => this.status.forget(jobId),
      prepareReferences: options.prepareReferences,
      deliverFinished: (jobId, outputUrls) => deliverFinished(this.steps, jobId, outputUrls),
      fail: (jobId, failure) => this.fail(jobId, failure),
      wait: (ms) => new Promise<void>((resolve) => this.timers.setTimeout(resolve, ms)),
      stopping: () => this.stopped,
      tellFailure: (jobId, failure) => this.tellFailure(jobId, failure),
      moderationNotice: options.moderationNotice,
      surfaceFor: (platform) => this.surfaces.get(platform),
    };
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

  /**
   * Start the loop. Recovery is the loop itself: jobs taken over on start (src/app.ts) are ours
   * and due by their `run_at`, a `submitting` one at once, failed as uncertain (never resent).
   */
  async start(): Promise<void> {
    await this.refreshLimits();
    this.stopped = false;
    this.wake();
  }

  /** Stop taking new work and wait for what is in progress (SIGTERM). State is in the database. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    await this.idle();
  }

  /** Resolves when no pass, submission, poll or delivery is in progress. */
  async idle(): Promise<void> {
    // A pass under way may yet start work: it is waited for, then the work.
    while (this.passInProgress !== null || this.pending.size > 0) await Promise.allSettled([this.passInProgress, ...this.pending]);
  }

  /** Jobs of a platform not yet finished, for the sandbox's "wait until done". */
  unfinishedCount(platform: string): Promise<number> {
    return this.options.store.unfinishedCountOf(platform);
  }

  /** Ask for a tick soon: a job was reserved or a slot freed. Many asks close together make one tick. */
  wake(): void {
    if (this.stopped) return;
    this.tickIn(Math.max(this.lastTickAt + MIN_TICK_GAP_MS - this.options.clock.now(), 0));
  }

  /** Have the next tick in `delayMs` at the latest: a tick already set sooner stays. */
  private tickIn(delayMs: number): void {
    const at = this.options.clock.now() + delayMs;
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.timers.setTimeout(() => this.timedPass(), delayMs);
  }

  /** A pass the timer started, kept among the work in progress: stop() waits for it, reschedule included. */
  private timedPass(): void {
    const promise = this.tickAndReschedule().finally(() => this.pending.delete(promise));
    this.pending.add(promise);
  }

  /** Never rejects: it runs from a timer. */
  private async tickAndReschedule(): Promise<void> {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.passInProgress !== null) {
      // Asked for while a pass still waits on the database (a wake): it comes right after that one.
      if (!this.stopped) this.tickIn(MIN_TICK_GAP_MS);
      return;
    }
    this.lastTickAt = this.options.clock.now();
    try {
      await this.tick();
    } catch (error) {
      // A busy or failing database: everything is still in the rows, so the next tick picks it up.
      this.options.log.error('tick failed; trying again at the next', { error });
    }
    if (this.stopped) return;
    const idleTickMs = Math.min(Math.max(Math.round(this.options.pollIntervalMs / 4), MIN_TICK_GAP_MS), 1_000);
    const untilNextDue = await this.untilNextDue(idleTickMs);
    // stop() may have come while the database answered: no timer after it.
    if (this.stopped) return;
    this.tickIn(Math.max(untilNextDue, MIN_TICK_GAP_MS));
  }

  /**
   * How long to sleep: until the next job falls due, at most the idle tick. A poll is timed to
   * land just after a task finishes; left to the next tick it would land up to a tick later.
   */
  private async untilNextDue(idleTickMs: number): Promise<number> {
    try {
      const now = this.options.clock.now();
      const next = await this.options.store.nextDueAt(now);
      // +1 ms: a timer may fire a hair early, and the due query wants run_at <= now.
      return next === null ? idleTickMs : Math.min(Math.max(next - now + 1, 0), idleTickMs);
    } catch (error) {
      this.options.log.warn('could not read when the next job is due; ticking as usual', { error });
      return idleTickMs;
    }
  }

  /** One pass: keep our jobs ours, submit what fits, then whatever the database says is due. A pass already under way is not doubled. */
  async tick(): Promise<void> {
    if (this.passInProgress !== null) return;
    this.passInProgress = this.pass();
    try {
      await this.passInProgress;
    } finally {
      this.passInProgress = null;
    }
  }

  private async pass(): Promise<void> {
    const now = this.options.clock.now();
    // A tier upgrade (more concurrent generations) should not need a restart to take effect.
    if (now - this.limitsReadAt >= LIMITS_REFRESH_MS) this.track('limits', () => this.refreshLimits());
    if (now - this.leasesRenewedAt >= leaseRenewalMs(this.options.store.leaseMs)) {
      await this.options.store.renewLeases();
      this.leasesRenewedAt = now;
      await this.takeOverOrphans();
      await this.options.onSweep?.();
    }
    await this.dispatch(now);
    // Those being worked are still due (and come first): read past them, up to what may start.
    for (const job of await this.options.store.due(now, MAX_JOBS_WORKED_AT_ONCE + this.worked.size)) this.workOn(job);
  }

  /**
   * Claim jobs whose owner stopped renewing them (a process that died or stalled past its lease):
   * how a job survives its process when several share a PostgreSQL database. On SQLite the only
   * owner is this process, and there is nothing to find.
   */
  private async takeOverOrphans(): Promise<void> {
    const taken = await this.options.store.takeOver(null);
    if (taken.length === 0) return;
    this.options.log.info('took over jobs whose process stopped renewing them', { jobs: taken.length });
    await this.options.onTakenOver?.(taken);
  }

  /** Start what a due job needs, unless this process is already working on it or works as many as it may. */
  private workOn(job: DueJob): void {
    if (this.busy.has(job.id) || this.worked.size >= MAX_JOBS_WORKED_AT_ONCE) return;
    switch (job.state) {
      case 'submitting':
        // Due only past its create deadline, or when taken over from a dead instance: the create's
        // answer was never recorded, and the create is not idempotent, so it is never resent.
        this.track(job.id, () => this.fail(job.id, CREATE_UNCERTAIN));
        return;
      case 'submitted':
      case 'running':
        this.trackWork(job.id, () => pollJob(this.steps, job.id));
        return;
      case 'succeeded':
        if (!this.surfaces.has(job.platform)) {
          // The platform is not configured in this run: keep the job for a run that has it.
          if (!this.noSurfaceLogged.has(job.id)) this.options.log.warn('no adapter for this job; delivery waits for a restart with it configured', { jobId: job.id, platform: job.platform });
          this.noSurfaceLogged.add(job.id);
          return;
        }
        this.trackWork(job.id, () => deliverFinished(this.steps, job.id, null));
        return;
      default: {
        const unreachable: never = job.state;
        throw new Error(`unexpected due state ${String(unreachable)}`);
      }
    }
  }

  private async dispatch(now: number): Promise<void> {
    // Creates go out in batches once the jobs worked at once near the cap: picking one more at
    // every finished piece of work would run the fair order over a long queue again and again.
    const capacity = MAX_JOBS_WORKED_AT_ONCE - this.worked.size;
    const pick = this.worked.size === 0 || capacity >= MAX_JOBS_WORKED_AT_ONCE / 2;
    // Positions shown change when the queue moves; otherwise they are refreshed at the status interval.
    const refreshPositions = now - this.positionsShownAt >= this.options.statusIntervalMs;
    if (!pick && !refreshPositions) return;
    const { waiting, history, inFlightPerModel } = await this.options.store.dispatchSnapshot(now);
    if (waiting.length === 0) return;
    const slots = (model: string) => this.slotLimits.get(model) ?? this.options.defaultSlotsPerModel ?? 2;
    const toSubmit = pick ? pickJobsToSubmit(waiting, history, inFlightPerModel, slots, now).slice(0, capacity) : [];
    for (const job of toSubmit) this.trackWork(job.id, () => submitJob(this.steps, job.id, slots(job.model)));
    if (toSubmit.length === 0 && !refreshPositions) return;
    this.positionsShownAt = now;
    const submitted = new Set(toSubmit.map((j) => j.id));
    const positions = queuePositions(waiting.filter((j) => !submitted.has(j.id)), history);
    for (const [jobId, position] of positions) await this.status.show(jobId, { kind: 'queued', position });
  }

  /** A waiting job's place in line for its model (1 = next), or 0 once it has left the queue. */
  async positionOf(jobId: string): Promise<number> {
    const { waiting, history } = await this.options.store.dispatchSnapshot(this.options.clock.now());
    return queuePositions(waiting, history).get(jobId) ?? 0;
  }

  /** Show a job's recorded failure on its placeholder (used by recovery in src/bot.ts). */
  async tellFailureOf(jobId: string): Promise<void> {
    const job = await this.options.store.get(jobId);
    if (job && (job.state === 'rejected' || job.state === 'failed' || job.state === 'cancelled')) {
      await this.tellFailure(jobId, storedFailure(job.failureCode, job.failureMessage));
    }
  }

  /** Refund and tell the user, once. */
  async fail(jobId: string, failure: Failure): Promise<void> {
    if (await this.options.store.markFailed(jobId, failure)) await this.tellFailure(jobId, failure);
  }

  private async tellFailure(jobId: string, failure: Failure): Promise<void> {
    const job = await this.options.store.get(jobId);
    const surface = job ? this.surfaces.get(job.platform) : undefined;
    if (!job || !surface) return;
    this.status.forget(jobId);
    try {
      await surface.showFailure(job.placeholder, failure);
    } catch (error) {
      this.options.log.warn('could not show a failure to the user', { jobId, error });
    }
  }

  /**
   * What the schedule knows of a model's generation times: from its recent finished jobs in the
   * database, so the first task after a restart is timed as well as the hundredth. Cached until a
   * task of the model finishes. (Keyed by model: the one knob that changes a generation's length
   * here; an output count would join the key when one exists.)
   */
  private learnedFor(model: string): Promise<Learned> {
    const cached = this.learned.get(model);
    if (cached !== undefined) return cached;
    const reading = this.readLearned(model);
    this.learned.set(model, reading);
    // A failed read is not kept: the next ask reads again. (Its callers see the error themselves.)
    reading.catch(() => {
      if (this.learned.get(model) === reading) this.learned.delete(model);
    });
    return reading;
  }

  private async readLearned(model: string): Promise<Learned> {
    const durationsMs = await this.options.store.recentDurationsMs(model, RECENT_GENERATIONS);
    const guess = this.options.firstDurationGuessMs;
    return durationsMs.length > 0 ? learnFrom({ durationsMs }) : guess === undefined ? NOTHING_LEARNED : { fastMs: guess };
  }

  /** track(), counted among the jobs worked at once: a create, a poll, a delivery. */
  private trackWork(jobId: string, work: () => Promise<void>): void {
    if (this.busy.has(jobId)) return;
    this.worked.add(jobId);
    this.track(jobId, async () => {
      try {
        await work();
      } finally {
        this.worked.delete(jobId);
      }
    });
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
