import type { Failure } from '../../errors.ts';
import { inTransaction, type TransitionContext } from './context.ts';

const REJECT = `
  update jobs set state = 'rejected', failure_code = @code, failure_message = @message,
                  finished_at = @now, run_at = null, updated_at = @now
   where id = @id and state = 'queued' and locked_by = @instanceId`;

/** queued → rejected (a bad reference, a failed upload, lost references), refunding whatever it holds in the same transaction. */
export async function reject(ctx: TransitionContext, id: string, failure: Failure): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const changed = (await tx.db.run(REJECT, { id, code: failure.code, message: failure.userMessage, now, instanceId: ctx.instanceId })).changes === 1;
    if (changed) await tx.ledger.refund(id, `rejected: ${failure.code}`);
    return changed;
  });
}
