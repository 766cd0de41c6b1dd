import type { Failure } from '../../errors.ts';
import { inTransaction, type TransitionContext } from './context.ts';

const MARK_TASK_FAILED = `
  update jobs set state = 'failed', failure_code = @code, failure_message = @message, moderated = @moderated,
                  cost_credits = @cost, finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

/**
 * submitted|running → failed: Runway finished the task as FAILED. The member is charged what Runway
 * charged (it bills a moderated generation like a finished one; other failures usually cost 0),
 * settled in the same transaction; `moderated` makes the job a strike against the member.
 */
export async function markTaskFailed(ctx: TransitionContext, id: string, failure: Failure, charge: { costCredits: number; moderated: boolean }): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const changed =
      (await tx.db.run(MARK_TASK_FAILED, {
        id, code: failure.code, message: failure.userMessage, moderated: charge.moderated ? 1 : 0, cost: charge.costCredits, now, instanceId: ctx.instanceId,
      })).changes === 1;
    if (changed) await settleOrRefund(tx, id, charge.costCredits, `failed: ${failure.code}`);
    return changed;
  });
}

/** Charge a finished task its cost, or give everything back when it cost nothing. */
export async function settleOrRefund(ctx: TransitionContext, id: string, costCredits: number, note: string): Promise<void> {
  if (costCredits > 0) await ctx.ledger.settle(id, costCredits);
  else await ctx.ledger.refund(id, note);
}
