/**
 * Migration n means the same schema on both backends: the same tables, columns, nullability,
 * indexes and triggers (read from each catalogue), and the same rows refused by the same rules
 * (the same bad row tried on each). The ledger's append-only rules are checked on PostgreSQL
 * straight through SQL, as src/store/migrations.test.ts checks them on SQLite.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database, Sql, SqlValue } from '../src/store/sql.ts';
import { BACKENDS, dropTestDatabases, openTestDatabase, type Backend } from './support/test-database.ts';

afterAll(dropTestDatabases);

interface ColumnShape {
  readonly notNull: boolean;
  /** SQLite's declared type: integer, real or text. */
  readonly type: string;
}
interface IndexShape {
  readonly table: string;
  readonly columns: string;
  readonly unique: boolean;
  readonly partial: boolean;
}

/** PostgreSQL's types, in SQLite's words: what our SQL may assume of a column on either backend. */
const AS_SQLITE_TYPE: Readonly<Record<string, string>> = { bigint: 'integer', integer: 'integer', 'double precision': 'real', text: 'text' };

async function columnsOnSqlite(db: Sql): Promise<Record<string, Record<string, ColumnShape>>> {
  const tables = await db.all<{ name: string }>("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name");
  const shapes: Record<string, Record<string, ColumnShape>> = {};
  for (const { name: table } of tables) {
    // table_xinfo, not table_info: it lists generated columns (jobs.kind) too.
    const columns = await db.all<{ name: string; notnull: number; pk: number; type: string }>('select name, "notnull", pk, type from pragma_table_xinfo(?)', [table]);
    // A primary key column is not null in intent; SQLite lets a non-integer one hold NULL only
    // for backward compatibility, and our code never relies on that.
    shapes[table] = Object.fromEntries(columns.map((c) => [c.name, { notNull: c.notnull === 1 || c.pk > 0, type: c.type.toLowerCase() }]));
  }
  return shapes;
}

async function columnsOnPostgres(db: Sql): Promise<Record<string, Record<string, ColumnShape>>> {
  const rows = await db.all<{ table_name: string; column_name: string; is_nullable: string; data_type: string }>(
    `select table_name, column_name, is_nullable, data_type from information_schema.columns
      where table_schema = 'public' order by table_name, ordinal_position`,
  );
  const shapes: Record<string, Record<string, ColumnShape>> = {};
  for (const row of rows) {
    (shapes[row.table_name] ??= {})[row.column_name] = { notNull: row.is_nullable === 'NO', type: AS_SQLITE_TYPE[row.data_type] ?? row.data_type };
  }
  return shapes;
}

async function indexesOnSqlite(db: Sql): Promise<Record<string, IndexShape>> {
  const rows = await db.all<{ name: string; tbl_name: string }>("select name, tbl_name from sqlite_master where type = 'index' and sql is not null");
  const shapes: Record<string, IndexShape> = {};
  for (const row of rows) {
    const list = await db.all<{ name: string; unique: number; partial: number }>('select name, "unique", partial from pragma_index_list(?)', [row.tbl_name]);
    const entry = list.find((index) => index.name === row.name)!;
    const columns = await db.all<{ name: string }>('select name from pragma_index_info(?) order by seqno', [row.name]);
    shapes[row.name] = { table: row.tbl_name, columns: columns.map((c) => c.name).join(','), unique: entry.unique === 1, partial: entry.partial === 1 };
  }
  return shapes;
}

async function indexesOnPostgres(db: Sql): Promise<Record<string, IndexShape>> {
  // Primary keys are compared as not-null columns above; their index names differ by design.
  const rows = await db.all<{ name: string; table_name: string; columns: string; is_unique: boolean; is_partial: boolean }>(
    `select i.relname as name, t.relname as table_name, ix.indisunique as is_unique, ix.indpred is not null as is_partial,
            (select string_agg(a.attname, ',' order by k.n)
               from unnest(ix.indkey::int2[]) with ordinality as k(attnum, n)
               join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum) as columns
       from pg_index ix
       join pg_class i on i.oid = ix.indexrelid
       join pg_class t on t.oid = ix.indrelid
       join pg_namespace ns on ns.oid = t.relnamespace
      where ns.nspname = 'public' and not ix.indisprimary`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, { table: r.table_name, columns: r.columns, unique: r.is_unique, partial: r.is_partial }]));
}

/**
 * The tables whose queries order by SQLite's implicit rowid. PostgreSQL has no rowid, so there it
 * is a column (`bigint generated always as identity unique`): the one expected difference between
 * the two catalogues, a not-null whole-number column plus the unique index SQLite's rowid has by
 * being the table's key.
 */
const ROWID_TABLES = ['jobs', 'blocked_words'] as const;

/** `shapes` with an entry for each rowid table, as `entry(table)`, under `key(table)`. */
function withRowids<T>(shapes: Readonly<Record<string, T>>, entry: (table: string) => T, key = (table: string) => table): Record<string, T> {
  return { ...shapes, ...Object.fromEntries(ROWID_TABLES.map((table) => [key(table), entry(table)])) };
}

describe('the PostgreSQL schema has the meaning of the SQLite one', () => {
  let sqlite: Database;
  let postgres: Database;
  beforeAll(async () => {
    [sqlite, postgres] = await Promise.all([openTestDatabase('sqlite'), openTestDatabase('postgres')]);
  });
  afterAll(async () => {
    await Promise.all([sqlite.close(), postgres.close()]);
  });

  it('both are at schema version 6, with one row per version', async () => {
    expect(await sqlite.all('select version from schema_migrations order by version')).toEqual([1, 2, 3, 4, 5, 6].map((version) => ({ version })));
    expect(await postgres.all('select version from schema_migrations order by version')).toEqual([1, 2, 3, 4, 5, 6].map((version) => ({ version })));
  });

  it('every table has the same columns, each as nullable and of the same kind of type', async () => {
    const onSqlite = await columnsOnSqlite(sqlite);
    expect(Object.keys(onSqlite).sort()).toEqual([
      'accounts',
      'blocked_words',
      'community_settings',
      'instance_lease',
      'job_references',
      'jobs',
      'ledger',
      'platform_deliveries',
      'schema_migrations',
    ]);
    expect(await columnsOnPostgres(postgres)).toEqual(withRowids<Record<string, ColumnShape>>(onSqlite, (table) => ({ ...onSqlite[table], rowid: { notNull: true, type: 'integer' } })));
  });

  it('the indexes have the same names, tables, columns, uniqueness and partiality', async () => {
    const onSqlite = await indexesOnSqlite(sqlite);
    expect(Object.keys(onSqlite).sort()).toEqual([
      'job_references_sha',
      'jobs_community_reserved',
      'jobs_due',
      'jobs_member_delivered',
      'jobs_member_unfinished',
      'jobs_model_finished',
      'jobs_moderated',
      'jobs_submitted',
      'jobs_task',
      'jobs_unfinished',
      'ledger_account',
      'ledger_job',
      'ledger_one_refund',
      'ledger_one_reserve',
      'ledger_one_settle',
      'ledger_spend',
      'ledger_spend_all',
      'platform_deliveries_received',
    ]);
    expect(await indexesOnPostgres(postgres)).toEqual({
      ...onSqlite,
      ...withRowids<IndexShape>({}, (table) => ({ table, columns: 'rowid', unique: true, partial: false }), (table) => `${table}_rowid_key`),
    });
  });

  it('the triggers are the same, plus one for TRUNCATE, which only PostgreSQL has', async () => {
    const onSqlite = await sqlite.all<{ name: string; table_name: string }>(
      "select name, tbl_name as table_name from sqlite_master where type = 'trigger' order by name",
    );
    const onPostgres = await postgres.all<{ name: string; table_name: string }>(
      `select tgname as name, relname as table_name from pg_trigger join pg_class on pg_class.oid = tgrelid
        where not tgisinternal order by tgname`,
    );
    expect(onSqlite).toEqual([
      { name: 'jobs_upscale_params', table_name: 'jobs' },
      { name: 'ledger_no_delete', table_name: 'ledger' },
      { name: 'ledger_no_update', table_name: 'ledger' },
    ]);
    expect(onPostgres).toEqual([
      { name: 'jobs_upscale_params', table_name: 'jobs' },
      { name: 'ledger_no_delete', table_name: 'ledger' },
      { name: 'ledger_no_truncate', table_name: 'ledger' },
      { name: 'ledger_no_update', table_name: 'ledger' },
    ]);
  });
});

/** A row's text for either backend: named parameters, one per column. */
function insertRow(db: Sql, table: string, row: Readonly<Record<string, SqlValue>>): Promise<unknown> {
  const columns = Object.keys(row);
  return db.run(`insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`, row);
}

const JOB = {
  id: 'j1',
  platform: 'discord',
  community_id: 'g1',
  user_id: 'amy',
  user_name: 'Amy',
  placeholder: '{}',
  request: '{"prompt":"a koi pond"}',
  model: 'gen4_image',
  state: 'queued',
  created_at: 0,
  updated_at: 0,
} as const;
const ENTRY = { community_id: 'g1', user_id: 'amy', job_id: null, kind: 'grant', delta: 10, actor_id: 'mod', created_at: 0 } as const;
const SHA = 'ab'.repeat(32);
const REFERENCE = { job_id: 'j1', position: 0, tag: 'koi', sha256: SHA, runway_uri: 'runway://r1', uploaded_at: 0 } as const;
const LEASE = { id: 1, holder: 'h', hostname: 'box', pid: 1, started_at: 0, heartbeat_at: 0, expires_at: 0 } as const;
const UPSCALE = (upscale: string, model = 'magnific_precision_upscaler_v2') => ({
  ...JOB,
  id: 'j2',
  model,
  request: `{"prompt":"x","upscale":${upscale}}`,
});

/** Rows each schema must refuse: the table, the row, and the name PostgreSQL gives the rule. */
const REFUSED: readonly { readonly what: string; readonly table: string; readonly row: Readonly<Record<string, SqlValue>>; readonly constraint: string }[] = [
  { what: 'a job in an unknown state', table: 'jobs', row: { ...JOB, id: 'j2', state: 'paused' }, constraint: 'jobs_state_check' },
  { what: 'negative attempts', table: 'jobs', row: { ...JOB, id: 'j2', attempts: -1 }, constraint: 'jobs_attempts_check' },
  { what: 'negative malformed polls', table: 'jobs', row: { ...JOB, id: 'j2', malformed_polls: -1 }, constraint: 'jobs_malformed_polls_check' },
  { what: 'a moderated flag of 2', table: 'jobs', row: { ...JOB, id: 'j2', moderated: 2 }, constraint: 'jobs_moderated_check' },
  { what: 'an unknown ledger kind', table: 'ledger', row: { ...ENTRY, job_id: 'j1', kind: 'gift' }, constraint: 'ledger_kind_check' },
  { what: 'a reserve without a job', table: 'ledger', row: { ...ENTRY, kind: 'reserve' }, constraint: 'ledger_job_entries' },
  { what: 'a grant tied to a job', table: 'ledger', row: { ...ENTRY, job_id: 'j1' }, constraint: 'ledger_job_entries' },
  { what: 'an allowance period of a year', table: 'community_settings', row: { community_id: 'g1', allowance_period: 'year' }, constraint: 'community_settings_allowance_period_check' },
  { what: 'a cap period of a year', table: 'community_settings', row: { community_id: 'g1', cap_period: 'year' }, constraint: 'community_settings_cap_period_check' },
  { what: 'a budget period of a year', table: 'community_settings', row: { community_id: 'g1', budget_period: 'year' }, constraint: 'community_settings_budget_period_check' },
  { what: 'a negative budget', table: 'community_settings', row: { community_id: 'g1', budget: -1 }, constraint: 'community_settings_budget_check' },
  { what: 'a negative held top-up', table: 'accounts', row: { community_id: 'g1', user_id: 'amy', display_name: 'Amy', topup_from_holds: -1 }, constraint: 'accounts_topup_from_holds_check' },
  { what: 'a second lease row', table: 'instance_lease', row: { ...LEASE, id: 2 }, constraint: 'instance_lease_id_check' },
  { what: 'a negative reference position', table: 'job_references', row: { ...REFERENCE, position: -1 }, constraint: 'job_references_position_check' },
  { what: 'an upper-case sha256', table: 'job_references', row: { ...REFERENCE, sha256: SHA.toUpperCase() }, constraint: 'job_references_sha256_check' },
  { what: 'a 63-character sha256', table: 'job_references', row: { ...REFERENCE, sha256: SHA.slice(1) }, constraint: 'job_references_sha256_check' },
  { what: 'a sha256 with a g in it', table: 'job_references', row: { ...REFERENCE, sha256: `g${SHA.slice(1)}` }, constraint: 'job_references_sha256_check' },
  { what: 'a reference that is not a runway:// URI', table: 'job_references', row: { ...REFERENCE, runway_uri: 'https://x' }, constraint: 'job_references_runway_uri_check' },
];

/** Rows both schemas take, including the edges where the two dialects could have parted. */
const ACCEPTED: readonly { readonly what: string; readonly table: string; readonly row: Readonly<Record<string, SqlValue>> }[] = [
  { what: 'a RUNWAY:// URI (SQLite LIKE ignores case)', table: 'job_references', row: { ...REFERENCE, runway_uri: 'RUNWAY://r1' } },
  { what: 'an upscale by 2 of a named job on the upscaler', table: 'jobs', row: UPSCALE('{"scaleFactor":2,"sourceJobId":"j1"}') },
  { what: 'an upscale by 4.0 (a whole number written as a float)', table: 'jobs', row: UPSCALE('{"scaleFactor":4.0,"sourceJobId":"j1"}') },
  { what: 'an upscale without a scaleFactor (SQLite lets a null condition pass)', table: 'jobs', row: UPSCALE('{"sourceJobId":"j1"}') },
  { what: 'a request whose upscale is JSON null (no upscale at all)', table: 'jobs', row: { ...JOB, id: 'j2', request: '{"prompt":"x","upscale":null}' } },
];

/** Upscale rows the trigger refuses, with the one message both backends give. */
const REFUSED_UPSCALES: readonly { readonly what: string; readonly row: Readonly<Record<string, SqlValue>> }[] = [
  { what: 'a scaleFactor of 3', row: UPSCALE('{"scaleFactor":3,"sourceJobId":"j1"}') },
  { what: 'a scaleFactor of "2" (text)', row: UPSCALE('{"scaleFactor":"2","sourceJobId":"j1"}') },
  { what: 'no sourceJobId', row: UPSCALE('{"scaleFactor":2}') },
  { what: 'a numeric sourceJobId', row: UPSCALE('{"scaleFactor":2,"sourceJobId":7}') },
  { what: 'another model', row: UPSCALE('{"scaleFactor":2,"sourceJobId":"j1"}', 'gen4_image') },
];

describe.each(BACKENDS)('the same rows are refused and accepted on %s', (backend: Backend) => {
  let db: Database;
  beforeEach(async () => {
    db = await openTestDatabase(backend);
    await insertRow(db, 'jobs', JOB);
  });
  afterEach(async () => {
    await db.close();
  });

  const checkFailure = (table: string, constraint: string): string | RegExp =>
    backend === 'postgres' ? `new row for relation "${table}" violates check constraint "${constraint}"` : /^CHECK constraint failed: /;

  it.each(REFUSED)('$what is refused', async ({ table, row, constraint }) => {
    await expect(insertRow(db, table, row)).rejects.toThrow(checkFailure(table, constraint));
    expect(await db.value(`select count(*) from ${table}`)).toBe(table === 'jobs' ? 1 : 0);
  });

  it.each(ACCEPTED)('$what is taken', async ({ table, row }) => {
    await expect(insertRow(db, table, row)).resolves.toEqual({ changes: 1 });
  });

  it.each(REFUSED_UPSCALES)('an upscale with $what is refused by the trigger', async ({ row }) => {
    await expect(insertRow(db, 'jobs', row)).rejects.toThrow('an upscale job needs scaleFactor 2 or 4, a sourceJobId and the upscaler model');
  });

  it("a job's kind follows its request", async () => {
    await insertRow(db, 'jobs', UPSCALE('{"scaleFactor":2,"sourceJobId":"j1"}'));
    expect(await db.all('select id, kind from jobs order by id')).toEqual([
      { id: 'j1', kind: 'text_to_image' },
      { id: 'j2', kind: 'upscale' },
    ]);
  });

  it('a fractional budget is refused: credits are whole numbers', async () => {
    const refusal = backend === 'postgres' ? 'invalid input syntax for type bigint: "2.5"' : /^CHECK constraint failed: /;
    await expect(insertRow(db, 'community_settings', { community_id: 'g1', budget: 2.5 })).rejects.toThrow(refusal);
  });
});

describe('the ledger refuses on PostgreSQL, whatever the code does', () => {
  let db: Database;
  beforeEach(async () => {
    db = await openTestDatabase('postgres');
    await insertRow(db, 'jobs', JOB);
    await insertRow(db, 'ledger', ENTRY);
    await insertRow(db, 'ledger', { ...ENTRY, job_id: 'j1', kind: 'reserve', delta: -8, model: 'gen4_image', spend_at: 0 });
  });
  afterEach(async () => {
    await db.close();
  });

  const entries = () => db.all('select id, kind, delta from ledger order by id');
  const before = [
    { id: 1, kind: 'grant', delta: 10 },
    { id: 2, kind: 'reserve', delta: -8 },
  ];

  it('an UPDATE of an entry aborts and changes nothing', async () => {
    await expect(db.run('update ledger set delta = 100')).rejects.toThrow('the ledger is append-only: entries are never updated');
    expect(await entries()).toEqual(before);
  });

  it('a DELETE of an entry aborts and removes nothing', async () => {
    await expect(db.run('delete from ledger where id = 1')).rejects.toThrow('the ledger is append-only: entries are never deleted');
    expect(await entries()).toEqual(before);
  });

  it('a TRUNCATE aborts too: it is a delete that skips delete triggers', async () => {
    await expect(db.run('truncate ledger cascade')).rejects.toThrow('the ledger is append-only: entries are never deleted');
    expect(await entries()).toEqual(before);
  });

  it.each(['reserve', 'settle', 'refund'])('a second %s for one job is refused by its unique index', async (kind) => {
    const entry = { ...ENTRY, job_id: 'j1', kind, delta: kind === 'reserve' ? -8 : 8 };
    if (kind !== 'reserve') await insertRow(db, 'ledger', entry);
    await expect(insertRow(db, 'ledger', entry)).rejects.toThrow(`duplicate key value violates unique constraint "ledger_one_${kind}"`);
  });

  it('adjust entries may repeat: the estimate can move more than once', async () => {
    await insertRow(db, 'ledger', { ...ENTRY, job_id: 'j1', kind: 'adjust', delta: 1 });
    await insertRow(db, 'ledger', { ...ENTRY, job_id: 'j1', kind: 'adjust', delta: 1 });
    expect(await db.value("select count(*) from ledger where kind = 'adjust'")).toBe(2);
  });

  it.each([
    { delta: 5.5, message: 'invalid input syntax for type bigint: "5.5"' },
    { delta: '5.5', message: 'invalid input syntax for type bigint: "5.5"' },
    { delta: 'five', message: 'invalid input syntax for type bigint: "five"' },
    { delta: null, message: 'null value in column "delta" of relation "ledger" violates not-null constraint' },
  ])('a delta of $delta is refused: credits are whole numbers', async ({ delta, message }) => {
    await expect(insertRow(db, 'ledger', { ...ENTRY, delta })).rejects.toThrow(message);
    expect(await entries()).toEqual(before);
  });

  it('a settle with a job is taken, and a job entry without one or a grant with one is refused', async () => {
    await insertRow(db, 'ledger', { ...ENTRY, job_id: 'j1', kind: 'settle', delta: 8 });
    const violation = 'new row for relation "ledger" violates check constraint "ledger_job_entries"';
    await expect(insertRow(db, 'ledger', { ...ENTRY, kind: 'refund' })).rejects.toThrow(violation);
    await expect(insertRow(db, 'ledger', { ...ENTRY, job_id: 'j1', kind: 'allowance' })).rejects.toThrow(violation);
    expect(await db.value('select sum(delta) from ledger')).toBe(10);
  });

  it('ids come from the sequence: an explicit id is refused', async () => {
    await expect(insertRow(db, 'ledger', { ...ENTRY, id: 99 })).rejects.toThrow('cannot insert a non-DEFAULT value into column "id"');
  });
});
