import { prepared } from '../../store/prepared.ts';
import type { TransitionContext } from './context.ts';

// The delivery is due at once (run_at = now); attempts now count delivery tries.
const MARK_SUCCEEDED = `
  update jobs set state = 'succeeded', cost_credits = @cost, progress = 1, finished_at = @finishedAt,
                  run_at = @now, attempts = 0, malformed_polls = 0, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

/**
 * submitted|running → succeeded, settled at Runway's final cost in the same transaction.
 * `finishedAt` is the best guess of when Runway finished (it says only that it has).
 */
export function markSucceeded(ctx: TransitionContext, id: string, costCredits: number, finishedAt: number): boolean {
  return ctx.db
    .transaction(() => {
      const changed =
        prepared(ctx.db, MARK_SUCCEEDED).run({ id, cost: costCredits, finishedAt, now: ctx.clock.now(), instanceId: ctx.instanceId }).changes === 1;
      if (changed) ctx.ledger.settle(id, costCredits);
      return changed;
    })
    .immediate();
}
