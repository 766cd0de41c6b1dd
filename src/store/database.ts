import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import { MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

/**
 * Open (creating if needed) the bot's SQLite database and bring its schema up to date.
 * WAL lets reports read while a job writes; `busy_timeout` makes a second process wait for the
 * write lock instead of failing, which is what keeps reservations atomic across processes.
 * `clock` stamps each migration's `applied_at`.
 */
export function openDatabase(path: string, clock: Clock = systemClock): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, clock);
  return db;
}

function migrate(db: Db, clock: Clock): void {
  db.exec('create table if not exists schema_migrations (version integer primary key, applied_at integer not null)');
  const applied = new Set(
    db.prepare('select version from schema_migrations').pluck().all() as number[],
  );
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('insert into schema_migrations (version, applied_at) values (?, ?)').run(migration.version, clock.now());
    }).immediate();
  }
}
