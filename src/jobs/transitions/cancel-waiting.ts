import type { Failure } from '../../errors.ts';
import { inTransaction, type TransitionContext } from './context.ts';

const CANCEL_WAITING = `
  update jobs set state = 'cancelled', failure_code = @code, failure_message = @message,
                  finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('queued','reserved') and locked_by = @instanceId`;

/**
 * queued|reserved → cancelled: the member cancelled before anything reached Runway, so whatever is
 * held is refunded in the same transaction. A job that moved on (submitting, or further) is not
 * touched: its cancellation goes through Runway (`DELETE /v1/tasks/{id}`) and `markCancelled`.
 */
export async function cancelWaiting(ctx: TransitionContext, id: string, failure: Failure): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const changed = (await tx.db.run(CANCEL_WAITING, { id, code: failure.code, message: failure.userMessage, now, instanceId: ctx.instanceId })).changes === 1;
    if (changed) await tx.ledger.refund(id, `cancelled: ${failure.code}`);
    return changed;
  });
}
