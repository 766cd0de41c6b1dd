import type { TransitionContext } from './context.ts';

// An answer without a figure keeps the last reading (and its time): the pace is measured between readings.
const MARK_RUNNING = `
  update jobs set state = 'running', progress = coalesce(@progress, progress),
                  progress_at = case when @progress is null then progress_at else @now end,
                  run_at = @nextPollAt, attempts = 0, malformed_polls = 0, last_unfinished_at = @now, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

/** submitted|running → running, with Runway's progress (0..1) when it gives one, read now; polled again at `nextPollAt`. */
export async function markRunning(ctx: TransitionContext, id: string, progress: number | null, nextPollAt: number): Promise<boolean> {
  return (await ctx.db.run(MARK_RUNNING, { id, progress, nextPollAt, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
