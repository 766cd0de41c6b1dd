import { prepared } from '../../store/prepared.ts';
import type { Failure } from '../../errors.ts';
import type { TransitionContext } from './context.ts';

const MARK_TASK_FAILED = `
  update jobs set state = 'failed', failure_code = @code, failure_message = @message, moderated = @moderated,
                  cost_credits = @cost, finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

/**
 * submitted|running → failed: Runway finished the task as FAILED. The member is charged what Runway
 * charged (it bills a moderated generation like a finished one; other failures usually cost 0),
 * settled in the same transaction; `moderated` makes the job a strike against the member.
 */
export function markTaskFailed(ctx: TransitionContext, id: string, failure: Failure, charge: { costCredits: number; moderated: boolean }): boolean {
  return ctx.db
    .transaction(() => {
      const now = ctx.clock.now();
      const changed =
        prepared(ctx.db, MARK_TASK_FAILED).run({
          id, code: failure.code, message: failure.userMessage, moderated: charge.moderated ? 1 : 0, cost: charge.costCredits, now, instanceId: ctx.instanceId,
        }).changes === 1;
      if (changed) settleOrRefund(ctx, id, charge.costCredits, `failed: ${failure.code}`);
      return changed;
    })
    .immediate();
}

/** Charge a finished task its cost, or give everything back when it cost nothing. */
export function settleOrRefund(ctx: TransitionContext, id: string, costCredits: number, note: string): void {
  if (costCredits > 0) ctx.ledger.settle(id, costCredits);
  else ctx.ledger.refund(id, note);
}
