/**
 * One job's create at Runway: claim it (`submitting`), prepare its references, create the task and
 * record what the answer means. Apart from the runner, which only decides when this runs.
 */
import type { Clock } from '../clock.ts';
import { asBotError, type Failure } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { JobStatusView } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import { firstPollAt, type Learned, type PollTiming } from '../runway/poll-schedule.ts';
import { createTaskFor } from '../actions/submit-call.ts';
import { decideAfterCreate } from './create-decision.ts';
import type { JobIn, ReferenceUri } from './job.ts';
import { isStoreUnavailable } from '../store/unavailable.ts';
import type { JobStore } from './job-store.ts';

/** What a create needs from the runner: its store, gateway and schedule, and its own ways to show and fail a job. */
export interface SubmitStepContext {
  readonly store: JobStore;
  readonly gateway: RunwayGateway;
  readonly clock: Clock;
  readonly log: Logger;
  readonly timing: PollTiming;
  /** What the schedule knows of a model's generation times (cached by the runner). */
  readonly learnedFor: (model: string) => Promise<Learned>;
  /** Starts the placeholder edit (resolves once started; never rejects). */
  readonly showStatus: (jobId: string, status: JobStatusView, force?: boolean) => Promise<void>;
  /** See JobRunnerOptions.prepareReferences; absent: the job's URIs as they are. */
  readonly prepareReferences?: ((job: JobIn<'submitting'>) => Promise<readonly ReferenceUri[]>) | undefined;
  /** Refund and tell the user, once. */
  readonly fail: (jobId: string, failure: Failure) => Promise<void>;
  /** Resolves after `ms` (the runner's timers). */
  readonly wait: (ms: number) => Promise<void>;
  /** Whether the runner is stopping: a write being retried gives up then. */
  readonly stopping: () => boolean;
}

/** Backoff for the record of a created task while the database is out of reach: 0.25 s doubling to 5 s. */
const RECORD_RETRY_FIRST_MS = 250;
const RECORD_RETRY_MAX_MS = 5_000;

/** Create a waiting job's Runway task (while fewer than `slots` of its model are at Runway), or defer or fail it, as the create's answer says. */
export async function submitJob(context: SubmitStepContext, jobId: string, slots: number): Promise<void> {
  const { store, gateway, clock, log } = context;
  // Lost to another caller, not due after all, or another process took the model's last slot: nothing to do.
  if (!(await store.startSubmitting(jobId, slots))) return;
  const job = await store.get(jobId);
  if (!job || job.state !== 'submitting') return;
  await context.showStatus(jobId, { kind: 'starting' }, true);
  // Issue 9, item 4: references whose upload expired are uploaded again before the create.
  let referenceImages: readonly ReferenceUri[];
  try {
    referenceImages = context.prepareReferences ? await context.prepareReferences(job) : (job.referenceUris ?? []);
  } catch (error) {
    const failure = asBotError(error);
    log.warn('references could not be uploaded again; no task was made', { jobId, code: failure.code });
    await context.fail(jobId, { code: failure.code, userMessage: failure.userMessage });
    return;
  }
  // By the job's kind: text_to_image, or image_upscale for an Upscale of a result (src/actions/).
  const outcome = await createTaskFor(gateway, job, referenceImages);
  const decision = decideAfterCreate(outcome, job.attempts);
  switch (decision.kind) {
    case 'submitted': {
      const recorded = await recordCreatedTask(context, jobId, job.request.modelId, decision.taskId, decision.estimatedCredits);
      if (recorded === 'lost') {
        // The row left `submitting` (or us) while the create ran: the task is untracked, say so loudly.
        log.error('runway task created for a job that is no longer ours and submitting', { jobId, taskId: decision.taskId });
        return;
      }
      if (recorded === 'stopped') return;
      log.info('runway task created', { jobId, taskId: decision.taskId, estimatedCredits: decision.estimatedCredits });
      return;
    }
    case 'retry':
      if (await store.backToQueue(jobId, clock.now() + decision.afterMs)) {
        log.warn('runway create deferred; no task was made', { jobId, attempts: job.attempts + 1, reason: decision.reason, retryAfterMs: decision.afterMs });
      }
      return;
    case 'fail':
      log.warn(decision.logMessage, { jobId, code: decision.failure.code });
      await context.fail(jobId, decision.failure);
      return;
    default: {
      const unreachable: never = decision;
      throw new Error(`unhandled create decision ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Record the task Runway just made: Runway bills it, so its record must land even when the database
 * is out of reach at this moment (a PostgreSQL restart). While it is out of reach, the write is
 * retried with backoff for as long as the runner runs; meanwhile the job stays this process's work in progress, so its create
 * deadline cannot fail it as uncertain. 'lost': the job is no longer ours and submitting;
 * 'stopped': the runner stopped first, and the task id is in the error log for the operator.
 */
async function recordCreatedTask(
  context: SubmitStepContext,
  jobId: string,
  model: string,
  taskId: string,
  estimatedCredits: number | null,
): Promise<'recorded' | 'lost' | 'stopped'> {
  const { store, clock, log } = context;
  for (let delayMs = RECORD_RETRY_FIRST_MS; ; delayMs = Math.min(delayMs * 2, RECORD_RETRY_MAX_MS)) {
    try {
      const firstPoll = firstPollAt(context.timing, clock.now(), await context.learnedFor(model));
      return (await store.markSubmitted(jobId, taskId, estimatedCredits, firstPoll)) ? 'recorded' : 'lost';
    } catch (error) {
      // Only an outage is waited out; any other failure is a bug, and the create deadline deals with it.
      if (!isStoreUnavailable(error)) throw error;
      if (context.stopping()) {
        log.error('runway task created but not recorded: the bot stopped while the database was out of reach', { jobId, taskId, error });
        return 'stopped';
      }
      log.error('runway task created; recording it failed, trying again', { jobId, taskId, retryInMs: delayMs, error });
      await context.wait(delayMs);
    }
  }
}
