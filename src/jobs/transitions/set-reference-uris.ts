import type { ReferenceUri } from '../job.ts';
import type { TransitionContext } from './context.ts';

const SET_REFERENCE_URIS = `
  update jobs set reference_uris = @uris, updated_at = @now
   where id = @id and state = 'queued' and locked_by = @instanceId`;

/** queued: remember the `runway://` URIs of the uploaded references. False when the job is not ours and queued. */
export async function setReferenceUris(ctx: TransitionContext, id: string, uris: readonly ReferenceUri[]): Promise<boolean> {
  return (await ctx.db.run(SET_REFERENCE_URIS, { id, uris: JSON.stringify(uris), now: ctx.clock.now(), instanceId: ctx.instanceId })).changes === 1;
}
