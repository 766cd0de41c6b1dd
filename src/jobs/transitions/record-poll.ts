import type { TransitionContext } from './context.ts';

const RECORD_UNFINISHED = `
  update jobs set run_at = @nextPollAt, attempts = 0, malformed_polls = 0, last_unfinished_at = @now, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

const RECORD_TROUBLE = `
  update jobs set run_at = @retryAt, attempts = attempts + 1,
                  malformed_polls = case when @malformed = 1 then malformed_polls + 1 else 0 end, updated_at = @now
   where id = @id and state in ('submitted','running') and locked_by = @instanceId`;

/** submitted|running, unchanged: a poll found the task still waiting at Runway; look again at `nextPollAt`. */
export async function recordUnfinishedPoll(ctx: TransitionContext, id: string, nextPollAt: number): Promise<boolean> {
  return (await ctx.db.run(RECORD_UNFINISHED, { id, nextPollAt, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}

/** submitted|running, unchanged: a poll failed (or its answer did not parse); one attempt more, try again at `retryAt`. */
export async function recordPollTrouble(ctx: TransitionContext, id: string, retryAt: number, malformed: boolean): Promise<boolean> {
  return (
    (await ctx.db.run(RECORD_TROUBLE, { id, retryAt, malformed: malformed ? 1 : 0, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1
  );
}
