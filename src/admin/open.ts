/**
 * Open the bot's existing database for the operator's tool, beside a running bot. Unlike the bot's
 * own `openDatabase`, it never creates a file (a mistyped DATABASE_PATH would otherwise yield an
 * empty database that "has no communities") and never migrates: changing the schema under a
 * running bot is the bot's job at its start, not the tool's.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { Db } from '../store/database.ts';
import { MIGRATIONS } from '../store/migrations.ts';
import { LATEST_POSTGRES_VERSION } from '../store/postgres-migrate.ts';
import { PostgresDatabase } from '../store/postgres-sql.ts';
import { DatabaseUrlInvalidError, parseDatabaseUrl, type PostgresTarget } from '../store/postgres-url.ts';
import type { Database as AdminDatabase } from '../store/sql.ts';
import { SqliteDatabase } from '../store/sqlite-sql.ts';
import type { AdminProblem } from './result.ts';

/** How long a write waits for the bot's transaction to finish before giving up (the bot uses the same). */
const BUSY_TIMEOUT_MS = 5_000;

export type AdminOpened = { readonly ok: true; readonly db: AdminDatabase } | { readonly ok: false; readonly problem: AdminProblem };

/** The SQLite database at `path` behind the `Sql` interface, or the reason it cannot be used. */
export function openAdminSqlite(path: string): AdminOpened {
  const opened = openAdminDatabase(path);
  return opened.ok ? { ok: true, db: new SqliteDatabase(opened.db, path) } : opened;
}

/**
 * The PostgreSQL database at `url`, at the schema this tool knows, or the reason it cannot be used.
 * As on SQLite, it never migrates: that is the bot's job when it starts.
 */
export async function openAdminPostgres(url: string): Promise<AdminOpened> {
  let target: PostgresTarget;
  try {
    target = parseDatabaseUrl(url);
  } catch (error) {
    if (error instanceof DatabaseUrlInvalidError) return { ok: false, problem: { code: error.code, message: error.message } };
    throw error;
  }
  const db = new PostgresDatabase(PostgresDatabase.pool(target.connectionString, { max: 2 }), target.description);
  try {
    const version = await postgresSchemaVersion(db);
    if (version !== LATEST_POSTGRES_VERSION) {
      await db.close();
      const advice = version < LATEST_POSTGRES_VERSION ? 'start the bot once to upgrade it, then try again' : "update this tool to the bot's version";
      return {
        ok: false,
        problem: { code: 'admin.schema_mismatch', message: `The database at ${target.description} has schema version ${version}, this tool needs ${LATEST_POSTGRES_VERSION}: ${advice}.` },
      };
    }
    return { ok: true, db };
  } catch (error) {
    await db.close();
    const reason = target.redact(error instanceof Error ? error.message : String(error));
    return { ok: false, problem: { code: 'admin.database_unusable', message: `Cannot use the database at ${target.description} (${reason}): is DATABASE_URL the bot's database?` } };
  }
}

/** 0 for a database the bot never started on. */
async function postgresSchemaVersion(db: PostgresDatabase): Promise<number> {
  const table = await db.value<string | null>("select to_regclass('schema_migrations')::text");
  if (table === null || table === undefined) return 0;
  return (await db.value<number | null>('select max(version) from schema_migrations')) ?? 0;
}

/** The database at `path`, ready for the ledger, or the reason it cannot be used. */
export function openAdminDatabase(path: string): { ok: true; db: Db } | { ok: false; problem: AdminProblem } {
  if (path === ':memory:' || !existsSync(path)) {
    return { ok: false, problem: { code: 'admin.no_database', message: `No database at ${path}: set DATABASE_PATH (or .env) to the bot's database file.` } };
  }
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // No journal_mode here: the bot put the file in WAL mode at its first start, and the mode is stored in the file.
    const version = schemaVersion(db);
    const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    if (version !== latest) {
      db.close();
      const advice = version < latest ? 'start the bot once to upgrade it, then try again' : 'update this tool to the bot\'s version';
      return { ok: false, problem: { code: 'admin.schema_mismatch', message: `The database at ${path} has schema version ${version}, this tool needs ${latest}: ${advice}.` } };
    }
    return { ok: true, db };
  } catch (error) {
    if (db.open) db.close();
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, problem: { code: 'admin.database_unusable', message: `Cannot read the database at ${path} (${reason}): is DATABASE_PATH the bot's database?` } };
  }
}

function schemaVersion(db: Db): number {
  const table = db.prepare<[], { name: string }>("select name from sqlite_master where type = 'table' and name = 'schema_migrations'").get();
  if (!table) return 0;
  return db.prepare<[], { version: number | null }>('select max(version) as version from schema_migrations').get()?.version ?? 0;
}
