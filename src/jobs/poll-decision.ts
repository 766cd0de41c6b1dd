import type { Failure } from '../errors.ts';
import { isModerationDecline } from '../runway/failure-codes.ts';
import type { PollOutcome } from '../runway/gateway.ts';

/** Task answers in a row that do not parse before a job is given up (and refunded). */
export const MAX_MALFORMED_POLLS = 3;

const BAD_TASK_ANSWER: Failure = {
  code: 'runway.bad_response',
  userMessage: "Runway's answers about your image stopped making sense, so we gave up on it. You were not charged; please try again.",
};

const TASK_MISSING: Failure = {
  code: 'runway.task_missing',
  userMessage: 'Runway no longer knows this generation. You were not charged; please try again.',
};

/** What to do with a job after one look at its Runway task. */
export type PollDecision =
  | { readonly kind: 'back_off'; readonly retryAfterMs: number | null; readonly malformed: boolean; readonly message: string }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'running'; readonly progress: number | null }
  | { readonly kind: 'succeeded'; readonly costCredits: number | null; readonly outputUrls: readonly string[] }
  | { readonly kind: 'failed'; readonly failure: Failure; readonly logMessage: string | null }
  /** Runway finished the task as FAILED: charged what it reports (`costCredits`; null when it said nothing). */
  | { readonly kind: 'task_failed'; readonly failureCode: string | undefined; readonly moderated: boolean; readonly costCredits: number | null }
  | { readonly kind: 'cancelled'; readonly costCredits: number | null };

/**
 * Read one poll. Transient trouble backs off (honouring Retry-After); an answer we cannot read is
 * retried a little, then refunded, since it will not become readable by waiting; Runway's own
 * failure codes become plain words. `malformedSoFar` counts unreadable answers just before this one.
 */
export function decideAfterPoll(outcome: PollOutcome, malformedSoFar: number): PollDecision {
  switch (outcome.kind) {
    case 'retry_later':
      return { kind: 'back_off', retryAfterMs: outcome.retryAfterMs, malformed: false, message: outcome.message };
    case 'malformed':
      if (malformedSoFar + 1 >= MAX_MALFORMED_POLLS) {
        return { kind: 'failed', failure: BAD_TASK_ANSWER, logMessage: `runway keeps sending task answers we cannot read: ${outcome.message}` };
      }
      return { kind: 'back_off', retryAfterMs: null, malformed: true, message: outcome.message };
    case 'not_found':
      return { kind: 'failed', failure: TASK_MISSING, logMessage: 'runway no longer knows the task' };
    case 'task': {
      const { task } = outcome;
      switch (task.status) {
        case 'PENDING':
        case 'THROTTLED':
          return { kind: 'waiting' };
        case 'RUNNING':
          return { kind: 'running', progress: task.progress ?? null };
        case 'SUCCEEDED':
          return { kind: 'succeeded', costCredits: task.cost?.credits ?? null, outputUrls: task.output };
        case 'FAILED':
          return { kind: 'task_failed', failureCode: task.failureCode, moderated: isModerationDecline(task.failureCode), costCredits: task.cost?.credits ?? null };
        case 'CANCELLED':
          return { kind: 'cancelled', costCredits: task.cost?.credits ?? null };
        default: {
          const unreachable: never = task;
          throw new Error(`unhandled task ${JSON.stringify(unreachable)}`);
        }
      }
    }
    default: {
      const unreachable: never = outcome;
      throw new Error(`unhandled poll outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
