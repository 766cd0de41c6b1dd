import type { Failure } from '../../src/errors.ts';
/**
 * Test helpers for the transitions: a context for "us" and one for another instance on a migrated
 * database, and a job driven through the real transitions into any state. Everything goes through
 * the `Sql` interface, so the same helpers serve either backend.
 */
import { ManualClock } from '../../src/clock.ts';
import { CreditLedger } from '../../src/credits/ledger.ts';
import type { Database, Sql } from '../../src/store/sql.ts';
import type { JobState, NewJob } from '../../src/jobs/job.ts';
import { acceptJob } from '../../src/jobs/transitions/accept-job.ts';
import { JOB_LEASE_MS, type TransitionContext } from '../../src/jobs/transitions/context.ts';
import { markCancelled } from '../../src/jobs/transitions/mark-cancelled.ts';
import { markDelivered } from '../../src/jobs/transitions/mark-delivered.ts';
import { markFailed } from '../../src/jobs/transitions/mark-failed.ts';
import { markReady } from '../../src/jobs/transitions/mark-ready.ts';
import { markRunning } from '../../src/jobs/transitions/mark-running.ts';
import { markSubmitted } from '../../src/jobs/transitions/mark-submitted.ts';
import { markSucceeded } from '../../src/jobs/transitions/mark-succeeded.ts';
import { reject } from '../../src/jobs/transitions/reject.ts';
import { startSubmitting } from '../../src/jobs/transitions/start-submitting.ts';

export const ME = 'instance-me';
export const OTHER = 'instance-other';
export const ALLOWANCE = 40;
export const PRICE = 8;

export interface Fixture<D extends Database = Database> {
  readonly db: D;
  readonly clock: ManualClock;
  readonly ledger: CreditLedger;
  /** Transitions as this instance. */
  readonly ctx: TransitionContext;
  /** The same database as another instance. */
  readonly other: TransitionContext;
}

/** `db` (a fresh migrated database) with a daily allowance of ALLOWANCE credits. */
export function openFixture<D extends Database>(db: D, clock = new ManualClock(Date.UTC(2026, 0, 5, 12))): Fixture<D> {
  const ledger = new CreditLedger(db, clock, { allowance: ALLOWANCE, period: 'day' });
  return { db, clock, ledger, ctx: { db, ledger, clock, instanceId: ME, leaseMs: JOB_LEASE_MS }, other: { db, ledger, clock, instanceId: OTHER, leaseMs: JOB_LEASE_MS } };
}

/** A request by `userId` in community g1. */
export function newJob(userId = 'amy'): NewJob {
  return {
    platform: 'test',
    communityId: 'g1',
    userId,
    userName: userId,
    placeholder: '{}',
    request: { prompt: 'a koi pond', modelId: 'gen4_image', ratio: '1920:1080', seed: null, tags: [] },
  };
}

const FAILURE: Failure = { code: 'runway.failed', userMessage: 'it failed' };

/** A job of ours in `state`, reached through the real transitions (each asserted to apply). */
export async function jobIn(f: Fixture, state: JobState, userId = 'amy'): Promise<string> {
  const outcome = await acceptJob(f.ctx, newJob(userId), PRICE, 100);
  if (!outcome.ok) throw new Error(`could not accept: ${outcome.reason}`);
  const id = outcome.jobId;
  const step = async (applied: Promise<boolean>, what: string) => {
    if (!(await applied)) throw new Error(`fixture step ${what} did not apply`);
  };
  const path: Record<JobState, (() => Promise<void>)[]> = {
    queued: [],
    reserved: [() => step(markReady(f.ctx, id), 'markReady')],
    submitting: [],
    submitted: [],
    running: [],
    succeeded: [],
    delivered: [],
    rejected: [() => step(reject(f.ctx, id, FAILURE), 'reject')],
    failed: [],
    cancelled: [],
  };
  path.submitting = [...path.reserved, () => step(startSubmitting(f.ctx, id), 'startSubmitting')];
  path.submitted = [...path.submitting, () => step(markSubmitted(f.ctx, id, `task-${id}`, null, f.clock.now() + 5_000), 'markSubmitted')];
  path.running = [...path.submitted, () => step(markRunning(f.ctx, id, 0.5, f.clock.now() + 5_000), 'markRunning')];
  path.succeeded = [...path.running, () => step(markSucceeded(f.ctx, id, PRICE, f.clock.now()), 'markSucceeded')];
  path.delivered = [...path.succeeded, () => step(markDelivered(f.ctx, id), 'markDelivered')];
  path.failed = [...path.running, () => step(markFailed(f.ctx, id, FAILURE), 'markFailed')];
  path.cancelled = [...path.running, () => step(markCancelled(f.ctx, id, FAILURE), 'markCancelled')];
  for (const run of path[state]) await run();
  return id;
}

/** The job's whole row, to compare before and after. */
export async function rowOf(db: Sql, id: string): Promise<Record<string, unknown>> {
  return (await db.get<Record<string, unknown>>('select * from jobs where id = @id', { id })) as Record<string, unknown>;
}

/** The job's ledger entries, as kind and delta. */
export function entriesOf(db: Sql, id: string): Promise<{ kind: string; delta: number }[]> {
  return db.all<{ kind: string; delta: number }>('select kind, delta from ledger where job_id = @id order by id', { id });
}

/** A member's balance, straight from the ledger. */
export async function balanceOf(db: Sql, userId: string): Promise<number> {
  return (await db.value<number>("select coalesce(sum(delta), 0) from ledger where community_id = 'g1' and user_id = @userId", { userId })) as number;
}

/**
 * Make every ledger insert fail from now on (a full disk, say), until `heal` is called. SQLite: a
 * temporary trigger, on this connection only. PostgreSQL: a trigger on the table (its connections
 * are pooled), dropped again by `heal`.
 */
export async function breakLedgerWrites(db: Database): Promise<{ heal: () => Promise<void> }> {
  if (db.dialect === 'sqlite') {
    await db.run("create temp trigger break_ledger before insert on ledger begin select raise(abort, 'disk is full'); end");
    return { heal: async () => void (await db.run('drop trigger temp.break_ledger')) };
  }
  await db.run("create function break_ledger() returns trigger language plpgsql as $$ begin raise exception 'disk is full'; end $$");
  await db.run('create trigger break_ledger before insert on ledger for each row execute function break_ledger()');
  return {
    heal: async () => {
      await db.run('drop trigger break_ledger on ledger');
      await db.run('drop function break_ledger()');
    },
  };
}
