/**
 * Copies of the bot's database: SQLite's online backup for a running bot (automatic backups and
 * `npm run admin -- backup`), and `VACUUM INTO` before a migration. A copy is written beside its
 * final name as `…partial` and renamed when complete, so a crash mid-copy never leaves a file
 * that looks like a good backup.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Db } from './database.ts';

/** Copy the open database `db` to `target` while the bot keeps using it; replaces `target` if it exists. */
export async function backupDatabase(db: Db, target: string): Promise<{ readonly pages: number }> {
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  try {
    // better-sqlite3 copies a few pages per event-loop turn, so the bot keeps serving meanwhile;
    // a write during the copy makes SQLite restart it, and the result is one consistent snapshot.
    const { totalPages } = await db.backup(partial);
    renameSync(partial, target);
    return { pages: totalPages };
  } finally {
    if (existsSync(partial)) rmSync(partial, { force: true });
  }
}

/** Copy `db` to `target` at once (blocking): for the moment before a migration, when nothing else runs. */
export function snapshotDatabase(db: Db, target: string): void {
  const partial = `${target}.partial`;
  // VACUUM INTO refuses an existing file: a leftover from a crash is not a backup anyway.
  rmSync(partial, { force: true });
  try {
    db.prepare('vacuum into ?').run(partial);
    renameSync(partial, target);
  } finally {
    if (existsSync(partial)) rmSync(partial, { force: true });
  }
}

/** `imagine-bot` for `./data/imagine-bot.db`: what backup file names start with. */
export function backupStem(databasePath: string): string {
  const name = basename(databasePath);
  return name.slice(0, name.length - extname(name).length) || name;
}

/** `20261125-120000Z` for 2026-11-25 12:00:00 UTC: sorts like the time it names. */
export function backupTimestamp(atMs: number): string {
  const iso = new Date(atMs).toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}Z`;
}

/** The file an automatic backup taken at `atMs` goes to: `<dir>/<stem>-20261125-120000Z.db`. */
export function scheduledBackupPath(dir: string, stem: string, atMs: number): string {
  return join(dir, `${stem}-${backupTimestamp(atMs)}.db`);
}

/** Which names in a directory are automatic backups of `stem`, and when each was taken (ms). */
export function parseScheduledBackupName(stem: string, name: string): number | null {
  if (!name.startsWith(`${stem}-`)) return null;
  const match = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})Z\.db$/.exec(name.slice(stem.length + 1));
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}
