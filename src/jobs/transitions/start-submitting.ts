import type { TransitionContext } from './context.ts';

/**
 * How long a create may be in flight. The SDK gives up after 60 s; a job still `submitting` after
 * this was stranded (its answer could not be recorded) and is failed as uncertain, refunded.
 */
export const SUBMIT_DEADLINE_MS = 120_000;

const START_SUBMITTING = `
  update jobs set state = 'submitting', run_at = @deadline, updated_at = @now
   where id = @id and state = 'reserved' and locked_by = @instanceId and run_at <= @now`;

/** reserved → submitting, just before the create call; only when due (a 429's Retry-After has passed). Only one caller can win it. */
export async function startSubmitting(ctx: TransitionContext, id: string): Promise<boolean> {
  const now = ctx.clock.now();
  return (await ctx.db.run(START_SUBMITTING, { id, now, deadline: now + SUBMIT_DEADLINE_MS, instanceId: ctx.instanceId })).changes === 1;
}
