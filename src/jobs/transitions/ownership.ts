import type { JobState } from '../job.ts';
import { JOB_LEASE_MS, type TransitionContext } from './context.ts';

const RENEW = `
  update jobs set locked_until = @lockedUntil
   where locked_by = @instanceId and state not in ('delivered','rejected','failed','cancelled')`;

// A submitting job taken over is due at once: its create may have reached Runway, and only the
// runner's "uncertain" path (never a second create) may finish it. A row from before run_at existed
// gets one. Our own jobs are never "taken over": one may be mid-acceptance in this very process.
const TAKE_OVER = `
  update jobs set locked_by = @instanceId, locked_until = @lockedUntil,
                  run_at = case when state = 'submitting' then @now else coalesce(run_at, @now) end, updated_at = @now
   where state not in ('delivered','rejected','failed','cancelled')
     and (locked_by is null or (locked_by <> @instanceId and (locked_until <= @now or locked_by = @previousHolder)))
  returning id, state`;

const RELEASE = `
  update jobs set locked_by = null, locked_until = null
   where locked_by = @instanceId and state not in ('delivered','rejected','failed','cancelled')`;

/** Keep every unfinished job of ours for another JOB_LEASE_MS, in one statement. Returns how many. */
export async function renewJobLeases(ctx: TransitionContext): Promise<number> {
  return (await ctx.db.run(RENEW, { instanceId: ctx.instanceId, lockedUntil: ctx.clock.now() + JOB_LEASE_MS })).changes;
}

/**
 * Take the unfinished jobs nobody works any more: unowned, lease expired, or held by
 * `previousHolder`, the instance whose process lease we took over (it is gone). Returns them.
 */
export async function takeOverJobs(ctx: TransitionContext, previousHolder: string | null): Promise<{ id: string; state: JobState }[]> {
  const now = ctx.clock.now();
  return ctx.db.all<{ id: string; state: JobState }>(TAKE_OVER, { instanceId: ctx.instanceId, lockedUntil: now + JOB_LEASE_MS, now, previousHolder });
}

/** Let go of our unfinished jobs (a clean stop), so the next instance takes them at once. Returns how many. */
export async function releaseJobs(ctx: TransitionContext): Promise<number> {
  return (await ctx.db.run(RELEASE, { instanceId: ctx.instanceId })).changes;
}
