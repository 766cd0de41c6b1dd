/**
 * The operator's tool from the outside, on SQLite: as a real child process on a database file
 * another connection holds open (as the bot does), and never creating or migrating one. Beside the
 * running core, on either store, it is test/admin-beside-bot.test.ts.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openAdminDatabase } from '../src/admin/open.ts';
import { ManualClock } from '../src/clock.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import { MIGRATIONS } from '../src/store/migrations.ts';
import type { Sql } from '../src/store/sql.ts';
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
