import { dialectText } from '../../store/sql.ts';
import type { JobState } from '../job.ts';
import type { TransitionContext } from './context.ts';

const RENEW = `
  update jobs set locked_until = @lockedUntil
   where locked_by = @instanceId and state not in ('delivered','rejected','failed','cancelled')`;

// A submitting job taken over is due at once: its create may have reached Runway, and only the
// runner's "uncertain" path (never a second create) may finish it. A row from before run_at existed
// gets one. Our own jobs are never "taken over": one may be mid-acceptance in this very process.
//
// On PostgreSQL several live processes may look for orphans at once. Each claims a batch with
// FOR UPDATE SKIP LOCKED (graphile-worker's and pg-boss's claim): rows another claimer is locking
// are skipped rather than waited for, so orphans spread over the survivors instead of all going to
// whichever asked first, and no claimer blocks on another. The where clause is checked again under
// the row lock, so a job is never claimed twice. On SQLite one process works the database.
const TAKE_OVER_SET = `
  update jobs set locked_by = @instanceId, locked_until = @lockedUntil,
                  run_at = case when state = 'submitting' then @now else coalesce(run_at, @now) end, updated_at = @now`;
const ORPHANED = `
  state not in ('delivered','rejected','failed','cancelled')
  and (locked_by is null or (locked_by <> @instanceId and (locked_until <= @now or locked_by = cast(@previousHolder as text))))`;
const TAKE_OVER = {
  sqlite: `${TAKE_OVER_SET} where ${ORPHANED} returning id, state`,
  postgres: `${TAKE_OVER_SET}
   where id in (select id from jobs where ${ORPHANED} order by created_at, rowid limit @batch for update skip locked)
     and ${ORPHANED}
  returning id, state`,
};

/** How many orphans one PostgreSQL claim takes: the rest are left for the other processes' next sweep. */
export const TAKE_OVER_BATCH = 100;

const RELEASE = `
  update jobs set locked_by = null, locked_until = null
   where locked_by = @instanceId and state not in ('delivered','rejected','failed','cancelled')`;

/** Keep every unfinished job of ours for another lease, in one statement. Returns how many. */
export async function renewJobLeases(ctx: TransitionContext): Promise<number> {
  return (await ctx.db.run(RENEW, { instanceId: ctx.instanceId, lockedUntil: ctx.clock.now() + ctx.leaseMs })).changes;
}

/**
 * Take the unfinished jobs nobody works any more: unowned, lease expired, or held by
 * `previousHolder`, the instance whose process lease we took over (it is gone). Returns them.
 */
export async function takeOverJobs(ctx: TransitionContext, previousHolder: string | null): Promise<{ id: string; state: JobState }[]> {
  const now = ctx.clock.now();
  return ctx.db.all<{ id: string; state: JobState }>(dialectText(ctx.db.dialect, TAKE_OVER), {
    instanceId: ctx.instanceId,
    lockedUntil: now + ctx.leaseMs,
    now,
    previousHolder,
    batch: TAKE_OVER_BATCH,
  });
}

/** Let go of our unfinished jobs (a clean stop), so the next instance takes them at once. Returns how many. */
export async function releaseJobs(ctx: TransitionContext): Promise<number> {
  return (await ctx.db.run(RELEASE, { instanceId: ctx.instanceId })).changes;
}
