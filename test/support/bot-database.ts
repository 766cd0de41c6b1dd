/**
 * Read-only looks into a running (or killed) bot's SQLite file: the job rows are the state
 * machine, the ledger rows are the money. Each look opens and closes its own read-only
 * connection, so the test never holds a lock the bot needs.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface JobView {
  readonly id: string;
  readonly userId: string;
  readonly state: string;
  readonly placeholder: string;
  readonly taskId: string | null;
  readonly costCredits: number | null;
  readonly failureCode: string | null;
}

export interface LedgerEntry {
  readonly id: number;
  readonly community_id: string;
  readonly user_id: string;
  readonly job_id: string | null;
  readonly kind: string;
  readonly delta: number;
  readonly actor_id: string;
  readonly note: string | null;
  readonly model: string | null;
  readonly spend_at: number | null;
  readonly created_at: number;
}

function withDatabase<T>(path: string, read: (db: Database.Database) => T, empty: T): T {
  if (!existsSync(path)) return empty;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const hasJobs = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'jobs'").get();
    return hasJobs ? read(db) : empty;
  } finally {
    db.close();
  }
}

/** Every job, oldest first ([] before the bot has created its schema). */
export function readJobs(path: string): JobView[] {
  return withDatabase(
    path,
    (db) =>
      db
        .prepare(
          `select id, user_id as userId, state, placeholder, task_id as taskId, cost_credits as costCredits, failure_code as failureCode
           from jobs order by created_at, rowid`,
        )
        .all() as JobView[],
    [],
  );
}

/** The whole ledger, in id order. */
export function readLedger(path: string): LedgerEntry[] {
  return withDatabase(path, (db) => db.prepare('select * from ledger order by id').all() as LedgerEntry[], []);
}

/** The sandbox's request number (`[#n]`) stored in a job's placeholder. */
export function requestNumberOf(job: JobView): number {
  const parsed: unknown = JSON.parse(job.placeholder);
  const request = (parsed as { request?: unknown }).request;
  if (typeof request !== 'number') throw new Error(`job ${job.id} has no sandbox request number`);
  return request;
}
