import type { Failure } from '../../errors.ts';
import { inTransaction, type TransitionContext } from './context.ts';

const MARK_FAILED = `
  update jobs set state = 'failed', failure_code = @code, failure_message = @message,
                  finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state in ('queued','reserved','submitting','submitted','running','succeeded')
     and locked_by = @instanceId`;

/**
 * Any unfinished state → failed, refunding in the same transaction whatever is held, or what a
 * succeeded job was charged (its image never reached the chat). A failed job costs nothing.
 */
export async function markFailed(ctx: TransitionContext, id: string, failure: Failure): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const changed = (await tx.db.run(MARK_FAILED, { id, code: failure.code, message: failure.userMessage, now, instanceId: ctx.instanceId })).changes === 1;
    if (changed) {
      await tx.ledger.refund(id, `failed: ${failure.code}`);
      await tx.ledger.refundSettled(id, `failed: ${failure.code}`);
    }
    return changed;
  });
}
