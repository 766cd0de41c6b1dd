import type { TransitionContext } from './context.ts';

const BACK_TO_QUEUE = `
  update jobs set state = 'reserved', run_at = @runAt, attempts = attempts + 1, updated_at = @now
   where id = @id and state = 'submitting' and locked_by = @instanceId`;

/** submitting → reserved: the create provably made no task (429, refused); try again at `runAt`, one attempt more. */
export async function backToQueue(ctx: TransitionContext, id: string, runAt: number): Promise<boolean> {
  return (await ctx.db.run(BACK_TO_QUEUE, { id, runAt, now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
