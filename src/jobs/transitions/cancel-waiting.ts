import { prepared } from '../../store/prepared.ts';
import type { Failure } from '../../errors.ts';
import type { TransitionContext } from './context.ts';

const CANCEL_WAITING = `
  update jobs set state = 'cancelled', failure_code = @code, failure_message = @message,
                  finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('queued','reserved') and locked_by = @instanceId`;

/**
 * queued|reserved → cancelled: the member cancelled before anything reached Runway, so whatever is
 * held is refunded in the same transaction. A job that moved on (submitting, or further) is not
 * touched: its cancellation goes through Runway (`DELETE /v1/tasks/{id}`) and `markCancelled`.
 */
export function cancelWaiting(ctx: TransitionContext, id: string, failure: Failure): boolean {
  return ctx.db
    .transaction(() => {
      const now = ctx.clock.now();
      const changed = prepared(ctx.db, CANCEL_WAITING).run({ id, code: failure.code, message: failure.userMessage, now, instanceId: ctx.instanceId }).changes === 1;
      if (changed) ctx.ledger.refund(id, `cancelled: ${failure.code}`);
      return changed;
    })
    .immediate();
}
