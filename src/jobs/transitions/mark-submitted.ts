import { inTransaction, type TransitionContext } from './context.ts';

const MARK_SUBMITTED = `
  update jobs set state = 'submitted', task_id = @taskId, estimated_credits = @estimate,
                  reserved_credits = coalesce(@estimate, reserved_credits), submitted_at = @now,
                  run_at = @firstPollAt, attempts = 0, malformed_polls = 0, last_unfinished_at = null, updated_at = @now
   where id = @id and state = 'submitting' and locked_by = @instanceId`;

/**
 * submitting → submitted with Runway's task id, first polled at `firstPollAt`. The hold follows
 * Runway's estimate (an `adjust` entry) in the same transaction.
 */
export async function markSubmitted(ctx: TransitionContext, id: string, taskId: string, estimatedCredits: number | null, firstPollAt: number): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const now = ctx.clock.now();
    const changed =
      (await tx.db.run(MARK_SUBMITTED, { id, taskId, estimate: estimatedCredits, firstPollAt, now, instanceId: ctx.instanceId })).changes === 1;
    if (changed && estimatedCredits !== null && estimatedCredits !== (await tx.ledger.heldFor(id))) {
      await tx.ledger.adjust(id, estimatedCredits, "held amount follows Runway's estimate");
    }
    return changed;
  });
}
