import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { CreditLedger, ReserveOutcome } from '../credits/ledger.ts';
import type { Statement } from 'better-sqlite3';
import type { Failure } from '../errors.ts';
import type { Db } from '../store/database.ts';
import { userKey, type ServiceHistory, type WaitingJob } from './fair-queue.ts';
import { JOB_STATES, jobFromRow, TERMINAL_STATES, type Job, type JobIn, type JobState, type NewJob, type ReferenceUri } from './job.ts';

/** The states recovery resumes: every state but the final ones, as an SQL list of literals. */
const UNFINISHED = `(${JOB_STATES.filter((state) => !TERMINAL_STATES.has(state)).map((state) => `'${state}'`).join(',')})`;

/**
 * The durable job: every transition is one transaction, guarded by the state it expects
 * (`… where id = ? and state in (…)`), that also writes the ledger entry the transition implies,
 * so the ledger and the job can never disagree. A transition that finds the job elsewhere changes
 * nothing and returns false: someone else won, which is not an error (graphile-worker style).
 */
export class JobStore {
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Db,
    private readonly ledger: CreditLedger,
    private readonly clock: Clock,
  ) {}

  /** Prepared once, reused: preparing is a real cost on the paths that run every tick. */
  private sql(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Store a new request before anything is spent. */
  insert(job: NewJob): string {
    const id = randomUUID();
    const now = this.clock.now();
    this.sql(
        `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      )
      .run(id, job.platform, job.communityId, job.userId, job.userName, job.placeholder, JSON.stringify(job.request), job.request.modelId, now, now);
    return id;
  }

  get(id: string): Job | undefined {
    const row: unknown = this.sql('select * from jobs where id = ?').get(id);
    return row === undefined ? undefined : jobFromRow(row);
  }

  /** Every job not yet in a final state, oldest first: what recovery resumes on start. */
  unfinished(): Job[] {
    return this.sql(`select * from jobs where state in ${UNFINISHED} order by created_at, rowid`)
      .all()
      .map((row) => jobFromRow(row));
  }

  /** Jobs in the given states, oldest first. */
  inStates(states: readonly JobState[]): Job[] {
    const marks = states.map(() => '?').join(',');
    return this.sql(`select * from jobs where state in (${marks}) order by created_at, rowid`)
      .all(...states)
      .map((row) => jobFromRow(row));
  }

  /**
   * What the fair queue needs, in three light queries (this runs every tick): the waiting jobs,
   * when each community and member last had a job sent to Runway (over the past day), and how
   * many generations of each model are at Runway now.
   */
  dispatchSnapshot(nowMs: number): { waiting: WaitingJob[]; history: ServiceHistory; inFlightPerModel: Map<string, number> } {
    const waiting = (
      this.sql(
          `select id, community_id, user_id, model, created_at, run_at from jobs
           where state = 'reserved' order by created_at, rowid`,
        )
        .all() as { id: string; community_id: string; user_id: string; model: string; created_at: number; run_at: number | null }[]
    ).map((r) => ({ id: r.id, communityId: r.community_id, userId: r.user_id, model: r.model, createdAt: r.created_at, notBefore: r.run_at }));
    const communities = new Map<string, number>();
    const users = new Map<string, number>();
    if (waiting.length > 0) {
      const served = this.sql(
          `select community_id, user_id, max(submitted_at) as at from jobs
           where submitted_at >= ? group by community_id, user_id`,
        )
        .all(nowMs - 24 * 60 * 60 * 1000) as { community_id: string; user_id: string; at: number }[];
      for (const row of served) {
        users.set(userKey(row.community_id, row.user_id), row.at);
        communities.set(row.community_id, Math.max(communities.get(row.community_id) ?? 0, row.at));
      }
    }
    const inFlightPerModel = new Map(
      (
        this.sql(`select model, count(*) as n from jobs where state in ('submitting','submitted','running') group by model`)
          .all() as { model: string; n: number }[]
      ).map((r) => [r.model, r.n]),
    );
    return { waiting, history: { communities, users }, inFlightPerModel };
  }

  /** queued: remember the `runway://` URIs of the uploaded references. */
  setReferenceUris(id: string, uris: readonly ReferenceUri[]): boolean {
    return this.update(id, ['queued'], { reference_uris: JSON.stringify(uris) });
  }

  /** queued → reserved, holding `amount` credits; or → rejected when the budget or cap says no. */
  reserve(id: string, amount: number): ReserveOutcome | { ok: false; reason: 'not_queued' } {
    return this.db.transaction((): ReserveOutcome | { ok: false; reason: 'not_queued' } => {
      const job = this.get(id);
      if (!job || job.state !== 'queued') return { ok: false, reason: 'not_queued' };
      const now = this.clock.now();
      const outcome = this.ledger.reserve({
        communityId: job.communityId,
        userId: job.userId,
        displayName: job.userName,
        jobId: id,
        model: job.request.modelId,
        amount,
        atMs: now,
      });
      if (outcome.ok) this.update(id, ['queued'], { state: 'reserved', reserved_credits: amount, reserved_at: now });
      return outcome;
    }).immediate();
  }

  /** queued → rejected: refused before anything was spent. */
  reject(id: string, failure: Failure): boolean {
    return this.update(id, ['queued'], { state: 'rejected', failure_code: failure.code, failure_message: failure.userMessage, finished_at: this.clock.now() });
  }

  /** reserved → submitting, just before the create call. Only one caller can win it. */
  startSubmitting(id: string): boolean {
    return this.update(id, ['reserved'], { state: 'submitting' });
  }

  /** submitting → reserved: the create provably made no task (429, refused); try after `notBefore`. */
  backToQueue(id: string, notBefore: number): boolean {
    return this.update(id, ['submitting'], { state: 'reserved', run_at: notBefore });
  }

  /** submitting → submitted; the reservation follows Runway's estimate. */
  markSubmitted(id: string, taskId: string, estimatedCredits: number | null): boolean {
    return this.db.transaction(() => {
      const changed = this.update(id, ['submitting'], {
        state: 'submitted',
        task_id: taskId,
        estimated_credits: estimatedCredits,
        submitted_at: this.clock.now(),
      });
      if (changed && estimatedCredits !== null && estimatedCredits !== this.ledger.heldFor(id)) {
        this.ledger.adjust(id, estimatedCredits, "held amount follows Runway's estimate");
        this.update(id, ['submitted'], { reserved_credits: estimatedCredits });
      }
      return changed;
    }).immediate();
  }

  /** submitted|running → running, with Runway's progress (0..1) when it gives one. */
  markRunning(id: string, progress: number | null): boolean {
    return this.update(id, ['submitted', 'running'], { state: 'running', progress });
  }

  /**
   * submitted|running → succeeded; the reservation is settled with Runway's final cost.
   * `finishedAt` is the best guess of when Runway finished (it says only that it has).
   */
  markSucceeded(id: string, costCredits: number, finishedAt = this.clock.now()): boolean {
    return this.db.transaction(() => {
      const changed = this.update(id, ['submitted', 'running'], { state: 'succeeded', cost_credits: costCredits, progress: 1, finished_at: finishedAt });
      if (changed) this.ledger.settle(id, costCredits);
      return changed;
    }).immediate();
  }

  /** succeeded → delivered: the image is in the chat. */
  markDelivered(id: string): boolean {
    return this.update(id, ['succeeded'], { state: 'delivered', delivered_at: this.clock.now() });
  }

  /** Any unfinished state → failed, refunding whatever is held. A failed generation costs nothing. */
  markFailed(id: string, failure: Failure, from: readonly JobState[] = ['queued', 'reserved', 'submitting', 'submitted', 'running', 'succeeded']): boolean {
    return this.finishWithRefund(id, 'failed', failure, from);
  }

  /** submitted|running → cancelled (Runway cancelled the task), refunded. */
  markCancelled(id: string, failure: Failure): boolean {
    return this.finishWithRefund(id, 'cancelled', failure, ['reserved', 'submitting', 'submitted', 'running']);
  }

  /** Credits held for the job right now. */
  heldCredits(id: string): number {
    return this.ledger.heldFor(id);
  }

  /** Durable scratch space for a platform's multi-step delivery. */
  saveCheckpoint(id: string, value: string): void {
    this.sql('update jobs set delivery_checkpoint = ?, updated_at = ? where id = ?').run(value, this.clock.now(), id);
  }

  /** Recent generation times for a model (submitted → succeeded), newest first: to time the first poll. */
  recentDurationsMs(model: string, limit: number): number[] {
    return this.sql(
        `select finished_at - submitted_at from jobs
         where model = ? and state in ('succeeded','delivered') and submitted_at is not null and finished_at is not null
         order by finished_at desc limit ?`,
      )
      .pluck()
      .all(model, limit) as number[];
  }

  private finishWithRefund(id: string, state: 'failed' | 'cancelled', failure: Failure, from: readonly JobState[]): boolean {
    return this.db.transaction(() => {
      const changed = this.update(id, from, { state, failure_code: failure.code, failure_message: failure.userMessage, finished_at: this.clock.now() });
      if (changed) {
        this.ledger.refund(id, `${state}: ${failure.code}`);
        // A succeeded job was already settled; failing it (its image could not be delivered) gives that back.
        this.ledger.refundSettled(id, `${state}: ${failure.code}`);
      }
      return changed;
    }).immediate();
  }

  /** One guarded update: changes the row only if it is in one of `from`. */
  private update(id: string, from: readonly JobState[], fields: Record<string, string | number | null>): boolean {
    const columns = Object.keys(fields);
    const sets = columns.map((c) => `${c} = @${c}`).join(', ');
    const marks = from.map((_, i) => `@from${i}`).join(',');
    const params: Record<string, string | number | null> = { ...fields, id, updated_at: this.clock.now() };
    from.forEach((state, i) => (params[`from${i}`] = state));
    const result = this.sql(`update jobs set ${sets}, updated_at = @updated_at where id = @id and state in (${marks})`).run(params);
    return result.changes === 1;
  }
}

export type { Job, JobIn };
