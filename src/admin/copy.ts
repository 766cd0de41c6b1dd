/**
 * `npm run admin -- copy-to-postgres <postgres-url>`: the move from one process on SQLite to
 * several on PostgreSQL. Every row of the bot's SQLite file at DATABASE_PATH is copied into an
 * empty PostgreSQL database in one transaction (src/store/copy-to-postgres.ts), which the bot then
 * opens with DATABASE_URL. The bot must be stopped: a bot still running on the file would go on
 * writing jobs and credits that the copy never sees.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { Clock } from '../clock.ts';
import { copySqliteToPostgres, CopyFailedError, CopySchemaMismatchError, CopyTargetNotEmptyError } from '../store/copy-to-postgres.ts';
import { DatabaseConnectionRefusedError, DatabaseUnreachableError, openPostgres } from '../store/open-postgres.ts';
import { DatabaseSchemaTooNewError } from '../store/postgres-migrate.ts';
import type { PostgresDatabase } from '../store/postgres-sql.ts';
import { DatabaseUrlInvalidError } from '../store/postgres-url.ts';
import type { CopyCommand } from './args.ts';
import { failed, refused, succeeded, type AdminResult } from './result.ts';

/** Copy the SQLite database at `databasePath` into the empty PostgreSQL database `command.url`. */
export async function runCopyToPostgres(databasePath: string, command: CopyCommand, clock: Clock): Promise<AdminResult> {
  if (databasePath === ':memory:' || !existsSync(databasePath)) {
    return failed({ code: 'admin.no_database', message: `No database at ${databasePath}: set DATABASE_PATH (or .env) to the bot's SQLite file, the one to copy.` });
  }
  const source = new Database(databasePath, { readonly: true, fileMustExist: true });
  try {
    const running = runningBot(source, clock.now());
    if (running !== null) {
      return refused({
        code: 'admin.bot_running',
        message: `A bot is still running on ${databasePath} (${running}). Stop it first: what it writes after the copy would not reach PostgreSQL.`,
      });
    }
    let target: PostgresDatabase;
    try {
      // A fresh database gets the schema here, as the bot would give it; the retries stay short: the operator is waiting.
      target = await openPostgres(command.url, { clock, retry: { maxAttempts: 3, firstDelayMs: 500, maxDelayMs: 2_000 } });
    } catch (error) {
      if (isOpenError(error)) return failed({ code: error.code, message: error.message });
      throw error;
    }
    try {
      const { tables } = await copySqliteToPostgres(source, target);
      const counts = Object.entries(tables).map(([table, rows]) => `${table} ${rows}`).join(', ');
      return succeeded(
        `Copied ${databasePath} to PostgreSQL at ${target.description}: ${counts}.\n` +
          `Next: set DATABASE_URL to that database (and unset DATABASE_PATH), set REFERENCE_DIR to a directory every bot process shares, ` +
          `copy ${databasePath}'s references/ folder there, and start the bots. Keep ${databasePath} until they run well.`,
      );
    } catch (error) {
      if (error instanceof CopyTargetNotEmptyError || error instanceof CopySchemaMismatchError || error instanceof CopyFailedError) {
        return failed({ code: error.code, message: error.message });
      }
      throw error;
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
}

/** Who holds the file's instance lease, unexpired; null when no bot runs on it. */
function runningBot(source: Database.Database, nowMs: number): string | null {
  const table = source.prepare("select 1 from sqlite_master where type = 'table' and name = 'instance_lease'").get();
  if (!table) return null;
  const holder = source.prepare('select hostname, pid, expires_at as expiresAt from instance_lease where id = 1').get() as
    | { hostname: string; pid: number; expiresAt: number }
    | undefined;
  if (!holder || holder.expiresAt <= nowMs) return null;
  return `process ${holder.pid} on host ${holder.hostname}`;
}

type OpenError = DatabaseUrlInvalidError | DatabaseUnreachableError | DatabaseConnectionRefusedError | DatabaseSchemaTooNewError;

function isOpenError(error: unknown): error is OpenError {
  return (
    error instanceof DatabaseUrlInvalidError ||
    error instanceof DatabaseUnreachableError ||
    error instanceof DatabaseConnectionRefusedError ||
    error instanceof DatabaseSchemaTooNewError
  );
}
