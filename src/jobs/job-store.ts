import type { Clock } from '../clock.ts';
import type { CreditLedger } from '../credits/ledger.ts';
import type { Failure } from '../errors.ts';
import { dialectText, type Sql } from '../store/sql.ts';
import { userKey, type ServiceHistory, type WaitingJob } from './fair-queue.ts';
import { jobFromRow, type Job, type JobIn, type JobState, type NewJob, type ReferenceUri } from './job.ts';
import { acceptJob, IN_FLIGHT_OF_MEMBER, type AcceptOutcome } from './transitions/accept-job.ts';
import { backToQueue } from './transitions/back-to-queue.ts';
import { JOB_LEASE_MS, type TransitionContext } from './transitions/context.ts';
import { cancelWaiting } from './transitions/cancel-waiting.ts';
import { deferDelivery } from './transitions/defer-delivery.ts';
import { markCancelled } from './transitions/mark-cancelled.ts';
import { markDelivered } from './transitions/mark-delivered.ts';
import { markFailed } from './transitions/mark-failed.ts';
import { markReady } from './transitions/mark-ready.ts';
import { markRunning } from './transitions/mark-running.ts';
import { markSubmitted } from './transitions/mark-submitted.ts';
import { markSucceeded } from './transitions/mark-succeeded.ts';
import { markTaskFailed } from './transitions/mark-task-failed.ts';
import { releaseJobs, renewJobLeases, takeOverJobs } from './transitions/ownership.ts';
import { recordPollTrouble, recordUnfinishedPoll } from './transitions/record-poll.ts';
import { reject } from './transitions/reject.ts';
import { saveCheckpoint } from './transitions/save-checkpoint.ts';
import { setReferenceUris } from './transitions/set-reference-uris.ts';
import { neededHashes, referencesOf, refreshReferences, setReferences, type StoredReference } from './transitions/set-references.ts';
import { startSubmitting } from './transitions/start-submitting.ts';

export type { AcceptOutcome, AcceptRefusal } from './transitions/accept-job.ts';
export type { StoredReference } from './transitions/set-references.ts';

/** A job that is due, as much of it as deciding what to start needs. */
export interface DueJob {
  readonly id: string;
  readonly state: 'submitting' | 'submitted' | 'running' | 'succeeded';
  readonly platform: string;
}

// The where clauses below repeat the partial indexes' (`state not in (…final…)`) word for word:
// SQLite uses a partial index only for a query that states its condition.
const UNFINISHED_JOBS = `
  select * from jobs where state not in ('delivered','rejected','failed','cancelled') order by created_at, rowid`;

// SQLite: `indexed by`: the due list must be a range over run_at; should the index go, this fails
// loudly instead of quietly scanning (without statistics SQLite may prefer the per-state index).
// PostgreSQL has no such hint; its planner has statistics. Only what the runner needs to decide
// whether to start work: it reads the whole row when it does. With many jobs in flight, the ones
// already being worked stay due until their work ends, and would otherwise be parsed on every tick.
const dueJobs = (hint: string): string => `
  select id, state, platform from jobs ${hint}
   where state not in ('delivered','rejected','failed','cancelled') and run_at <= @now and locked_by = @instanceId
     and state in ('submitting','submitted','running','succeeded')
   order by run_at, rowid limit @limit`;
const DUE_JOBS = { sqlite: dueJobs('indexed by jobs_due'), postgres: dueJobs('') };

// The soonest any of our jobs is next due, after now: the runner sleeps until then (or its idle
// tick), so a poll timed to a task's finish is not held back to the tick.
const nextDueAt = (hint: string): string => `
  select min(run_at) from jobs ${hint}
   where state not in ('delivered','rejected','failed','cancelled') and run_at > @now and locked_by = @instanceId
     and state in ('reserved','submitting','submitted','running','succeeded')`;
const NEXT_DUE_AT = { sqlite: nextDueAt('indexed by jobs_due'), postgres: nextDueAt('') };

const recentDurations = (hint: string): string => `
  select finished_at - submitted_at as ms from jobs ${hint}
   where model = @model and finished_at is not null and state in ('succeeded','delivered') and submitted_at is not null
   order by finished_at desc limit @limit`;
const RECENT_DURATIONS = { sqlite: recentDurations('indexed by jobs_model_finished'), postgres: recentDurations('') };

/**
 * The durable job, bound to this instance: reads, and the transitions in `./transitions/`, each one
 * guarded SQL statement (by the state it expects and by `locked_by` = this instance) that writes the
 * ledger entry it implies in the same transaction, so the ledger and the job can never disagree. A
 * transition that finds the job elsewhere changes nothing and returns false: someone else won, which
 * is not an error (graphile-worker style); every caller decides what that means for it.
 */
export class JobStore {
  private readonly ctx: TransitionContext;

  constructor(
    private readonly db: Sql,
    ledger: CreditLedger,
    clock: Clock,
    /** This process's id, the `locked_by` of the jobs it works (see src/store/instance-lease.ts). */
    readonly instanceId: string,
    /** How long a job stays ours without renewal: how long another process waits before taking it over. */
    readonly leaseMs: number = JOB_LEASE_MS,
  ) {
    this.ctx = { db, ledger, clock, instanceId, leaseMs };
  }

  /** → queued holding `price`, unless the member is at `maxJobsPerMember` or the ledger refuses; then nothing is written. */
  accept(job: NewJob, price: number, maxJobsPerMember: number): Promise<AcceptOutcome> {
    return acceptJob(this.ctx, job, price, maxJobsPerMember);
  }

  /** queued: remember the uploaded references' `runway://` URIs. */
  setReferenceUris(id: string, uris: readonly ReferenceUri[]): Promise<boolean> {
    return setReferenceUris(this.ctx, id, uris);
  }

  /** queued: record the references (bytes in the store, their Runway upload) with the job's URIs. */
  setReferences(id: string, refs: readonly StoredReference[]): Promise<boolean> {
    return setReferences(this.ctx, id, refs);
  }

  /** submitting: the references uploaded again just before the create. */
  refreshReferences(id: string, refs: readonly StoredReference[]): Promise<boolean> {
    return refreshReferences(this.ctx, id, refs);
  }

  /** A job's stored references, in order. */
  referencesOf(id: string): Promise<StoredReference[]> {
    return referencesOf(this.ctx, id);
  }

  /** The reference files some job still needs (unfinished, or created since `since`). */
  neededReferenceHashes(since: number): Promise<Set<string>> {
    return neededHashes(this.ctx, since);
  }

  /** queued → reserved: ready for a Runway slot. */
  markReady(id: string): Promise<boolean> {
    return markReady(this.ctx, id);
  }

  /** queued → rejected, refunding what it holds. */
  reject(id: string, failure: Failure): Promise<boolean> {
    return reject(this.ctx, id, failure);
  }

  /** reserved → submitting, when due and one of its model's `slots` is free (across every process). */
  startSubmitting(id: string, slots?: number): Promise<boolean> {
    return startSubmitting(this.ctx, id, slots);
  }

  /** submitting → reserved, due again at `runAt`. */
  backToQueue(id: string, runAt: number): Promise<boolean> {
    return backToQueue(this.ctx, id, runAt);
  }

  /** submitting → submitted; the hold follows Runway's estimate. */
  markSubmitted(id: string, taskId: string, estimatedCredits: number | null, firstPollAt: number): Promise<boolean> {
    return markSubmitted(this.ctx, id, taskId, estimatedCredits, firstPollAt);
  }

  /** submitted|running → running, remembering the reading and when it was read. */
  markRunning(id: string, progress: number | null, nextPollAt: number): Promise<boolean> {
    return markRunning(this.ctx, id, progress, nextPollAt);
  }

  /** A poll found the task still waiting. */
  recordUnfinishedPoll(id: string, nextPollAt: number): Promise<boolean> {
    return recordUnfinishedPoll(this.ctx, id, nextPollAt);
  }

  /** A poll failed; back off until `retryAt`. */
  recordPollTrouble(id: string, retryAt: number, malformed: boolean): Promise<boolean> {
    return recordPollTrouble(this.ctx, id, retryAt, malformed);
  }

  /** submitted|running → succeeded, settled. */
  markSucceeded(id: string, costCredits: number, finishedAt: number): Promise<boolean> {
    return markSucceeded(this.ctx, id, costCredits, finishedAt);
  }

  /** succeeded: save the platform's delivery checkpoint. */
  saveCheckpoint(id: string, value: string): Promise<boolean> {
    return saveCheckpoint(this.ctx, id, value);
  }

  /** A delivery failed; try again at `retryAt`. */
  deferDelivery(id: string, retryAt: number): Promise<boolean> {
    return deferDelivery(this.ctx, id, retryAt);
  }

  /** succeeded → delivered, with where the result was posted. */
  markDelivered(id: string, link: string | null = null): Promise<boolean> {
    return markDelivered(this.ctx, id, link);
  }

  /** A member's last delivered results in a community, newest first. */
  async deliveredOf(communityId: string, userId: string, limit: number): Promise<JobIn<'delivered'>[]> {
    const rows = await this.db.all<unknown>(
      `select * from jobs where community_id = @communityId and user_id = @userId and state = 'delivered'
        order by delivered_at desc, rowid desc limit @limit`,
      { communityId, userId, limit },
    );
    return rows.map((row) => jobFromRow(row)).filter((job): job is JobIn<'delivered'> => job.state === 'delivered');
  }

  /** Any unfinished state → failed, refunded. */
  markFailed(id: string, failure: Failure): Promise<boolean> {
    return markFailed(this.ctx, id, failure);
  }

  /** Runway finished the task as FAILED → failed, charged what Runway charged; a moderated one is a strike. */
  markTaskFailed(id: string, failure: Failure, charge: { costCredits: number; moderated: boolean }): Promise<boolean> {
    return markTaskFailed(this.ctx, id, failure, charge);
  }

  /** Runway cancelled the task → cancelled, charged what Runway reported (usually nothing). */
  markCancelled(id: string, failure: Failure, costCredits = 0): Promise<boolean> {
    return markCancelled(this.ctx, id, failure, costCredits);
  }

  /** queued|reserved → cancelled by the member, refunded: nothing reached Runway. */
  cancelWaiting(id: string, failure: Failure): Promise<boolean> {
    return cancelWaiting(this.ctx, id, failure);
  }

  /** Keep our unfinished jobs ours for another lease period. */
  renewLeases(): Promise<number> {
    return renewJobLeases(this.ctx);
  }

  /** Take the unfinished jobs nobody works (see takeOverJobs). */
  takeOver(previousHolder: string | null): Promise<{ id: string; state: JobState }[]> {
    return takeOverJobs(this.ctx, previousHolder);
  }

  /** Let go of our unfinished jobs on a clean stop. */
  release(): Promise<number> {
    return releaseJobs(this.ctx);
  }

  /** One job, typed for its state. */
  async get(id: string): Promise<Job | undefined> {
    const row = await this.db.get<unknown>('select * from jobs where id = @id', { id });
    return row === undefined ? undefined : jobFromRow(row);
  }

  /** Every job not yet in a final state, whoever works it, oldest first. */
  async unfinished(): Promise<Job[]> {
    return (await this.db.all<unknown>(UNFINISHED_JOBS)).map((row) => jobFromRow(row));
  }

  /** Our jobs that need a look now (a stranded submit, a poll, a delivery), earliest first, at most `limit`. */
  due(nowMs: number, limit = 1_000_000): Promise<DueJob[]> {
    return this.db.all<DueJob>(dialectText(this.db.dialect, DUE_JOBS), { now: nowMs, instanceId: this.instanceId, limit });
  }

  /** When the next of our jobs falls due after `nowMs` (a poll, a retry, a deferred create), or null. */
  async nextDueAt(nowMs: number): Promise<number | null> {
    return (await this.db.value<number | null>(dialectText(this.db.dialect, NEXT_DUE_AT), { now: nowMs, instanceId: this.instanceId })) ?? null;
  }

  /** Our `queued` jobs created before `createdBefore`: acceptances that may have stopped half way (Bot.recoverStranded). */
  async queuedOf(createdBefore: number): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      `select id from jobs where state = 'queued' and locked_by = @instanceId and created_at < @createdBefore order by created_at, rowid`,
      { instanceId: this.instanceId, createdBefore },
    );
    return rows.map((row) => row.id);
  }

  /** How many of a member's jobs are unfinished: what the per-member limit counts. */
  async inFlightOf(communityId: string, userId: string): Promise<number> {
    return (await this.db.value<number>(IN_FLIGHT_OF_MEMBER, { communityId, userId })) ?? 0;
  }

  /** How many jobs of a platform are not finished: a count, for the sandbox's wait at the end of piped input. */
  async unfinishedCountOf(platform: string): Promise<number> {
    return (
      (await this.db.value<number>(`select count(*) from jobs where platform = @platform and state not in ('delivered','rejected','failed','cancelled')`, {
        platform,
      })) ?? 0
    );
  }

  /**
   * What the fair queue needs, in three light queries (this runs every tick): our waiting jobs,
   * when each community and member last had a job sent to Runway (over the past day), and how
   * many generations of each model are at Runway now (whoever sent them, from any process: the
   * slots are Runway's).
   */
  async dispatchSnapshot(nowMs: number): Promise<{ waiting: WaitingJob[]; history: ServiceHistory; inFlightPerModel: Map<string, number> }> {
    const rows = await this.db.all<{ id: string; community_id: string; user_id: string; model: string; created_at: number; run_at: number | null }>(
      `select id, community_id, user_id, model, created_at, run_at from jobs
        where state = 'reserved' and locked_by = @instanceId order by created_at, rowid`,
      { instanceId: this.instanceId },
    );
    const waiting = rows.map((r) => ({ id: r.id, communityId: r.community_id, userId: r.user_id, model: r.model, createdAt: r.created_at, notBefore: r.run_at }));
    const communities = new Map<string, number>();
    const users = new Map<string, number>();
    // Nothing waits (most ticks): the queue needs neither the service history nor the slots in use.
    if (waiting.length === 0) return { waiting, history: { communities, users }, inFlightPerModel: new Map() };
    const served = await this.db.all<{ community_id: string; user_id: string; at: number }>(
      `select community_id, user_id, max(submitted_at) as at from jobs
        where submitted_at >= @since group by community_id, user_id`,
      { since: nowMs - 24 * 60 * 60 * 1000 },
    );
    for (const row of served) {
      users.set(userKey(row.community_id, row.user_id), row.at);
      communities.set(row.community_id, Math.max(communities.get(row.community_id) ?? 0, row.at));
    }
    const inFlight = await this.db.all<{ model: string; n: number }>(
      `select model, count(*) as n from jobs where state in ('submitting','submitted','running') group by model`,
    );
    return { waiting, history: { communities, users }, inFlightPerModel: new Map(inFlight.map((r) => [r.model, r.n])) };
  }

  /** Credits held for the job right now. */
  heldCredits(id: string): Promise<number> {
    return this.ctx.ledger.heldFor(id);
  }

  /** Recent generation times for a model (submitted → succeeded), newest first, from the database: what the poll schedule learns from, so a restart keeps it. */
  async recentDurationsMs(model: string, limit: number): Promise<number[]> {
    const rows = await this.db.all<{ ms: number }>(dialectText(this.db.dialect, RECENT_DURATIONS), { model, limit });
    return rows.map((row) => row.ms);
  }
}

export type { Job, JobIn };
