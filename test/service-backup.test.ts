/**
 * Backups: taken while jobs are in flight and restored into a new data directory (the unfinished
 * jobs resume, the balances are intact); the automatic schedule on a manual clock and manual
 * timers; `npm run admin -- backup`; and the copy taken before a schema upgrade.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runBackup } from '../src/admin/backup.ts';
import { createApp } from '../src/app.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger, silentLogger } from '../src/log.ts';
import { BackupSchedule } from '../src/service/backups.ts';
import { backupTimestamp } from '../src/store/backup.ts';
import { openDatabase } from '../src/store/database.ts';
import { MIGRATIONS } from '../src/store/migrations.ts';
import type { Database as SqlDatabase, Sql } from '../src/store/sql.ts';
import { SqliteDatabase } from '../src/store/sqlite-sql.ts';
import { RecordingSurface, startCoreHarness } from './support/core-harness.ts';
import { ManualTimers } from './support/manual-timers.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOUR = 3_600_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The file behind the bot's database: backups copy SQLite's file. */
function sqlitePath(db: SqlDatabase): string {
  if (!(db instanceof SqliteDatabase)) throw new Error('backups are of a SQLite file');
  return db.raw.name;
}

const inertTimers = {
  setTimeout: (() => 0) as unknown as typeof setTimeout,
  clearTimeout: (() => undefined) as unknown as typeof clearTimeout,
};

describe('a backup taken while jobs are in flight', () => {
  it('restores into a new data directory: every unfinished job resumes, every balance is intact', async () => {
    const backupDir = tempDir('imagine-backups-');
    // One Runway slot per model, so one job is at Runway and the next waits in the queue.
    const h = await startCoreHarness({ sim: { maxConcurrent: 1, costOverride: () => 6 }, env: { BACKUP_DIR: backupDir } });
    cleanups.push(() => h.close());
    const state = (db: Sql, placeholder: string) => db.value('select state from jobs where placeholder = ?', [placeholder]);
    const states = (db: Sql) => Promise.all(['ph-alice', 'ph-bob', 'ph-carol'].map((placeholder) => state(db, placeholder)));
    const balances = async (db: Sql) =>
      Object.fromEntries(
        (await db.all<{ user_id: string; balance: number }>('select user_id, sum(delta) as balance from ledger group by user_id order by user_id')).map((r) => [r.user_id, r.balance]),
      );

    await h.app.core.imagine(h.requester('alice'), { prompt: 'a koi pond', references: [] }, 'ph-alice');
    await h.runUntil(() => h.surface.deliveries.length === 1);
    await h.app.core.imagine(h.requester('bob'), { prompt: 'a lighthouse', references: [] }, 'ph-bob');
    await h.app.core.imagine(h.requester('carol', { communityId: 'guild-2' }), { prompt: 'a red fox', references: [] }, 'ph-carol');
    await h.advance(1_000);
    // The community served least recently goes first: Carol's.
    expect(await states(h.app.db)).toEqual(['delivered', 'reserved', 'submitted']);
    const before = await balances(h.app.db);
    // Alice paid 6; Carol's hold follows Runway's estimate (6) once her task exists, Bob's is still the price (8).
    expect(before).toEqual({ alice: 44, bob: 42, carol: 44 });

    const backup = await h.app.backups?.runNow();
    // Named by the UTC time it was taken (the harness's database is bot.db).
    expect(backup?.name).toBe(`bot-${backupTimestamp(h.clock.now())}.db`);
    expect(backup?.name).toMatch(/^bot-20261125-1200\d\dZ\.db$/);
    // The original is lost with its machine; the backup is copied into a new data directory.
    await h.app.stop();
    const restoredPath = join(tempDir('imagine-restored-'), 'data', 'imagine-bot.db');
    mkdirSync(join(restoredPath, '..'), { recursive: true });
    copyFileSync(backup?.path ?? '', restoredPath);

    const config = loadConfig({ DATABASE_PATH: restoredPath, MEDIA_ORIGINS: h.sim.url, RUNWAY_POLL_INTERVAL_MS: '1000' });
    const app = await createApp({ config, runway: { apiKey: 'test-key', baseUrl: h.sim.url }, clock: h.clock, log: silentLogger, timers: inertTimers });
    cleanups.push(() => app.stop());
    const surface = new RecordingSurface();
    app.registerSurface(surface);
    await app.start();
    expect(await balances(app.db)).toEqual(before);
    expect(await states(app.db)).toEqual(['delivered', 'reserved', 'submitted']);

    for (let step = 0; step < 100 && surface.deliveries.length < 2; step++) {
      h.clock.advance(500);
      for (let i = 0; i < 20; i++) {
        await app.runner.tick();
        await app.runner.idle();
      }
    }
    await app.runner.idle();
    // Carol's task at Runway is polled and delivered, Bob's is submitted and delivered; Alice's is not shown again.
    expect(surface.deliveries.map((d) => d.placeholder).sort()).toEqual(['ph-bob', 'ph-carol']);
    expect(surface.failures).toEqual([]);
    expect(await balances(app.db)).toEqual({ alice: 44, bob: 44, carol: 44 });
    expect(h.sim.tasks().map((task) => task.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  });
});

describe('automatic backups', () => {
  function schedule(options: { dir: string; clock: ManualClock; timers: ManualTimers; keep?: number; lines?: string[] }) {
    const db = openDatabase(join(options.dir, '..', 'bot.db'), options.clock);
    cleanups.push(() => void db.close());
    return new BackupSchedule({
      db,
      databasePath: join(options.dir, '..', 'bot.db'),
      dir: options.dir,
      everyMs: 6 * HOUR,
      keep: options.keep ?? 3,
      clock: options.clock,
      timers: options.timers.timers,
      log: createLogger('info', (line) => options.lines?.push(line)),
    });
  }
  /** Fire the pending timer and let the turn it starts finish (the backup, the pruning, the next timer). */
  async function fire(timers: ManualTimers, backups: BackupSchedule): Promise<void> {
    timers.fireAll();
    await backups.idle();
  }

  it('takes one at once when none exists, then every period after the newest, keeping BACKUP_KEEP', async () => {
    const dir = join(tempDir('imagine-auto-'), 'backups');
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
    const timers = new ManualTimers();
    const backups = schedule({ dir, clock, timers });
    cleanups.push(() => backups.stop());
    writeFileSync(join(dir, '..', 'notes.db'), 'not ours');
    backups.start();
    expect(timers.delays()).toEqual([0]);
    await fire(timers, backups);
    expect(readdirSync(dir)).toEqual(['bot-20261125-120000Z.db']);
    // The next is due 6 h after it; a timer never waits more than an hour at a time.
    expect(backups.nextDueAt()).toBe(Date.UTC(2026, 10, 25, 18, 0, 0));
    expect(timers.delays()).toEqual([HOUR]);

    for (let i = 0; i < 4; i++) {
      clock.advance(6 * HOUR);
      await fire(timers, backups);
    }
    // Five taken, three kept: the oldest two pruned.
    expect(readdirSync(dir).sort()).toEqual(['bot-20261126-000000Z.db', 'bot-20261126-060000Z.db', 'bot-20261126-120000Z.db']);
    expect(readdirSync(join(dir, '..')).sort()).toEqual(['backups', 'bot.db', 'bot.db-shm', 'bot.db-wal', 'notes.db']);
  });

  it('after a restart, waits out the period from the newest backup instead of taking another', async () => {
    const dir = join(tempDir('imagine-auto-'), 'backups');
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
    const first = new ManualTimers();
    const before = schedule({ dir, clock, timers: first });
    before.start();
    await fire(first, before);
    await before.stop();

    clock.advance(2 * HOUR);
    const timers = new ManualTimers();
    const after = schedule({ dir, clock, timers });
    cleanups.push(() => after.stop());
    after.start();
    expect(timers.delays()).toEqual([HOUR]);
    clock.advance(HOUR);
    await fire(timers, after);
    expect(readdirSync(dir)).toEqual(['bot-20261125-120000Z.db']);
    expect(timers.delays()).toEqual([HOUR]);
    clock.advance(3 * HOUR);
    await fire(timers, after);
    expect(readdirSync(dir).sort()).toEqual(['bot-20261125-120000Z.db', 'bot-20261125-180000Z.db']);
  });

  it('logs a failed backup with its code and tries again in 5 minutes', async () => {
    const root = tempDir('imagine-auto-');
    const dir = join(root, 'backups');
    const clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
    const timers = new ManualTimers();
    const lines: string[] = [];
    const backups = schedule({ dir, clock, timers, lines });
    cleanups.push(() => backups.stop());
    backups.start();
    // The backup directory turns into a file: nothing can be written there.
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'in the way');
    await fire(timers, backups);
    const failure = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line['message'] === 'database backup failed; will retry');
    expect(failure).toMatchObject({ level: 'error', code: 'backup.failed', retryInMs: 300_000 });
    expect(backups.nextDueAt()).toBe(clock.now() + 300_000);
  });
});

describe('npm run admin -- backup', () => {
  /** `tsx src/admin/cli.ts backup …` in an empty directory, as the operator runs it. */
  function runCli(cwd: string, env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPO_ROOT, 'src', 'admin', 'cli.ts'), ...args], {
        cwd,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
        stdio: 'pipe',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('copies the database beside the running bot, and replaces a file only with --force', async () => {
    const h = await startCoreHarness();
    cleanups.push(() => h.close());
    await h.app.core.imagine(h.requester('alice'), { prompt: 'a koi pond', references: [] }, 'ph');
    await h.advance(1_000);
    const dir = tempDir('imagine-admin-backup-');
    const target = join(dir, 'copy.db');
    const databasePath = sqlitePath(h.app.db);
    const env = { DATABASE_PATH: databasePath };

    const first = await runCli(dir, env, ['backup', target]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^Backed up ${databasePath} to ${target} \\(\\d+ pages, \\d+ KiB\\) at \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC\\.\\n`));
    expect(first.stdout).toContain(`To restore it: stop the bot, delete ${databasePath}-wal and ${databasePath}-shm if they exist, copy ${target} to ${databasePath}, start the bot.\n`);
    const copy = new Database(target, { readonly: true });
    expect(copy.prepare('select state from jobs').pluck().all()).toEqual(['submitted']);
    expect(copy.prepare('select sum(delta) from ledger').pluck().get()).toBe(await h.ledgerSum({}));
    copy.close();

    const again = await runCli(dir, env, ['backup', target]);
    expect(again).toEqual({ code: 2, stdout: '', stderr: `${target} already exists: choose another name, or add --force to replace it.\n` });
    expect((await runCli(dir, env, ['backup', '--force', target])).code).toBe(0);
  });

  it('refuses what cannot be a backup, each with its code, changing nothing', async () => {
    const h = await startCoreHarness();
    cleanups.push(() => h.close());
    const dir = tempDir('imagine-admin-backup-');
    const path = sqlitePath(h.app.db);
    const run = (file: string, force = false) => runBackup(path, { name: 'backup', file, force }, h.clock);
    expect(await run(path)).toMatchObject({ exitCode: 2, code: 'admin.usage', stderr: `${path} is the database itself: give the backup another name.\n` });
    expect(await run(join(dir, 'missing', 'copy.db'))).toMatchObject({ exitCode: 1, code: 'admin.backup_failed' });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    expect(await runBackup(join(dir, 'nothing.db'), { name: 'backup', file: join(dir, 'copy.db'), force: false }, h.clock)).toMatchObject({
      exitCode: 1,
      code: 'admin.no_database',
      stderr: `No database at ${join(dir, 'nothing.db')}: set DATABASE_PATH (or .env) to the bot's database file.\n`,
    });
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('upgrading an older database', () => {
  it('copies it before the first migration touches it', () => {
    const root = tempDir('imagine-upgrade-');
    const path = join(root, 'imagine-bot.db');
    const old = new Database(path);
    old.exec('create table schema_migrations (version integer primary key, applied_at integer not null)');
    old.exec(MIGRATIONS[0]?.sql ?? '');
    old.prepare('insert into schema_migrations values (1, 0)').run();
    old.prepare("insert into ledger (community_id, user_id, kind, delta, actor_id, created_at) values ('g', 'u', 'grant', 7, 'mod', 0)").run();
    old.close();

    const clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 30, 5));
    const latest = MIGRATIONS.at(-1)?.version ?? 0;
    const upgrades: unknown[] = [];
    const db = openDatabase(path, clock, { backupDir: join(root, 'backups'), onUpgradeBackup: (...args) => upgrades.push(args) });
    cleanups.push(() => void db.close());
    const copyPath = join(root, 'backups', `imagine-bot-20261125-123005Z-before-v${latest}.db`);
    expect(upgrades).toEqual([[copyPath, 1, latest]]);
    expect(db.prepare('select max(version) from schema_migrations').pluck().get()).toBe(latest);
    const copy = new Database(copyPath, { readonly: true });
    expect(copy.prepare('select max(version) from schema_migrations').pluck().get()).toBe(1);
    expect(copy.prepare('select delta from ledger').pluck().all()).toEqual([7]);
    copy.close();

    // A new database, or one already up to date, has nothing to keep.
    db.close();
    openDatabase(path, clock, { backupDir: join(root, 'backups') }).close();
    openDatabase(join(root, 'fresh.db'), clock, { backupDir: join(root, 'backups') }).close();
    expect(readdirSync(join(root, 'backups'))).toEqual([`imagine-bot-20261125-123005Z-before-v${latest}.db`]);
  });
});
