/**
 * One poll of a job's Runway task and what its answer means: the next poll's time, progress,
 * success (then delivery), a failed or cancelled task, and the moderators' notice after a
 * moderated one. Apart from the runner, which only decides when this runs.
 */
import type { Clock } from '../clock.ts';
import type { Failure } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ChatSurface, JobStatusView } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import { explainFailureCode, taskCancelled } from '../runway/failure-codes.ts';
import {
  afterRunningPollAt,
  afterWaitingPollAt,
  backoffPollAt,
  estimateFinishedAt,
  type Learned,
  type PollTiming,
  type TaskSoFar,
} from '../runway/poll-schedule.ts';
import { decideAfterPoll } from './poll-decision.ts';
import type { Job } from './job.ts';
import type { JobStore } from './job-store.ts';

/** What a poll needs from the runner: its store, gateway and schedule, and its own follow-ups (deliver, fail, tell). */
export interface PollStepContext {
  readonly store: JobStore;
  readonly gateway: RunwayGateway;
  readonly clock: Clock;
  readonly log: Logger;
  readonly timing: PollTiming;
  /** What the schedule knows of a model's generation times (cached by the runner). */
  readonly learnedFor: (model: string) => Promise<Learned>;
  /** A task of the model finished: what was learned is read again from the database next time. */
  readonly forgetLearned: (model: string) => void;
  /** Starts the placeholder edit (resolves once started; never rejects). */
  readonly showStatus: (jobId: string, status: JobStatusView, force?: boolean) => Promise<void>;
  /** Download the finished images and hand them to the platform (the runner retries). */
  readonly deliverFinished: (jobId: string, outputUrls: readonly string[] | null) => Promise<void>;
  /** Refund and tell the user, once. */
  readonly fail: (jobId: string, failure: Failure) => Promise<void>;
  /** Show a failure already recorded on the job's placeholder. */
  readonly tellFailure: (jobId: string, failure: Failure) => Promise<void>;
  /** See JobRunnerOptions.moderationNotice. */
  readonly moderationNotice?: ((job: Job) => Promise<string | null>) | undefined;
  readonly surfaceFor: (platform: string) => ChatSurface | undefined;
}

/** Poll a submitted or running job's task once and act on the answer. */
export async function pollJob(context: PollStepContext, jobId: string): Promise<void> {
  const { store, gateway, clock, log } = context;
  const job = await store.get(jobId);
  if (!job || (job.state !== 'submitted' && job.state !== 'running')) return;
  const decision = decideAfterPoll(await gateway.getTask(job.taskId), job.malformedPolls);
  const now = clock.now();
  switch (decision.kind) {
    case 'back_off': {
      const attempt = job.attempts + 1;
      if (await store.recordPollTrouble(jobId, backoffPollAt(context.timing, now, decision.retryAfterMs, attempt), decision.malformed)) {
        log.warn('runway poll failed; backing off', { jobId, attempts: attempt, message: decision.message });
      }
      return;
    }
    case 'waiting': {
      const learned = await context.learnedFor(job.request.modelId);
      if (!(await store.recordUnfinishedPoll(jobId, afterWaitingPollAt(context.timing, now, learned)))) {
        log.debug('poll not recorded: the job moved on', { jobId });
      }
      return;
    }
    case 'running': {
      const plan = afterRunningPollAt(context.timing, now, taskSoFar(job), decision.progress, await context.learnedFor(job.request.modelId));
      if (await store.markRunning(jobId, decision.progress, plan.nextPollAtMs)) {
        await context.showStatus(jobId, { kind: 'running', progress: decision.progress });
      } else log.debug('poll not recorded: the job moved on', { jobId });
      return;
    }
    case 'succeeded': {
      // Runway reports the final cost; without it, what is held (its estimate) is the best figure.
      const cost = decision.costCredits ?? (await store.heldCredits(jobId));
      const finishedAt = estimateFinishedAt(now, { ...taskSoFar(job), lastUnfinishedAtMs: job.lastUnfinishedAt }, await context.learnedFor(job.request.modelId));
      // Recorded before anything else: if this write throws, the row still says "poll me", and the next tick does.
      if (!(await store.markSucceeded(jobId, cost, finishedAt))) return;
      context.forgetLearned(job.request.modelId);
      await context.deliverFinished(jobId, decision.outputUrls);
      return;
    }
    case 'failed':
      if (decision.logMessage) log.error(decision.logMessage, { jobId });
      await context.fail(jobId, decision.failure);
      return;
    case 'task_failed': {
      // Runway's reported cost is what it billed; without one, a moderated task is billed like a finished one.
      const costCredits = decision.costCredits ?? (decision.moderated ? await store.heldCredits(jobId) : 0);
      const failure = explainFailureCode(decision.failureCode, costCredits);
      if (!(await store.markTaskFailed(jobId, failure, { costCredits, moderated: decision.moderated }))) return;
      log.info('runway task failed', { jobId, failureCode: decision.failureCode, moderated: decision.moderated, costCredits });
      await context.tellFailure(jobId, failure);
      if (decision.moderated) await tellModerators(context, jobId);
      return;
    }
    case 'cancelled': {
      const costCredits = decision.costCredits ?? 0;
      const failure = taskCancelled(costCredits);
      if (await store.markCancelled(jobId, failure, costCredits)) await context.tellFailure(jobId, failure);
      return;
    }
    default: {
      const unreachable: never = decision;
      throw new Error(`unhandled poll decision ${JSON.stringify(unreachable)}`);
    }
  }
}

/** After a moderated generation: if it paused the member, say so to the moderators where it happened (best effort). */
async function tellModerators(context: PollStepContext, jobId: string): Promise<void> {
  const job = await context.store.get(jobId);
  const notice = job ? await context.moderationNotice?.(job) : null;
  const surface = job ? context.surfaceFor(job.platform) : undefined;
  if (!job || !notice || !surface) return;
  try {
    await surface.notifyModerators(job.placeholder, notice);
  } catch (error) {
    context.log.warn('could not tell the moderators about a paused member', { jobId, error });
  }
}

/** What a job's row knows about its task before this poll, for the schedule. */
function taskSoFar(job: { state: 'submitted' | 'running'; submittedAt: number; lastUnfinishedAt: number | null; progress: number | null; progressAt: number | null }): TaskSoFar {
  return {
    submittedAtMs: job.submittedAt,
    // Still `submitted` after a poll: that poll found it PENDING or THROTTLED, so generation began later.
    waitingSeenAtMs: job.state === 'submitted' ? job.lastUnfinishedAt : null,
    previous: job.progress !== null && job.progressAt !== null ? { atMs: job.progressAt, progress: job.progress } : null,
  };
}
