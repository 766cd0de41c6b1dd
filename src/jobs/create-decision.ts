import type { Failure } from '../errors.ts';
import type { CreateOutcome } from '../runway/gateway.ts';

/** Consecutive "no task was made" answers (429, unreachable) after which a job is refunded. */
export const MAX_DEFERRED_CREATES = 6;

/** `runway.create_uncertain`: the create may or may not have made a task; it is never sent again. */
export const CREATE_UNCERTAIN: Failure = {
  code: 'runway.create_uncertain',
  userMessage: "We lost contact with Runway while starting your image, so we can't tell whether it started. You were not charged; please try again.",
};

const RATE_LIMITED: Failure = {
  code: 'runway.rate_limited',
  userMessage: 'Runway is at its generation limit for now. You were not charged; please try again later.',
};

const UNREACHABLE: Failure = {
  code: 'runway.unreachable',
  userMessage: 'Runway cannot be reached right now. You were not charged; please try again later.',
};

const REJECTED_REQUEST: Failure = {
  code: 'runway.rejected_request',
  userMessage: 'Runway refused this request. Check the prompt and reference images, then try again. You were not charged.',
};

/** What to do with a job after Runway answered its create. */
export type CreateDecision =
  | { readonly kind: 'submitted'; readonly taskId: string; readonly estimatedCredits: number | null }
  | { readonly kind: 'retry'; readonly afterMs: number; readonly reason: string }
  | { readonly kind: 'fail'; readonly failure: Failure; readonly logMessage: string };

/**
 * Runway's create is not idempotent: only an answer that proves no task was made (429, a refused
 * connection) may be retried, and only so often; anything that may have made a task is refunded
 * and never sent again. `deferredSoFar` counts earlier retries of this job.
 */
export function decideAfterCreate(outcome: CreateOutcome, deferredSoFar: number): CreateDecision {
  switch (outcome.kind) {
    case 'created':
      return { kind: 'submitted', taskId: outcome.taskId, estimatedCredits: outcome.estimatedCredits };
    case 'rate_limited':
    case 'unreachable':
      if (deferredSoFar + 1 < MAX_DEFERRED_CREATES) return { kind: 'retry', afterMs: outcome.retryAfterMs, reason: outcome.kind };
      return {
        kind: 'fail',
        logMessage: `runway create deferred ${MAX_DEFERRED_CREATES} times (${outcome.kind}); giving up`,
        failure: outcome.kind === 'rate_limited' ? RATE_LIMITED : UNREACHABLE,
      };
    case 'rejected':
      return {
        kind: 'fail',
        logMessage: `runway rejected the create (${outcome.status}): ${outcome.message}`,
        failure: REJECTED_REQUEST,
      };
    case 'ambiguous':
      return { kind: 'fail', logMessage: `runway create outcome unknown; not retrying (create is not idempotent): ${outcome.message}`, failure: CREATE_UNCERTAIN };
    default: {
      const unreachable: never = outcome;
      throw new Error(`unhandled create outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
