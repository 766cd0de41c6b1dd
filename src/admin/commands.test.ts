import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import type { CreditDefaults } from '../credits/types.ts';
import type { Database } from '../store/sql.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import { USAGE } from './args.ts';
import { adminContext, runAdmin } from './commands.ts';
import { csvField, toCsv } from './csv.ts';

const NOW = Date.UTC(2026, 10, 25, 12); // Wednesday 2026-11-25 12:00 UTC
const HOUR = 3_600_000;
const DEFAULTS: CreditDefaults = {
  allowance: 50,
  period: 'day',
  communityBudget: { amount: 200, period: 'day' },
  operatorBudget: { amount: 1_000, period: 'day' },
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** The one place this file opens a database: a fresh, migrated one per test on the project's backend, discarded after it. */
async function freshDb(): Promise<Database> {
  const db = await openTestDb();
  cleanups.push(() => db.close());
  return db;
}

/** A temp database; `bot` is the ledger as the bot sees it, `admin` runs the tool's commands on it. */
async function setup(defaults: CreditDefaults = DEFAULTS) {
  const db = await freshDb();
  const clock = new ManualClock(NOW);
  const bot = new CreditLedger(db, clock, defaults);
  const ctx = adminContext(db, clock, defaults);
  const reserve = async (communityId: string, userId: string, jobId: string, amount: number, platform: string, displayName = userId) => {
    await insertJobRow(db, { id: jobId, communityId, userId, atMs: clock.now() });
    await db.run('update jobs set platform = ? where id = ?', [platform, jobId]);
    const outcome = await bot.reserve({ communityId, userId, displayName, jobId, model: 'gen4_image', amount, atMs: clock.now() });
    if (!outcome.ok) throw new Error(`fixture reservation refused: ${outcome.reason}`);
  };
  return { db, clock, bot, ctx, run: (...argv: string[]) => runAdmin(ctx, argv), reserve };
}

/**
 * Four communities, each seen through a different table: guild-a (Discord, two members, 11 spent
 * today), T0SLACK (Slack, its own weekly budget), guild-c (only settings: a moderator's cap and the
 * operator's block) and guild-d (one member who never spent).
 */
async function seed(s: Awaited<ReturnType<typeof setup>>) {
  await s.reserve('guild-a', 'ana', 'job-1', 8, 'discord');
  await s.bot.settle('job-1', 6);
  await s.reserve('guild-a', 'bo', 'job-2', 5, 'discord');
  await s.reserve('T0SLACK', 'cy', 'job-3', 4, 'slack');
  await s.bot.communities.setBudget({ communityId: 'T0SLACK', amount: 300, period: 'week', actorId: 'operator' });
  await s.bot.communities.setCap({ communityId: 'guild-c', amount: 30, actorId: 'mod-1' });
  await s.bot.communities.setBlocked({ communityId: 'guild-c', blocked: true, note: 'spam', actorId: 'operator' });
  await s.bot.balance('guild-d', 'dee');
}

/** Every row of every table the tool could change, to prove a refused command changed nothing. */
async function snapshot(db: Database): Promise<string> {
  // Each table in the order of its key: PostgreSQL has a rowid column only where SQLite's queries use it.
  const tables = {
    jobs: 'rowid',
    ledger: 'id',
    accounts: 'community_id, user_id',
    community_settings: 'community_id',
    instance_lease: 'id',
    blocked_words: 'rowid',
  };
  const rows: unknown[][] = [];
  for (const [table, order] of Object.entries(tables)) rows.push(await db.all(`select * from ${table} order by ${order}`));
  return JSON.stringify(rows);
}

function settingsRow(db: Database, communityId: string) {
  return db.get('select budget, budget_period, blocked_at, blocked_note, updated_by from community_settings where community_id = ?', [communityId]);
}

describe('communities', () => {
  it('lists every community any table names, biggest spender first, with budget, cap and block', async () => {
    const s = await setup();
    await seed(s);
    expect(await s.run('communities')).toEqual({
      exitCode: 0,
      code: null,
      stderr: '',
      stdout: [
        'community  platform  members  spent        budget             cap     blocked',
        'guild-a    discord         2  11 today     200/day (default)  none    no',
        'T0SLACK    slack           1  4 this week  300/week           none    no',
        'guild-c    -               0  0 today      200/day (default)  30/day  yes, since 2026-11-25 12:00 UTC: spam',
        'guild-d    -               1  0 today      200/day (default)  none    no',
        '',
      ].join('\n'),
    });
  });

  it('counts a finished job at its cost and a refunded one at nothing, in the current period only', async () => {
    const s = await setup();
    await seed(s);
    await s.bot.refund('job-2', 'failed');
    s.clock.advance(24 * HOUR); // Thursday: guild-a's day is over, T0SLACK's week is not.
    const lines = (await s.run('communities')).stdout.split('\n');
    expect(lines[1]).toBe('T0SLACK    slack           1  4 this week  300/week           none    no');
    expect(lines[2]).toBe('guild-a    discord         2  0 today      200/day (default)  none    no');
  });

  it('says so when the bot has seen no community, and marks an unlimited default', async () => {
    const s = await setup({ allowance: 50, period: 'day', communityBudget: null, operatorBudget: null });
    expect((await s.run('communities')).stdout).toBe('No communities yet: the bot has not seen any.\n');
    await s.bot.balance('guild-a', 'ana');
    expect((await s.run('communities')).stdout.split('\n')[1]).toBe('guild-a    -               1  0 today  unlimited (default)  none  no');
  });
});

describe('budget', () => {
  it("sets a community's budget, keeping its period unless one is given", async () => {
    const s = await setup();
    await seed(s);
    expect(await s.run('budget', 'guild-a', '150')).toEqual({
      exitCode: 0, code: null, stderr: '',
      stdout: 'guild-a: budget 150/day (was 200/day, the default). Spent today: 11, left: 139.\n',
    });
    expect(await settingsRow(s.db, 'guild-a')).toEqual({ budget: 150, budget_period: 'day', blocked_at: null, blocked_note: null, updated_by: 'operator' });
    expect((await s.run('budget', 'guild-a', '1,000', 'Weekly')).stdout).toBe('guild-a: budget 1000/week (was 150/day). Spent this week: 11, left: 989.\n');
    expect((await s.run('budget', 'guild-a', '5')).stdout).toBe('guild-a: budget 5/week (was 1000/week). Spent this week: 11, left: 0.\n');
    expect((await s.bot.settings('guild-a')).budget).toEqual({ amount: 5, period: 'week' });
  });

  it('`default` goes back to COMMUNITY_BUDGET, or to unlimited when it is off', async () => {
    const s = await setup();
    await seed(s);
    expect((await s.run('budget', 'T0SLACK', 'default')).stdout).toBe('T0SLACK: budget back to the default, 200/day (was 300/week). Spent today: 4, left: 196.\n');
    expect(await settingsRow(s.db, 'T0SLACK')).toMatchObject({ budget: null, budget_period: null });

    const off = await setup({ allowance: 50, period: 'day', communityBudget: null, operatorBudget: null });
    await off.reserve('guild-a', 'ana', 'job-1', 8, 'discord');
    expect((await off.run('budget', 'guild-a', '0', 'month')).stdout).toBe('guild-a: budget 0/month (was unlimited, the default). Spent this month: 8, left: 0.\n');
    expect((await off.run('budget', 'guild-a', 'DEFAULT')).stdout).toBe('guild-a: budget back to the default, unlimited (was 0/month).\n');
  });
});

describe('block and unblock', () => {
  it('block records the time and note; unblock clears them', async () => {
    const s = await setup();
    await seed(s);
    expect(await s.run('block', 'guild-a', 'spam', 'from', 'bots')).toEqual({
      exitCode: 0, code: null, stderr: '',
      stdout: "guild-a blocked at 2026-11-25 12:00 UTC (spam from bots): the bot refuses its requests until 'unblock guild-a'.\n",
    });
    expect((await s.bot.settings('guild-a')).blocked).toEqual({ atMs: NOW, note: 'spam from bots' });
    s.clock.advance(HOUR);
    expect((await s.run('block', 'guild-a')).stdout).toBe(
      "guild-a blocked at 2026-11-25 13:00 UTC: the bot refuses its requests until 'unblock guild-a'. It was already blocked since 2026-11-25 12:00 UTC.\n",
    );
    expect((await s.run('unblock', 'guild-a')).stdout).toBe('guild-a unblocked: its members can use the bot again.\n');
    expect((await s.bot.settings('guild-a')).blocked).toBeNull();
  });

  it('unblocking a community that is not blocked writes nothing', async () => {
    const s = await setup();
    await seed(s);
    const before = await snapshot(s.db);
    expect(await s.run('unblock', 'guild-d')).toEqual({ exitCode: 0, code: null, stderr: '', stdout: 'guild-d was not blocked: nothing changed.\n' });
    expect(await snapshot(s.db)).toBe(before);
  });
});

describe('operator', () => {
  it('shows the budget, what is spent and left, and when it refills', async () => {
    const s = await setup();
    await seed(s);
    expect(await s.run('operator')).toEqual({
      exitCode: 0, code: null, stderr: '',
      stdout: 'Operator budget: 1000/day\nSpent today: 15\nLeft: 985\nRefills: 2026-11-26 00:00 UTC\n',
    });
  });

  it('says unlimited when OPERATOR_BUDGET is off, and never for a budget that does not refill', async () => {
    expect((await (await setup({ allowance: 50, period: 'day', operatorBudget: null })).run('operator')).stdout).toBe('Operator budget: unlimited (OPERATOR_BUDGET=off).\n');
    const once = await setup({ allowance: 50, period: 'day', operatorBudget: { amount: 10, period: 'none' } });
    await once.reserve('guild-a', 'ana', 'job-1', 8, 'discord');
    expect((await once.run('operator')).stdout).toBe('Operator budget: 10/none\nSpent so far: 8\nLeft: 2\nRefills: never (period none)\n');
  });
});

describe('export', () => {
  const HEADER = 'time,community,user_id,user_name,kind,credits,job_id,model,actor,note\r\n';

  it('writes the ledger as RFC 4180 CSV, quoting and neutralising what chat users typed', async () => {
    const s = await setup();
    await s.reserve('guild-a', 'u1', 'job-1', 8, 'discord', '=HYPERLINK("http://x","click")');
    s.clock.advance(HOUR);
    await s.bot.settle('job-1', 6);
    await s.bot.grant({ communityId: 'guild-a', userId: 'u2', displayName: '@ana, "the boss"', amount: 5, actorId: 'mod-1', note: '-5 was wrong\nsorry' });
    expect(await s.run('export')).toEqual({
      exitCode: 0, code: null, stderr: '',
      stdout:
        HEADER +
        `2026-11-25T12:00:00.000Z,guild-a,u1,"'=HYPERLINK(""http://x"",""click"")",allowance,50,,,system,allowance for day:2026-11-25\r\n` +
        `2026-11-25T12:00:00.000Z,guild-a,u1,"'=HYPERLINK(""http://x"",""click"")",reserve,-8,job-1,gen4_image,system,reserved 8 for gen4_image\r\n` +
        `2026-11-25T13:00:00.000Z,guild-a,u1,"'=HYPERLINK(""http://x"",""click"")",settle,2,job-1,gen4_image,system,final cost 6\r\n` +
        `2026-11-25T13:00:00.000Z,guild-a,u2,"'@ana, ""the boss""",allowance,50,,,system,allowance for day:2026-11-25\r\n` +
        `2026-11-25T13:00:00.000Z,guild-a,u2,"'@ana, ""the boss""",grant,5,,,mod-1,"'-5 was wrong\nsorry"\r\n`,
    });
  });

  it('covers whole days from --from to --to, one community with --community', async () => {
    const s = await setup();
    s.clock.set(Date.UTC(2026, 9, 31, 23, 59)); // the last minute of October
    await s.bot.balance('guild-a', 'ana');
    s.clock.set(Date.UTC(2026, 10, 1, 0, 0)); // the first of November
    await s.bot.grant({ communityId: 'guild-a', userId: 'ana', amount: 1, actorId: 'mod-1' });
    await s.bot.balance('guild-b', 'bo');
    s.clock.set(NOW);
    const times = (csv: string) => csv.split('\r\n').slice(1, -1).map((line) => line.split(',').slice(0, 2).join(' '));
    // Default: the current month up to today.
    expect(times((await s.run('export')).stdout)).toEqual(['2026-11-01T00:00:00.000Z guild-a', '2026-11-01T00:00:00.000Z guild-b']);
    expect(times((await s.run('export', '--from', '2026-10-31', '--to=2026-10-31')).stdout)).toEqual(['2026-10-31T23:59:00.000Z guild-a']);
    // --to alone: its whole month.
    expect(times((await s.run('export', '--to', '2026-10-31')).stdout)).toEqual(['2026-10-31T23:59:00.000Z guild-a']);
    expect(times((await s.run('export', '--from', '2026-10-01', '--community', 'guild-b')).stdout)).toEqual(['2026-11-01T00:00:00.000Z guild-b']);
    expect((await s.run('export', '--from', '2026-01-01', '--to', '2026-01-31')).stdout).toBe(HEADER);
  });

  it('--out hands the CSV to the CLI to write and says what it wrote', async () => {
    const s = await setup();
    await s.bot.balance('guild-a', 'ana');
    const result = await s.run('export', '--out', 'ledger.csv');
    expect(result).toEqual({
      exitCode: 0, code: null, stderr: '',
      stdout: 'Wrote 1 ledger entry from 2026-11-01 to 2026-11-25 to ledger.csv.\n',
      file: { path: 'ledger.csv', contents: `${HEADER}2026-11-25T12:00:00.000Z,guild-a,ana,ana,allowance,50,,,system,allowance for day:2026-11-25\r\n` },
    });
  });
});

describe('CSV cells', () => {
  it('neutralises formula starts in text, never in numbers, and quotes per RFC 4180', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', 'plain', 'a,b', 'say "hi"', 'two\nlines', '=a,b', ''].map(csvField)).toEqual([
      "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", `"'\rx"`, 'plain', '"a,b"', '"say ""hi"""', '"two\nlines"', `"'=a,b"`, '',
    ]);
    expect(csvField(-8)).toBe('-8');
    expect(csvField(null)).toBe('');
    expect(toCsv(['a', 'b'], [[1, 'x'], [null, '=y']])).toBe("a,b\r\n1,x\r\n,'=y\r\n");
  });
});

describe('help', () => {
  it('prints the usage for help, --help and no command at all', async () => {
    const s = await setup();
    for (const argv of [[], ['help'], ['--help'], ['-h']]) expect(await runAdmin(s.ctx, argv)).toEqual({ exitCode: 0, code: null, stderr: '', stdout: USAGE });
    expect(USAGE.split('\n')[0]).toBe('Usage: npm run admin -- <command>');
  });
});

describe('mistakes: one line on stderr, exit code 2, nothing changed', () => {
  const RANGE = "a whole number of credits from 0 to 1,000,000, or 'default'";
  const cases: [string[], string, string][] = [
    [['frobnicate'], 'admin.unknown_command', "Unknown command 'frobnicate': use communities, budget, block, unblock, operator, export, backup, copy-to-postgres or help."],
    [['budget', 'guild-zz', '10'], 'admin.unknown_community', "No community 'guild-zz' in the database: no member, ledger entry, job or setting names it. Run 'communities' to list the ids."],
    [['block', 'guild-zz', 'spam'], 'admin.unknown_community', "No community 'guild-zz' in the database: no member, ledger entry, job or setting names it. Run 'communities' to list the ids."],
    [['unblock', 'guild-zz'], 'admin.unknown_community', "No community 'guild-zz' in the database: no member, ledger entry, job or setting names it. Run 'communities' to list the ids."],
    [['export', '--community', 'guild-zz'], 'admin.unknown_community', "No community 'guild-zz' in the database: no member, ledger entry, job or setting names it. Run 'communities' to list the ids."],
    [['budget', 'guild-a', '-5'], 'admin.invalid_amount', `Budget '-5' is negative: use ${RANGE}.`],
    [['budget', 'guild-a', '2.5'], 'admin.invalid_amount', `Budget '2.5' is not a whole number: use ${RANGE}.`],
    [['budget', 'guild-a', '5000000'], 'admin.invalid_amount', "Budget '5000000' is more than the limit of 1,000,000 credits."],
    [['budget', 'guild-a', '1e9'], 'admin.invalid_amount', `Budget '1e9' is not an amount: use ${RANGE}.`],
    [['budget', 'guild-a', ''], 'admin.invalid_amount', `Give a budget: ${RANGE}.`],
    [['budget', 'guild-a', '10', 'fortnight'], 'admin.invalid_period', "Period 'fortnight' is not one of day, week, month or none."],
    [['budget', 'guild-a', 'default', 'week'], 'admin.usage', "'default' takes COMMUNITY_BUDGET's period: drop 'week', or give an amount with it."],
    [['budget', 'guild-a'], 'admin.usage', 'Usage: budget <community> <amount|default> [day|week|month|none], like: budget 123456789012345678 500 week'],
    [['budget', 'guild-a', '1', 'day', 'x'], 'admin.usage', 'Usage: budget <community> <amount|default> [day|week|month|none], like: budget 123456789012345678 500 week'],
    [['budget', ' ', '10'], 'admin.invalid_community', "Give a community id (run 'communities' to list them)."],
    [['block'], 'admin.usage', 'Usage: block <community> [note...], like: block 123456789012345678 spam'],
    [['unblock', 'guild-a', 'now'], 'admin.usage', 'Usage: unblock <community>'],
    [['communities', '--all'], 'admin.usage', 'Usage: communities'],
    [['operator', 'x'], 'admin.usage', 'Usage: operator'],
    [['export', '--from', '2026-02-30'], 'admin.invalid_date', "--from '2026-02-30' is not a date: use YYYY-MM-DD, like 2026-11-01."],
    [['export', '--to', '26-11-01'], 'admin.invalid_date', "--to '26-11-01' is not a date: use YYYY-MM-DD, like 2026-11-01."],
    [['export', '--from', '2026-11-20', '--to', '2026-11-01'], 'admin.invalid_range', '--from 2026-11-20 is after --to 2026-11-01: give an earlier --from or a later --to.'],
    [['export', '--from', '2026-12-01'], 'admin.invalid_range', '--from 2026-12-01 is after --to 2026-11-25 (today): give an earlier --from or a later --to.'],
    [['export', '--fro', '2026-11-01'], 'admin.unknown_option', "export has no option '--fro': use --from, --to, --community or --out."],
    [['export', '--from'], 'admin.usage', '--from needs a value: export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--community <id>] [--out <file.csv>].'],
    [['export', '--to', '2026-11-01', '--to', '2026-11-02'], 'admin.usage', '--to is given twice: give it once.'],
    [['export', 'november'], 'admin.usage', "export takes only options, not 'november': export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--community <id>] [--out <file.csv>]."],
    [['export', '--out='], 'admin.invalid_out', '--out needs a file name, like --out ledger.csv.'],
    [['backup'], 'admin.usage', 'Usage: backup <file> [--force], like: backup /data/backups/before-upgrade.db'],
    [['backup', 'a.db', 'b.db'], 'admin.usage', 'Usage: backup <file> [--force], like: backup /data/backups/before-upgrade.db'],
    [['backup', '--force', 'a.db', '--force'], 'admin.usage', 'Usage: backup <file> [--force], like: backup /data/backups/before-upgrade.db'],
    [['backup', '--forse', 'a.db'], 'admin.unknown_option', "backup has no option '--forse': use --force to replace an existing file."],
    // Parsed here, copied by cli.ts: the in-process runner has no file to copy to.
    [['backup', 'a.db'], 'admin.usage', 'backup runs from the command line: npm run admin -- backup <file>'],
  ];

  it.each(cases)('%j', async (argv, code, message) => {
    const s = await setup();
    await seed(s);
    const before = await snapshot(s.db);
    expect(await s.run(...argv)).toEqual({ exitCode: 2, code, stdout: '', stderr: `${message}\n` });
    expect(await snapshot(s.db)).toBe(before);
  });

  it('an error line stays one line whatever was typed', async () => {
    const s = await setup();
    expect((await s.run('budget', 'guild-a', '1\n2\u001b[31m')).stderr).toBe("Budget '1?2?[31m' is not an amount: use a whole number of credits from 0 to 1,000,000, or 'default'.\n");
  });
});
