import type { Failure } from '../../errors.ts';
import { inTransaction, type TransitionContext } from './context.ts';
import { settleOrRefund } from './mark-task-failed.ts';

const MARK_CANCELLED = `
  update jobs set state = 'cancelled', failure_code = @code, failure_message = @message,
                  cost_credits = @cost, finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('reserved','submitting','submitted','running') and locked_by = @instanceId`;

/**
 * reserved|submitting|submitted|running → cancelled (Runway cancelled the task): charged what Runway
 * reported for it (usually 0, a full refund), in the same transaction.
 */
export async function markCancelled(ctx: TransitionContext, id: string, failure: Failure, costCredits = 0): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const changed =
      (await tx.db.run(MARK_CANCELLED, { id, code: failure.code, message: failure.userMessage, cost: costCredits, now, instanceId: ctx.instanceId })).changes === 1;
    if (changed) await settleOrRefund(tx, id, costCredits, `cancelled: ${failure.code}`);
    return changed;
  });
}
