/**
 * Read-only looks into a running (or killed) bot's SQLite file: the job rows are the state
 * machine, the ledger rows are the money. Each look opens and closes its own read-only
 * connection, so the test never holds a lock the bot needs. The same looks into a bot's
 * PostgreSQL database are at the end (`readPostgresJobs`, `readPostgresLedger`).
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';

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

/** A job as read from PostgreSQL: also its community and the process that owns (or last owned) it. */
export interface PostgresJobView extends JobView {
  readonly communityId: string;
  /** The `instanceId` of the process whose lease the job is under; kept once the job is finished. */
  readonly lockedBy: string | null;
  /** When that lease runs out (epoch ms) unless renewed. */
  readonly lockedUntil: number | null;
}

/** int8 columns (credits, epoch milliseconds, ledger ids) as numbers, as the bot reads them (src/store/postgres-sql.ts). */
const postgresTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * One small pool per database URL, for the looks below. A test polls the database every few
 * milliseconds while two bots work it: a new server process per look would slow them down. Idle
 * connections close on their own, and a dropped database's connections are reported to a listener
 * that ignores them, so nothing here needs closing.
 */
const postgresPools = new Map<string, pg.Pool>();

function postgresPool(url: string): pg.Pool {
  let pool = postgresPools.get(url);
  if (!pool) {
    pool = new pg.Pool({ connectionString: url, max: 1, types: postgresTypes, idleTimeoutMillis: 1_000, allowExitOnIdle: true });
    pool.on('error', () => {});
    postgresPools.set(url, pool);
  }
  return pool;
}

async function withPostgres<T>(url: string, read: (pool: pg.Pool) => Promise<T>, empty: T): Promise<T> {
  const pool = postgresPool(url);
  const hasJobs = await pool.query<{ exists: boolean }>("select to_regclass('public.jobs') is not null as exists");
  return hasJobs.rows[0]?.exists ? read(pool) : empty;
}

/** readJobs for a bot on PostgreSQL (DATABASE_URL): every job, oldest first ([] before the bot has migrated). */
export function readPostgresJobs(url: string): Promise<PostgresJobView[]> {
  return withPostgres(
    url,
    async (pool) =>
      (
        await pool.query<PostgresJobView>(
          `select id, user_id as "userId", community_id as "communityId", state, placeholder, task_id as "taskId",
                  cost_credits as "costCredits", failure_code as "failureCode",
                  locked_by as "lockedBy", locked_until as "lockedUntil"
             from jobs order by created_at, rowid`,
        )
      ).rows,
    [],
  );
}

/** readLedger for a bot on PostgreSQL: the whole ledger, in id order. */
export function readPostgresLedger(url: string): Promise<LedgerEntry[]> {
  return withPostgres(url, async (pool) => (await pool.query<LedgerEntry>('select * from ledger order by id')).rows, []);
}
