import type { TransitionContext } from './context.ts';

const SAVE_CHECKPOINT = `
  update jobs set delivery_checkpoint = @value, updated_at = @now
   where id = @id and state = 'succeeded' and locked_by = @instanceId`;

/** succeeded: durable scratch space for a platform's multi-step delivery. False when the job is not ours and being delivered. */
export async function saveCheckpoint(ctx: TransitionContext, id: string, value: string): Promise<boolean> {
  return (await ctx.db.run(SAVE_CHECKPOINT, { id, value, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
