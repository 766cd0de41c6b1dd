import type { TransitionContext } from './context.ts';

// A queued job from before holds moved to acceptance holds nothing and must not go on.
const MARK_READY = `
  update jobs set state = 'reserved', run_at = @now, attempts = 0, updated_at = @now
   where id = @id and state = 'queued' and locked_by = @instanceId and reserved_credits is not null`;

/** queued → reserved: references are uploaded, the job waits for a Runway slot. Its hold was taken at acceptance. */
export async function markReady(ctx: TransitionContext, id: string): Promise<boolean> {
  return (await ctx.db.run(MARK_READY, { id, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
