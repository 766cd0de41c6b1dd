import type { TransitionContext } from './context.ts';

const DEFER_DELIVERY = `
  update jobs set run_at = @retryAt, attempts = attempts + 1, updated_at = @now
   where id = @id and state = 'succeeded' and locked_by = @instanceId`;

/** succeeded, unchanged: a delivery failed; one attempt more, try again at `retryAt`. */
export async function deferDelivery(ctx: TransitionContext, id: string, retryAt: number): Promise<boolean> {
  return (await ctx.db.run(DEFER_DELIVERY, { id, retryAt, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
