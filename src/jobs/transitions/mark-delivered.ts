import type { TransitionContext } from './context.ts';

const MARK_DELIVERED = `
  update jobs set state = 'delivered', delivered_at = @now, result_link = @link, run_at = null, updated_at = @now
   where id = @id and state = 'succeeded' and locked_by = @instanceId`;

/** succeeded → delivered: the image is in the chat, at `link` when the platform told where. */
export async function markDelivered(ctx: TransitionContext, id: string, link: string | null = null): Promise<boolean> {
  return (await ctx.db.run(MARK_DELIVERED, { id, link, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
