import { inTransaction, type TransitionContext } from './context.ts';

// The delivery is due at once (run_at = now); attempts now count delivery tries.
const MARK_SUCCEEDED = `
  update jobs set state = 'succeeded', cost_credits = @cost, progress = 1, finished_at = @finishedAt,
                  run_at = @now, attempts = 0, malformed_polls = 0, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

/**
 * submitted|running → succeeded, settled at Runway's final cost in the same transaction.
 * `finishedAt` is the best guess of when Runway finished (it says only that it has).
 */
export async function markSucceeded(ctx: TransitionContext, id: string, costCredits: number, finishedAt: number): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    const changed =
      (await tx.db.run(MARK_SUCCEEDED, { id, cost: costCredits, finishedAt, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
    if (changed) await tx.ledger.settle(id, costCredits);
    return changed;
  });
}
