import { prepared } from '../../store/prepared.ts';
import type { TransitionContext } from './context.ts';

const MARK_DELIVERED = `
  update jobs set state = 'delivered', delivered_at = @now, result_link = @link, run_at = null, updated_at = @now
   where id = @id and state = 'succeeded' and locked_by = @instanceId`;

/** succeeded → delivered: the image is in the chat, at `link` when the platform told where. */
export function markDelivered(ctx: TransitionContext, id: string, link: string | null = null): boolean {
  return prepared(ctx.db, MARK_DELIVERED).run({ id, link, now: ctx.clock.now(), instanceId: ctx.instanceId }).changes === 1;
}
