/**
 * Moving a store from SQLite to PostgreSQL: every row arrives as it was (ledger ids included), the
 * balances come out the same, new entries continue after the copied ids, and a copy that cannot be
 * complete copies nothing.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import {
  CopyFailedError,
  CopySchemaMismatchError,
  copySqliteToPostgres,
  CopyTargetNotEmptyError,
  type CopiedTable,
} from '../src/store/copy-to-postgres.ts';
import { openDatabase } from '../src/store/database.ts';
import { openPostgres } from '../src/store/open-postgres.ts';
import type { PostgresDatabase } from '../src/store/postgres-sql.ts';
import { dropTestDatabases, freshPostgresUrl } from './support/test-database.ts';

afterAll(dropTestDatabases);

const T = Date.UTC(2026, 0, 15, 9, 30);

/** A small store with a row in every table, ledger ids with a gap, and an upscale job. */
function seed(db: BetterSqlite3.Database): void {
  const job = db.prepare(
    `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, reserved_credits,
       task_id, cost_credits, progress, created_at, reserved_at, delivered_at, updated_at, attempts, moderated, result_link)
     values (@id, 'discord', 'g1', @user, @user, '{"channel":"c1"}', @request, @model, @state, @held, @task, @cost, @progress, @at, @at, @delivered, @at, @attempts, 0, @link)`,
  );
  job.run({ id: 'j1', user: 'amy', request: '{"prompt":"a koi pond"}', model: 'gen4_image', state: 'delivered', held: 0, task: 't1', cost: 8, progress: 1, at: T, delivered: T + 60_000, attempts: 0, link: 'https://discord.com/channels/g1/c1/m1' });
  job.run({ id: 'j2', user: 'amy', request: '{"prompt":"x","upscale":{"scaleFactor":2,"sourceJobId":"j1"}}', model: 'magnific_precision_upscaler_v2', state: 'running', held: 4, task: 't2', cost: null, progress: 0.25, at: T + 1, delivered: null, attempts: 2, link: null });
  job.run({ id: 'j3', user: 'bob', request: '{"prompt":"a heron"}', model: 'gen4_image', state: 'queued', held: null, task: null, cost: null, progress: null, at: T + 2, delivered: null, attempts: 0, link: null });
  const entry = db.prepare(
    `insert into ledger (id, community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at)
     values (@id, 'g1', @user, @job, @kind, @delta, @actor, @note, @model, @spend, @at)`,
  );
  entry.run({ id: 1, user: 'amy', job: null, kind: 'allowance', delta: 40, actor: 'system', note: null, model: null, spend: null, at: T });
  entry.run({ id: 2, user: 'amy', job: 'j1', kind: 'reserve', delta: -8, actor: 'system', note: null, model: 'gen4_image', spend: T, at: T });
  // A gap, as a rolled-back insert leaves one: the ids are copied as they are.
  entry.run({ id: 5, user: 'amy', job: 'j2', kind: 'reserve', delta: -4, actor: 'system', note: null, model: 'magnific_precision_upscaler_v2', spend: T + 1, at: T + 1 });
  entry.run({ id: 7, user: 'bob', job: null, kind: 'grant', delta: 15, actor: 'mod-1', note: 'welcome', model: null, spend: null, at: T + 2 });
  db.prepare(`insert into job_references (job_id, position, tag, sha256, runway_uri, uploaded_at) values ('j1', 0, 'koi', ?, 'runway://a', ?), ('j1', 1, 'pond', ?, 'runway://b', ?)`).run(
    'a'.repeat(64),
    T,
    'b'.repeat(64),
    T,
  );
  db.prepare(`insert into accounts (community_id, user_id, display_name, allowance_period_key, pardoned_at, topup_from_holds) values ('g1', 'amy', 'Amy', '2026-01', null, 3), ('g1', 'bob', 'Bob', null, ?, 0)`).run(T);
  db.prepare(`insert into community_settings (community_id, allowance, allowance_period, cap, cap_period, updated_by, updated_at, budget, budget_period) values ('g1', 40, 'month', 100, 'week', 'mod-1', ?, 500, 'month')`).run(T);
  db.prepare(`insert into blocked_words (community_id, word, added_by, added_at) values ('g1', 'gore', 'mod-1', ?), ('g1', 'spam', 'mod-1', ?)`).run(T, T + 5);
  db.prepare(`insert into instance_lease (id, holder, hostname, pid, started_at, heartbeat_at, expires_at) values (1, 'old-bot', 'old-host', 4242, ?, ?, ?)`).run(T, T, T + 30_000);
}

const ORDER: Readonly<Record<CopiedTable, string>> = {
  jobs: 'id',
  job_references: 'job_id, position',
  ledger: 'id',
  accounts: 'community_id, user_id',
  community_settings: 'community_id',
  blocked_words: 'community_id, word',
};
/** The tables that have a rowid column on PostgreSQL (src/store/postgres-migrations.ts). */
const ROWID_TABLES: ReadonlySet<string> = new Set(['jobs', 'blocked_words']);
const COUNTS = { jobs: 3, job_references: 2, ledger: 4, accounts: 2, community_settings: 1, blocked_words: 2 };
const BALANCES = 'select community_id, user_id, sum(delta) as balance from ledger group by community_id, user_id order by community_id, user_id';

describe('copySqliteToPostgres', () => {
  let source: BetterSqlite3.Database;
  let target: PostgresDatabase;
  beforeEach(async () => {
    source = openDatabase(':memory:');
    target = await openPostgres(await freshPostgresUrl(), { clock: new ManualClock(), poolMax: 2 });
  });
  afterEach(async () => {
    source.close();
    await target.close();
  });

  it('copies every row of every table as it was, and the balances agree', async () => {
    seed(source);
    const told: [CopiedTable, number][] = [];
    const result = await copySqliteToPostgres(source, target, { batchRows: 2, onTable: (table, rows) => told.push([table, rows]) });
    expect(result).toEqual({ tables: COUNTS });
    expect(told).toEqual(Object.entries(COUNTS));
    for (const [table, order] of Object.entries(ORDER)) {
      // `select *` includes jobs.kind: PostgreSQL computes it again, and must get the same answer.
      // It includes PostgreSQL's rowid column too, which stands for SQLite's implicit rowid: the
      // copy inserts in rowid order, so on this store (rowids 1, 2, 3 without gaps) they are equal.
      const sourceColumns = ROWID_TABLES.has(table) ? 'rowid, *' : '*';
      expect(await target.all(`select * from ${table} order by ${order}`)).toEqual(source.prepare(`select ${sourceColumns} from ${table} order by ${order}`).all());
    }
    expect(await target.all('select id, kind from jobs order by id')).toEqual([
      { id: 'j1', kind: 'text_to_image' },
      { id: 'j2', kind: 'upscale' },
      { id: 'j3', kind: 'text_to_image' },
    ]);
    expect(await target.all(BALANCES)).toEqual([
      { community_id: 'g1', user_id: 'amy', balance: 28 },
      { community_id: 'g1', user_id: 'bob', balance: 15 },
    ]);
    expect(source.prepare(BALANCES).all()).toEqual(await target.all(BALANCES));
  });

  it('leaves the old instance lease behind: the bot on the new store takes its own', async () => {
    seed(source);
    await copySqliteToPostgres(source, target);
    expect(await target.value('select count(*) from instance_lease')).toBe(0);
  });

  it('a new ledger entry after the copy gets the id after the last copied one', async () => {
    seed(source);
    await copySqliteToPostgres(source, target);
    const id = await target.value("insert into ledger (community_id, user_id, kind, delta, actor_id, created_at) values ('g1', 'bob', 'grant', 1, 'mod-1', 0) returning id");
    expect(id).toBe(8);
  });

  it('copies an empty store, and the first entry after it gets id 1', async () => {
    expect(await copySqliteToPostgres(source, target)).toEqual({
      tables: { jobs: 0, job_references: 0, ledger: 0, accounts: 0, community_settings: 0, blocked_words: 0 },
    });
    expect(await target.value("insert into ledger (community_id, user_id, kind, delta, actor_id, created_at) values ('g1', 'bob', 'grant', 1, 'mod-1', 0) returning id")).toBe(1);
  });

  it('refuses a target that already holds rows, naming what it holds', async () => {
    seed(source);
    await copySqliteToPostgres(source, target);
    const again = copySqliteToPostgres(source, target);
    await expect(again).rejects.toBeInstanceOf(CopyTargetNotEmptyError);
    await expect(again).rejects.toMatchObject({
      code: 'database.copy_target_not_empty',
      message:
        'The PostgreSQL database already holds rows (jobs: 3, job_references: 2, ledger: 4, accounts: 2, community_settings: 1, blocked_words: 2): ' +
        'copy only into a new, empty database.',
    });
    expect(await target.value('select count(*) from ledger')).toBe(4);
  });

  it.each([
    {
      version: 3,
      message: 'The SQLite database is at schema 3; this version copies schema 6 only. Start this version of imagine-bot on it once (which upgrades it), then copy again.',
    },
    {
      version: 9,
      message: 'The SQLite database was written by a newer imagine-bot (schema 9; this version copies schema 6). Copy it with that newer version.',
    },
  ])('refuses a SQLite store at schema $version', async ({ version, message }) => {
    seed(source);
    if (version < 6) source.prepare('delete from schema_migrations where version > ?').run(version);
    else source.prepare('insert into schema_migrations (version, applied_at) values (?, 0)').run(version);
    const copying = copySqliteToPostgres(source, target);
    await expect(copying).rejects.toBeInstanceOf(CopySchemaMismatchError);
    await expect(copying).rejects.toMatchObject({ code: 'database.copy_schema_mismatch', message });
    expect(await target.value('select count(*) from jobs')).toBe(0);
  });

  it('copies nothing at all when PostgreSQL refuses one row', async () => {
    seed(source);
    // SQLite keeps text in an integer column; PostgreSQL's bigint will not take it.
    source.prepare("update accounts set pardoned_at = 'yesterday' where user_id = 'amy'").run();
    const copying = copySqliteToPostgres(source, target);
    await expect(copying).rejects.toBeInstanceOf(CopyFailedError);
    await expect(copying).rejects.toMatchObject({
      code: 'database.copy_failed',
      table: 'accounts',
      message: 'Copying accounts to PostgreSQL failed, so nothing was copied: invalid input syntax for type bigint: "yesterday"',
    });
    expect(await target.value('select (select count(*) from jobs) + (select count(*) from ledger)')).toBe(0);
    expect(source.inTransaction).toBe(false);
  });
});
