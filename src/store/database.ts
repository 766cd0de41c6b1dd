import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import { backupStem, backupTimestamp, snapshotDatabase } from './backup.ts';
import { MIGRATIONS } from './migrations.ts';
import { SqliteDatabase } from './sqlite-sql.ts';

export type Db = Database.Database;

/** `openDatabase` behind the `Sql` interface the repositories take. */
export function openSqliteDatabase(path: string, clock: Clock = systemClock, options: OpenDatabaseOptions = {}): SqliteDatabase {
  return new SqliteDatabase(openDatabase(path, clock, options), path);
}

export interface OpenDatabaseOptions {
  /** Where the copy taken before upgrading an older schema goes; default: beside the database file. */
  readonly backupDir?: string | undefined;
  /** Told the path of that copy, for the log. */
  readonly onUpgradeBackup?: (path: string, fromVersion: number, toVersion: number) => void;
}

/**
 * Open (creating if needed) the bot's SQLite database and bring its schema up to date.
 * WAL lets reports read while a job writes; `busy_timeout` makes a second process wait for the
 * write lock instead of failing, which is what keeps reservations atomic across processes.
 * `clock` stamps each migration's `applied_at`.
 */
export function openDatabase(path: string, clock: Clock = systemClock, options: OpenDatabaseOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('create table if not exists schema_migrations (version integer primary key, applied_at integer not null)');
  const applied = new Set(db.prepare('select version from schema_migrations').pluck().all() as number[]);
  backUpBeforeUpgrade(db, path, clock, applied, options);
  migrate(db, clock, applied);
  return db;
}

/**
 * Upgrade safety: an existing database whose schema is older than this version's is copied before
 * any migration touches it, so a migration that goes wrong (or a version that must be rolled back)
 * can be undone by copying the file back. A new, empty database has nothing to keep.
 */
function backUpBeforeUpgrade(db: Db, path: string, clock: Clock, applied: ReadonlySet<number>, options: OpenDatabaseOptions): void {
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  const current = Math.max(0, ...applied);
  if (path === ':memory:' || current === 0 || current >= latest) return;
  const dir = options.backupDir ?? dirname(path);
  mkdirSync(dir, { recursive: true });
  const target = join(dir, `${backupStem(path)}-${backupTimestamp(clock.now())}-before-v${latest}.db`);
  snapshotDatabase(db, target);
  options.onUpgradeBackup?.(target, current, latest);
}

function migrate(db: Db, clock: Clock, applied: ReadonlySet<number>): void {
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('insert into schema_migrations (version, applied_at) values (?, ?)').run(migration.version, clock.now());
    }).immediate();
  }
}
