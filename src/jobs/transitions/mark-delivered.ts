import { prepared } from '../../store/prepared.ts';
import type { TransitionContext } from './context.ts';

const MARK_DELIVERED = `
  update jobs set state = 'delivered', delivered_at = @now, run_at = null, updated_at = @now
   where id = @id and state = 'succeeded' and locked_by = @instanceId`;

/** succeeded → delivered: the image is in the chat. */
export function markDelivered(ctx: TransitionContext, id: string): boolean {
  return prepared(ctx.db, MARK_DELIVERED).run({ id, now: ctx.clock.now(), instanceId: ctx.instanceId }).changes === 1;
}
