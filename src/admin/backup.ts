/**
 * `npm run admin -- backup <file> [--force]`: a consistent copy of the bot's database, taken with
 * SQLite's online backup while the bot keeps running (src/store/backup.ts). Like the rest of the
 * tool it never creates or migrates the database; unlike the ledger commands it accepts a database
 * of an older schema, since the moment before an upgrade is exactly when a copy is wanted.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Clock } from '../clock.ts';
import { backupDatabase } from '../store/backup.ts';
import type { BackupCommand } from './args.ts';
import { formatUtc } from '../credits/messages.ts';
import { failed, refused, succeeded, type AdminResult } from './result.ts';

/** How long the copy waits for the bot's write transaction before giving up (the bot uses the same). */
const BUSY_TIMEOUT_MS = 5_000;

/** Copy the database at `databasePath` to `command.file`; refuses to replace a file without --force. */
export async function runBackup(databasePath: string, command: BackupCommand, clock: Clock): Promise<AdminResult> {
  const { file, force } = command;
  if (databasePath === ':memory:' || !existsSync(databasePath)) {
    return failed({ code: 'admin.no_database', message: `No database at ${databasePath}: set DATABASE_PATH (or .env) to the bot's database file.` });
  }
  if (resolve(file) === resolve(databasePath)) {
    return refused({ code: 'admin.usage', message: `${file} is the database itself: give the backup another name.` });
  }
  if (existsSync(file) && !force) {
    return refused({ code: 'admin.backup_exists', message: `${file} already exists: choose another name, or add --force to replace it.` });
  }
  let db: Database.Database;
  try {
    db = new Database(databasePath, { fileMustExist: true });
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  } catch (error) {
    return failed({ code: 'admin.database_unusable', message: `Cannot read the database at ${databasePath} (${reason(error)}): is DATABASE_PATH the bot's database?` });
  }
  try {
    const { pages } = await backupDatabase(db, file);
    const kib = Math.ceil(statSync(file).size / 1024);
    return succeeded(
      `Backed up ${databasePath} to ${file} (${pages} pages, ${kib} KiB) at ${formatUtc(clock.now())}.\n` +
        `To restore it: stop the bot, delete ${databasePath}-wal and ${databasePath}-shm if they exist, copy ${file} to ${databasePath}, start the bot.`,
    );
  } catch (error) {
    return failed({ code: 'admin.backup_failed', message: `Cannot write the backup to ${file} (${reason(error)}): check the directory exists and is writable. Nothing was changed.` });
  } finally {
    db.close();
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
