/**
 * The operator's tool from the outside: as a real child process on a database another connection
 * holds open (as the bot does), and in-process on a second connection while the real core runs.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { adminContext, runAdmin } from '../src/admin/commands.ts';
import { openAdminDatabase } from '../src/admin/open.ts';
import { ManualClock } from '../src/clock.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import type { CreditDefaults } from '../src/credits/types.ts';
import { MIGRATIONS } from '../src/store/migrations.ts';
import type { Sql } from '../src/store/sql.ts';
import { SqliteDatabase } from '../src/store/sqlite-sql.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';
import { insertJobRow, openTempDatabase } from './support/ledger-fixtures.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = join(REPO_ROOT, 'src', 'admin', 'cli.ts');
const HEADER = 'time,community,user_id,user_name,kind,credits,job_id,model,actor,note\r\n';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `tsx src/admin/cli.ts …` as its own process, in an empty directory (so no `.env` is read) with
 * only the variables given: what `npm run admin -- …` runs.
 */
function runCli(cwd: string, env: Record<string, string>, args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the tool as a child process, beside a connection that holds the database open', () => {
  /**
   * A bot-like database: a WAL connection that stays open, a lease row like the running bot's, and
   * ledger entries on Monday 2025-03-10 (long past, so "spent this period" is 0 whenever this runs).
   */
  async function botDatabase() {
    // A file the child process opens by its path: SQLite's, whatever backend the rest of the suite runs on.
    const { db, path, cleanup } = openTempDatabase();
    cleanups.push(cleanup);
    const dir = mkdtempSync(join(tmpdir(), 'imagine-admin-cwd-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const clock = new ManualClock(Date.UTC(2025, 2, 10, 12));
    const ledger = new CreditLedger(db, clock, { allowance: 50, period: 'day', communityBudget: { amount: 200, period: 'day' } });
    await insertJobRow(db, { id: 'job-1', communityId: 'guild-a', userId: 'ana', atMs: clock.now() });
    await ledger.reserve({ communityId: 'guild-a', userId: 'ana', displayName: 'Ana', jobId: 'job-1', model: 'gen4_image', amount: 8, atMs: clock.now() });
    await ledger.grant({ communityId: 'guild-a', userId: 'bo', displayName: '+Bo, "B"', amount: 5, actorId: 'mod-1', note: '=2+3' });
    await db.run('insert into instance_lease (id, holder, hostname, pid, started_at, heartbeat_at, expires_at) values (1, ?, ?, ?, ?, ?, ?)', [
      'bot-instance',
      'host-1',
      4242,
      clock.now(),
      clock.now(),
      clock.now() + 30_000,
    ]);
    return { db, path, dir, ledger, env: { DATABASE_PATH: path, COMMUNITY_BUDGET: '200', COMMUNITY_PERIOD: 'day', OPERATOR_BUDGET: 'off' } };
  }

  const lease = (db: Sql) => db.all('select * from instance_lease');

  it('changes a budget while the other connection is inside a read transaction, and leaves the lease alone', async () => {
    const bot = await botDatabase();
    expect(bot.db.raw.pragma('journal_mode', { simple: true })).toBe('wal');
    const leaseBefore = await lease(bot.db);
    // A reader mid-transaction, as the bot is while it builds a report: in WAL the tool's write goes through.
    bot.db.raw.exec('begin');
    bot.db.raw.prepare('select count(*) from ledger').get();
    const run = await runCli(bot.dir, bot.env, ['budget', 'guild-a', '120', 'week']);
    bot.db.raw.exec('commit');
    expect(run).toEqual({ code: 0, stderr: '', stdout: 'guild-a: budget 120/week (was 200/day, the default). Spent this week: 0, left: 120.\n' });
    expect((await bot.ledger.settings('guild-a')).budget).toEqual({ amount: 120, period: 'week' });
    expect(await lease(bot.db)).toEqual(leaseBefore);

    expect(await runCli(bot.dir, bot.env, ['communities'])).toEqual({
      code: 0,
      stderr: '',
      stdout: 'community  platform  members  spent        budget    cap   blocked\nguild-a    test            2  0 this week  120/week  none  no\n',
    });
    expect(await runCli(bot.dir, bot.env, ['export', '--from', '2025-03-01', '--to', '2025-03-31'])).toEqual({
      code: 0,
      stderr: '',
      stdout:
        HEADER +
        '2025-03-10T12:00:00.000Z,guild-a,ana,Ana,allowance,50,,,system,allowance for day:2025-03-10\r\n' +
        '2025-03-10T12:00:00.000Z,guild-a,ana,Ana,reserve,-8,job-1,gen4_image,system,reserved 8 for gen4_image\r\n' +
        `2025-03-10T12:00:00.000Z,guild-a,bo,"'+Bo, ""B""",allowance,50,,,system,allowance for day:2025-03-10\r\n` +
        `2025-03-10T12:00:00.000Z,guild-a,bo,"'+Bo, ""B""",grant,5,,,mod-1,'=2+3\r\n`,
    });
    expect(await lease(bot.db)).toEqual(leaseBefore);
  });

  it('block and unblock reach the open connection at once', async () => {
    const bot = await botDatabase();
    const blocked = await runCli(bot.dir, bot.env, ['block', 'guild-a', 'raid']);
    expect(blocked.code).toBe(0);
    expect(blocked.stdout).toMatch(/^guild-a blocked at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(raid\): the bot refuses its requests until 'unblock guild-a'\.\n$/);
    expect((await bot.ledger.settings('guild-a')).blocked?.note).toBe('raid');
    expect(await runCli(bot.dir, bot.env, ['unblock', 'guild-a'])).toEqual({ code: 0, stderr: '', stdout: 'guild-a unblocked: its members can use the bot again.\n' });
    expect((await bot.ledger.settings('guild-a')).blocked).toBeNull();
  });

  it('writes --out, and fails with exit 1 when it cannot', async () => {
    const bot = await botDatabase();
    const file = join(bot.dir, 'march.csv');
    expect(await runCli(bot.dir, bot.env, ['export', '--from', '2025-03-10', '--to', '2025-03-10', '--community', 'guild-a', '--out', file])).toEqual({
      code: 0, stderr: '', stdout: `Wrote 4 ledger entries from 2025-03-10 to 2025-03-10 to ${file}.\n`,
    });
    expect(readFileSync(file, 'utf8').split('\r\n')).toHaveLength(6);
    const nowhere = join(bot.dir, 'missing-dir', 'x.csv');
    const failedRun = await runCli(bot.dir, bot.env, ['export', '--out', nowhere]);
    expect(failedRun.code).toBe(1);
    expect(failedRun.stderr).toMatch(/^Cannot write .*missing-dir\/x\.csv \(ENOENT.*\): check the directory exists and is writable\.\n$/);
  });

  it('a mistake exits 2 with one line; no database or a bad configuration exits 1', async () => {
    const bot = await botDatabase();
    const before = JSON.stringify(await bot.db.all('select * from community_settings'));
    expect(await runCli(bot.dir, bot.env, ['budget', 'guild-a', '-5'])).toEqual({
      code: 2, stdout: '', stderr: "Budget '-5' is negative: use a whole number of credits from 0 to 1,000,000, or 'default'.\n",
    });
    expect(await runCli(bot.dir, bot.env, ['budget', 'guild-b', '5'])).toEqual({
      code: 2, stdout: '', stderr: "No community 'guild-b' in the database: no member, ledger entry, job or setting names it. Run 'communities' to list the ids.\n",
    });
    expect(JSON.stringify(await bot.db.all('select * from community_settings'))).toBe(before);
    const missing = join(bot.dir, 'nope.db');
    expect(await runCli(bot.dir, { DATABASE_PATH: missing }, ['communities'])).toEqual({
      code: 1, stdout: '', stderr: `No database at ${missing}: set DATABASE_PATH (or .env) to the bot's database file.\n`,
    });
    const badConfig = await runCli(bot.dir, { ...bot.env, COMMUNITY_BUDGET: 'lots' }, ['operator']);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toBe('Invalid configuration:\n  - COMMUNITY_BUDGET: must be a whole number of credits (0 to 999,999,999) or `off`; got "lots"\nSee .env.example for every variable.\n');
  });
});

describe('opening the database beside the bot', () => {
  it('never creates or migrates one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagine-admin-open-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const old = join(dir, 'old.db');
    const raw = new Database(old);
    raw.exec('create table schema_migrations (version integer primary key, applied_at integer not null); insert into schema_migrations values (1, 0);');
    raw.close();
    expect(openAdminDatabase(old)).toEqual({
      ok: false,
      problem: { code: 'admin.schema_mismatch', message: `The database at ${old} has schema version 1, this tool needs ${MIGRATIONS.at(-1)?.version}: start the bot once to upgrade it, then try again.` },
    });
    const check = new Database(old);
    expect(check.prepare('select max(version) from schema_migrations').pluck().get()).toBe(1);
    check.close();

    const notSqlite = join(dir, 'notes.txt');
    writeFileSync(notSqlite, 'this is not a database, just some text that is long enough to have a header page\n'.repeat(20));
    const opened = openAdminDatabase(notSqlite);
    expect(opened).toMatchObject({ ok: false, problem: { code: 'admin.database_unusable' } });
  });
});

describe('the tool while the bot runs (the real core on the same database file)', () => {
  // Both sides run with no budget unless a test sets one.
  const DEFAULTS: CreditDefaults = { allowance: 50, period: 'day', communityBudget: null, operatorBudget: null };

  async function running() {
    const h: CoreHarness = await startCoreHarness({ env: { COMMUNITY_BUDGET: 'off', OPERATOR_BUDGET: 'off' } });
    cleanups.push(() => h.close());
    // The tool opens the bot's SQLite file by its path, on a connection of its own.
    if (!(h.app.db instanceof SqliteDatabase)) throw new Error('the admin tool opens a SQLite file');
    const opened = openAdminDatabase(h.app.db.raw.name);
    if (!opened.ok) throw new Error(opened.problem.message);
    const db = new SqliteDatabase(opened.db, h.app.db.raw.name);
    cleanups.push(() => db.close());
    const admin = adminContext(db, h.clock, DEFAULTS);
    return { h, admin: (...argv: string[]) => runAdmin(admin, argv) };
  }

  it('a lowered budget refuses the next /imagine at no cost; `default` lets it through again', async () => {
    const { h, admin } = await running();
    const ana = h.requester('ana', { communityId: 'guild-x' });
    const bo = h.requester('bo', { communityId: 'guild-x' });
    const first = await h.app.core.imagine(ana, { prompt: 'a koi pond', references: [] }, 'ph-1');
    expect(first).toMatchObject({ ok: true, reservedCredits: 8 });

    // While job 1 is in flight (its 8 credits held), the operator lowers guild-x's budget to 8.
    expect(await admin('budget', 'guild-x', '8')).toEqual({
      exitCode: 0, code: null, stderr: '', stdout: 'guild-x: budget 8/day (was unlimited, the default). Spent today: 8, left: 0.\n',
    });
    const anaBalance = await h.ledgerSum({ userId: 'ana' });
    const boBefore = await h.ledgerSum({ userId: 'bo' });
    const second = await h.app.core.imagine(ana, { prompt: 'a second koi pond', references: [] }, 'ph-2');
    const third = await h.app.core.imagine(bo, { prompt: 'a heron', references: [] }, 'ph-3');
    expect(second).toMatchObject({ ok: false, code: 'credits.community_budget' });
    expect(third).toMatchObject({ ok: false, code: 'credits.community_budget' });
    expect(await h.ledgerSum({ userId: 'ana' })).toBe(anaBalance);
    // bo was first seen by this request: his allowance is credited, and nothing is taken from it.
    expect(await h.ledgerSum({ userId: 'bo' })).toBe(boBefore + 50);

    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(h.surface.deliveries.map((d) => d.placeholder)).toEqual(['ph-1']);
    // Only job 1 ever reached Runway.
    expect(h.sim.tasks()).toHaveLength(1);

    expect((await admin('budget', 'guild-x', 'default')).stdout).toBe('guild-x: budget back to the default, unlimited (was 8/day).\n');
    const again = await h.app.core.imagine(bo, { prompt: 'a heron', references: [] }, 'ph-4');
    expect(again).toMatchObject({ ok: true, reservedCredits: 8 });
    await h.runUntil(() => h.surface.deliveries.length === 2);
    expect(h.sim.tasks()).toHaveLength(2);
  });

  it('block is seen by the bot’s own connection at once', async () => {
    const { h, admin } = await running();
    expect(await h.app.core.imagine(h.requester('ana', { communityId: 'guild-x' }), { prompt: 'a koi pond', references: [] }, 'ph-1')).toMatchObject({ ok: true });
    expect((await admin('block', 'guild-x', 'raid')).stdout).toBe("guild-x blocked at 2026-11-25 12:00 UTC (raid): the bot refuses its requests until 'unblock guild-x'.\n");
    const botView = new CreditLedger(h.app.db, h.clock, DEFAULTS);
    expect((await botView.settings('guild-x')).blocked).toEqual({ atMs: h.clock.now(), note: 'raid' });
    expect((await admin('unblock', 'guild-x')).stdout).toBe('guild-x unblocked: its members can use the bot again.\n');
    expect((await botView.settings('guild-x')).blocked).toBeNull();
  });

  it('the core refuses /imagine in a blocked community with its own code, at no cost, until unblocked', async () => {
    const { h, admin } = await running();
    const ana = h.requester('ana', { communityId: 'guild-x' });
    expect(await h.app.core.imagine(ana, { prompt: 'a koi pond', references: [] }, 'ph-1')).toMatchObject({ ok: true });
    expect((await admin('block', 'guild-x', 'raid')).exitCode).toBe(0);
    const before = await h.ledgerSum({ userId: 'ana' });
    const jobsBefore = await h.app.db.value('select count(*) from jobs');
    expect(await h.app.core.imagine(ana, { prompt: 'another koi pond', references: [] }, 'ph-2')).toMatchObject({ ok: false, code: 'community.blocked' });
    expect(await h.ledgerSum({ userId: 'ana' })).toBe(before);
    expect(await h.app.db.value('select count(*) from jobs')).toBe(jobsBefore);
    expect((await admin('unblock', 'guild-x')).exitCode).toBe(0);
    expect(await h.app.core.imagine(ana, { prompt: 'another koi pond', references: [] }, 'ph-3')).toMatchObject({ ok: true });
  });
});
