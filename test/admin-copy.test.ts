/**
 * `npm run admin -- copy-to-postgres <url>` as the operator meets it (src/admin/copy.ts): the copy
 * itself is test/copy-to-postgres.test.ts's; here, what the command says and refuses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseAdminArgs } from '../src/admin/args.ts';
import { runCopyToPostgres } from '../src/admin/copy.ts';
import { ManualClock } from '../src/clock.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import { openSqliteDatabase } from '../src/store/database.ts';
import { parseDatabaseUrl } from '../src/store/postgres-url.ts';
import { dropTestDatabases, freshPostgresUrl } from './support/test-database.ts';

afterAll(dropTestDatabases);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const clock = new ManualClock();

/** A bot's SQLite file with one member who was granted credits: an allowance and a grant in the ledger. */
async function botFile(lease: 'none' | 'live' | 'expired' = 'none'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-admin-copy-'));
  dirs.push(dir);
  const path = join(dir, 'bot.db');
  const db = openSqliteDatabase(path, clock);
  await new CreditLedger(db, clock, { allowance: 50, period: 'day', operatorBudget: null, communityBudget: null }).grant({
    communityId: 'g1', userId: 'u1', displayName: 'Ann', amount: 5, actorId: 'mod',
  });
  if (lease !== 'none') {
    const expiresAt = clock.now() + (lease === 'live' ? 30_000 : -1);
    await db.run("insert into instance_lease (id, holder, hostname, pid, started_at, heartbeat_at, expires_at) values (1, 'i1', 'bot-host', 4242, 0, 0, ?)", [expiresAt]);
  }
  await db.close();
  return path;
}

describe('copy-to-postgres', () => {
  it('copies the file into an empty database, says what it copied and what to do next, and never shows the password', async () => {
    const path = await botFile();
    const url = await freshPostgresUrl();
    const { description } = parseDatabaseUrl(url);
    const result = await runCopyToPostgres(path, { name: 'copy-to-postgres', url }, clock);
    expect(result).toMatchObject({ exitCode: 0, code: null, stderr: '' });
    expect(result.stdout).toBe(
      `Copied ${path} to PostgreSQL at ${description}: jobs 0, job_references 0, ledger 2, accounts 1, community_settings 0, blocked_words 0.\n` +
        `Next: set DATABASE_URL to that database (and unset DATABASE_PATH), set REFERENCE_DIR to a directory every bot process shares, ` +
        `copy ${path}'s references/ folder there, and start the bots. Keep ${path} until they run well.\n`,
    );
    const password = new URL(url).password;
    expect(password).not.toBe('');
    expect(result.stdout).not.toContain(password);

    // A second copy into the same database is refused: it is not empty any more.
    const again = await runCopyToPostgres(path, { name: 'copy-to-postgres', url }, clock);
    expect(again).toMatchObject({ exitCode: 1, code: 'database.copy_target_not_empty', stdout: '' });
  });

  it('refuses while a bot still runs on the file, and copies once its lease has lapsed', async () => {
    const url = await freshPostgresUrl();
    const running = await runCopyToPostgres(await botFile('live'), { name: 'copy-to-postgres', url }, clock);
    expect(running).toMatchObject({ exitCode: 2, code: 'admin.bot_running', stdout: '' });
    expect(running.stderr).toMatch(/^A bot is still running on .*bot\.db \(process 4242 on host bot-host\)\. Stop it first: what it writes after the copy would not reach PostgreSQL\.\n$/);
    const lapsed = await runCopyToPostgres(await botFile('expired'), { name: 'copy-to-postgres', url }, clock);
    expect(lapsed).toMatchObject({ exitCode: 0, code: null });
  });

  it('needs the SQLite file to exist', async () => {
    const result = await runCopyToPostgres('/nonexistent/bot.db', { name: 'copy-to-postgres', url: 'postgres://u:p@127.0.0.1:1/x' }, clock);
    expect(result).toEqual({
      exitCode: 1,
      code: 'admin.no_database',
      stdout: '',
      stderr: "No database at /nonexistent/bot.db: set DATABASE_PATH (or .env) to the bot's SQLite file, the one to copy.\n",
    });
  });

  it('refuses a URL that is not PostgreSQL as a mistake in the command, without echoing it', () => {
    const parsed = parseAdminArgs(['copy-to-postgres', 'mysql://root:hunter2@db/imagine']);
    expect(parsed).toMatchObject({ ok: false, problem: { code: 'admin.invalid_url' } });
    expect(parsed.ok ? '' : parsed.problem.message).not.toContain('hunter2');
    expect(parseAdminArgs(['copy-to-postgres'])).toEqual({
      ok: false,
      problem: { code: 'admin.usage', message: 'Usage: copy-to-postgres <postgres-url>, like: copy-to-postgres postgres://imagine:secret@db:5432/imagine' },
    });
  });
});
