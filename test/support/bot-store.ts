/**
 * A bot process's store on the project's backend (test/support/test-database.ts), and read-only
 * looks into it that work on either: the SQLite file through ./bot-database.ts's `readJobs` and
 * `readLedger`, a PostgreSQL database through its `readPostgresJobs` and `readPostgresLedger`.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { PostgresDatabase } from '../../src/store/postgres-sql.ts';
import { readJobs, readLedger, readPostgresJobs, readPostgresLedger, type JobView, type LedgerEntry } from './bot-database.ts';
import { newTestStore, type Backend } from './test-database.ts';

export interface BotStore {
  readonly backend: Backend;
  /** DATABASE_PATH, or DATABASE_URL and REFERENCE_DIR: the part of the bot's environment that names its store. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * What a test that kills the bot and starts it again adds to `env`. On PostgreSQL the new process
   * is another instance, which takes the dead one's jobs only when their lease runs out: a short
   * lease (JOB_LEASE_SECONDS=2). On SQLite nothing: the file's instance lease hands them over at once.
   */
  readonly crashEnv: Readonly<Record<string, string>>;
  /** What the bot must never log about its store: the password in DATABASE_URL ([] on SQLite). */
  readonly secrets: readonly string[];
  /** Every job, oldest first ([] before the bot has created its schema). */
  readJobs(): Promise<JobView[]>;
  /** The whole ledger, in id order. */
  readLedger(): Promise<LedgerEntry[]>;
  /**
   * The rows of a query written for both dialects ([] before the bot has created its schema).
   * Quote camel-case aliases (`as "userId"`): PostgreSQL folds unquoted names to lower case.
   */
  select<T>(text: string): Promise<T[]>;
  /** Drop the PostgreSQL database; nothing on SQLite, whose file goes with its directory. */
  discard(): Promise<void>;
}

/** A new store for a bot process: the SQLite file `file` in `dir`, or a new PostgreSQL database (reference images in `dir`). */
export async function newBotStore(dir: string, file = 'bot.db'): Promise<BotStore> {
  const store = await newTestStore(dir, file);
  const { DATABASE_PATH: path, DATABASE_URL: url } = store.env;
  if (path !== undefined) {
    return {
      backend: 'sqlite',
      env: store.env,
      crashEnv: {},
      secrets: [],
      readJobs: async () => readJobs(path),
      readLedger: async () => readLedger(path),
      select: async <T>(text: string) => selectFromFile<T>(path, text),
      discard: store.discard,
    };
  }
  if (url === undefined) throw new Error('a test store names neither DATABASE_PATH nor DATABASE_URL');
  // One connection for this test's looks; ended before the database is dropped.
  const reader = new PostgresDatabase(PostgresDatabase.pool(url, { max: 1 }), 'a test looking in');
  return {
    backend: 'postgres',
    env: store.env,
    crashEnv: { JOB_LEASE_SECONDS: '2' },
    secrets: [decodeURIComponent(new URL(url).password)].filter((password) => password !== ''),
    // The same fields as on SQLite, so an assertion on a whole view holds on both.
    readJobs: async () =>
      (await readPostgresJobs(url)).map(({ id, userId, state, placeholder, taskId, costCredits, failureCode }) => ({ id, userId, state, placeholder, taskId, costCredits, failureCode })),
    readLedger: () => readPostgresLedger(url),
    select: async <T>(text: string) => ((await reader.value<boolean>("select to_regclass('public.jobs') is not null")) ? reader.all<T>(text) : []),
    discard: async () => {
      await reader.close();
      await store.discard();
    },
  };
}

/** A query on a read-only connection of its own, so the test never holds a lock the bot needs. */
function selectFromFile<T>(path: string, text: string): T[] {
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const hasJobs = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'jobs'").get();
    return hasJobs ? (db.prepare(text).all() as T[]) : [];
  } finally {
    db.close();
  }
}
