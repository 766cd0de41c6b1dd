import type { Failure } from '../../src/errors.ts';
/**
 * Test helpers for the transitions: a migrated in-memory database, a context for "us" and one for
 * another instance, and a job driven through the real transitions into any state.
 */
import { ManualClock } from '../../src/clock.ts';
import { CreditLedger } from '../../src/credits/ledger.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import type { JobState, NewJob } from '../../src/jobs/job.ts';
import { acceptJob } from '../../src/jobs/transitions/accept-job.ts';
import type { TransitionContext } from '../../src/jobs/transitions/context.ts';
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

export interface Fixture {
  readonly db: Db;
  readonly clock: ManualClock;
  readonly ledger: CreditLedger;
  /** Transitions as this instance. */
  readonly ctx: TransitionContext;
  /** The same database as another instance. */
  readonly other: TransitionContext;
}

/** A fresh database with a daily allowance of ALLOWANCE credits. */
export function openFixture(db: Db = openDatabase(':memory:'), clock = new ManualClock(Date.UTC(2026, 0, 5, 12))): Fixture {
  const ledger = new CreditLedger(db, clock, { allowance: ALLOWANCE, period: 'day' });
  return { db, clock, ledger, ctx: { db, ledger, clock, instanceId: ME }, other: { db, ledger, clock, instanceId: OTHER } };
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
export function jobIn(f: Fixture, state: JobState, userId = 'amy'): string {
  const outcome = acceptJob(f.ctx, newJob(userId), PRICE, 100);
  if (!outcome.ok) throw new Error(`could not accept: ${outcome.reason}`);
  const id = outcome.jobId;
  const step = (applied: boolean, what: string) => {
    if (!applied) throw new Error(`fixture step ${what} did not apply`);
  };
  const path: Record<JobState, (() => void)[]> = {
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
  for (const run of path[state]) run();
  return id;
}

/** The job's whole row, to compare before and after. */
export function rowOf(db: Db, id: string): Record<string, unknown> {
  return db.prepare('select * from jobs where id = ?').get(id) as Record<string, unknown>;
}

/** The job's ledger entries, as kind and delta. */
export function entriesOf(db: Db, id: string): { kind: string; delta: number }[] {
  return db.prepare('select kind, delta from ledger where job_id = ? order by id').all(id) as { kind: string; delta: number }[];
}

/** A member's balance, straight from the ledger. */
export function balanceOf(db: Db, userId: string): number {
  return db.prepare("select coalesce(sum(delta), 0) from ledger where community_id = 'g1' and user_id = ?").pluck().get(userId) as number;
}

/** Make every ledger insert fail from now on (a full disk, say), until `heal` is called. */
export function breakLedgerWrites(db: Db): { heal: () => void } {
  db.exec("create temp trigger break_ledger before insert on ledger begin select raise(abort, 'disk is full'); end");
  return { heal: () => db.exec('drop trigger temp.break_ledger') };
}
