import { prepared } from '../../store/prepared.ts';
import type { Failure } from '../../errors.ts';
import type { TransitionContext } from './context.ts';
import { settleOrRefund } from './mark-task-failed.ts';

const MARK_CANCELLED = `
  update jobs set state = 'cancelled', failure_code = @code, failure_message = @message,
                  cost_credits = @cost, finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('reserved','submitting','submitted','running') and locked_by = @instanceId`;

/**
 * reserved|submitting|submitted|running → cancelled (Runway cancelled the task): charged what Runway
 * reported for it (usually 0, a full refund), in the same transaction.
 */
export function markCancelled(ctx: TransitionContext, id: string, failure: Failure, costCredits = 0): boolean {
  return ctx.db
    .transaction(() => {
      const now = ctx.clock.now();
      const changed =
        prepared(ctx.db, MARK_CANCELLED).run({ id, code: failure.code, message: failure.userMessage, cost: costCredits, now, instanceId: ctx.instanceId }).changes === 1;
      if (changed) settleOrRefund(ctx, id, costCredits, `cancelled: ${failure.code}`);
      return changed;
    })
    .immediate();
}
