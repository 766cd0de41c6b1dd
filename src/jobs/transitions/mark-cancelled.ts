import { prepared } from '../../store/prepared.ts';
import type { Failure } from '../../errors.ts';
import type { TransitionContext } from './context.ts';

const MARK_CANCELLED = `
  update jobs set state = 'cancelled', failure_code = @code, failure_message = @message,
                  finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('reserved','submitting','submitted','running') and locked_by = @instanceId`;

/** reserved|submitting|submitted|running → cancelled (Runway cancelled the task), refunded in the same transaction. */
export function markCancelled(ctx: TransitionContext, id: string, failure: Failure): boolean {
  return ctx.db
    .transaction(() => {
      const now = ctx.clock.now();
      const changed = prepared(ctx.db, MARK_CANCELLED).run({ id, code: failure.code, message: failure.userMessage, now, instanceId: ctx.instanceId }).changes === 1;
      if (changed) ctx.ledger.refund(id, `cancelled: ${failure.code}`);
      return changed;
    })
    .immediate();
}
