import { inTransaction, type TransitionContext } from './context.ts';

/**
 * How long a create may be in flight. The SDK gives up after 60 s; a job still `submitting` after
 * this was stranded (its answer could not be recorded) and is failed as uncertain, refunded.
 */
export const SUBMIT_DEADLINE_MS = 120_000;

// The organisation's concurrency is Runway's, shared by every process on the database: the slot is
// counted in the same statement that takes it, from the rows, whoever sent them.
const START_SUBMITTING = `
  update jobs set state = 'submitting', run_at = @deadline, updated_at = @now
   where id = @id and state = 'reserved' and locked_by = @instanceId and run_at <= @now
     and (select count(*) from jobs busy
           where busy.model = jobs.model and busy.state in ('submitting','submitted','running')) < @slots`;

/**
 * reserved → submitting, just before the create call; only when due (a 429's Retry-After has
 * passed) and while fewer than `slots` generations of its model are at Runway. Only one caller can
 * win it. A write transaction: two processes counting the same free slot at once cannot both take
 * it (one statement alone would let them, on PostgreSQL, under READ COMMITTED).
 */
export async function startSubmitting(ctx: TransitionContext, id: string, slots: number = Number.MAX_SAFE_INTEGER): Promise<boolean> {
  const now = ctx.clock.now();
  return inTransaction(ctx, async (tx) => {
    const { changes } = await tx.db.run(START_SUBMITTING, { id, now, deadline: now + SUBMIT_DEADLINE_MS, instanceId: ctx.instanceId, slots });
    return changes === 1;
  });
}
