/**
 * The ledger's rules live in the schema (migration 2): these tests go around the code, straight
 * through SQL, and expect the database itself to refuse.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import { insertJobRow } from '../../test/support/ledger-fixtures.ts';
import { openSqliteDatabase } from './database.ts';
import { MIGRATIONS } from './migrations.ts';
import type { Database as SqlDatabase, Sql } from './sql.ts';

/** The one place this file opens a fresh database: a migrated one per test. */
async function freshDb(): Promise<SqlDatabase> {
  return openSqliteDatabase(':memory:');
}

let f: { db: SqlDatabase; ledger: CreditLedger };
beforeEach(async () => {
  const db = await freshDb();
  f = { db, ledger: new CreditLedger(db, new ManualClock(), { allowance: 40, period: 'none' }) };
});
afterEach(async () => {
  await f.db.close();
});

let jobs = 0;
/** A job holding 8 credits, reserved through the real ledger. */
async function heldJob(): Promise<string> {
  const id = `job-${++jobs}`;
  await insertJobRow(f.db, { id, communityId: 'g1', userId: 'amy' });
  const held = await f.ledger.reserve({ communityId: 'g1', userId: 'amy', displayName: 'amy', jobId: id, model: 'gen4_image', amount: 8, atMs: 0 });
  if (!held.ok) throw new Error('expected the reservation');
  return id;
}

/** A ledger entry written by hand, on `sql`: the database, or a transaction's `tx`. */
const insertEntry = (jobId: string | null, kind: string, delta: number, sql: Sql = f.db) =>
  sql.run(
    `insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at)
     values ('g1', 'amy', ?, ?, ?, 'system', 'by hand', 'gen4_image', 0, 0)`,
    [jobId, kind, delta],
  );
const entryCount = async () => (await f.db.value<number>('select count(*) from ledger')) as number;

describe('the ledger refuses, whatever the code does', () => {
  it('an UPDATE of an entry aborts', async () => {
    await heldJob();
    await expect(f.db.run('update ledger set delta = 100')).rejects.toThrow('the ledger is append-only: entries are never updated');
  });

  it('a DELETE of an entry aborts', async () => {
    await heldJob();
    const before = await entryCount();
    await expect(f.db.run('delete from ledger')).rejects.toThrow('the ledger is append-only: entries are never deleted');
    expect(await entryCount()).toBe(before);
  });

  it.each(['reserve', 'settle', 'refund'])('a second %s for one job is refused by its unique index', async (kind) => {
    const id = await heldJob();
    if (kind !== 'reserve') await insertEntry(id, kind, 8);
    await expect(insertEntry(id, kind, 8)).rejects.toThrow(/UNIQUE constraint failed: ledger\.job_id/);
  });

  it('adjust entries may repeat: the estimate can move more than once', async () => {
    const id = await heldJob();
    await insertEntry(id, 'adjust', 1);
    await expect(insertEntry(id, 'adjust', 1)).resolves.not.toThrow();
  });

  it.each([5.5, '5.5', 'five', null])('a delta of %j is refused: credits are whole numbers', async (delta) => {
    await heldJob();
    const before = await entryCount();
    await expect(
      f.db.run(`insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, created_at) values ('g1', 'amy', null, 'grant', ?, 'mod', 0)`, [delta]),
    ).rejects.toThrow(/constraint failed/);
    expect(await entryCount()).toBe(before);
  });

  it('a job entry without a job, or an allowance tied to one, is refused', async () => {
    const id = await heldJob();
    await expect(insertEntry(null, 'reserve', -8)).rejects.toThrow(/CHECK constraint failed/);
    await expect(insertEntry(id, 'allowance', 8)).rejects.toThrow(/CHECK constraint failed/);
  });

  it('a transaction that fails on its ledger write leaves nothing behind', async () => {
    const id = await heldJob();
    const before = await entryCount();
    await expect(
      f.db.transaction(async (tx) => {
        await insertEntry(id, 'settle', 0, tx);
        await insertEntry(id, 'settle', 0, tx);
      }),
    ).rejects.toThrow(/UNIQUE/);
    expect(await entryCount()).toBe(before);
  });
});

describe('migration 2 on a database made by migration 1', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'imagine-migrate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every entry and every balance, and renames not_before to run_at', async () => {
    const path = join(dir, 'v1.db');
    const v1 = new Database(path);
    v1.exec('create table schema_migrations (version integer primary key, applied_at integer not null)');
    v1.exec(MIGRATIONS[0]!.sql);
    v1.prepare('insert into schema_migrations (version, applied_at) values (1, 0)').run();
    const job = v1.prepare(
      `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, reserved_credits, task_id, cost_credits, not_before, created_at, updated_at)
       values (?, 'test', 'g1', ?, ?, '{}', '{"prompt":"p","modelId":"gen4_image","ratio":"1920:1080","seed":null,"tags":[]}', 'gen4_image', ?, ?, ?, ?, ?, 0, 0)`,
    );
    job.run('j-delivered', 'amy', 'amy', 'delivered', 8, 't1', 6, null);
    job.run('j-reserved', 'amy', 'amy', 'reserved', 8, null, null, 1_234);
    job.run('j-failed', 'ben', 'ben', 'failed', null, null, null, null);
    const entry = v1.prepare(
      `insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at) values ('g1', ?, ?, ?, ?, ?, 'n', ?, ?, 0)`,
    );
    const rows: [string, string | null, string, number, string, string | null, number | null][] = [
      ['amy', null, 'allowance', 50, 'system', null, null],
      ['ben', null, 'allowance', 50, 'system', null, null],
      ['ben', null, 'grant', 7, 'mod-1', null, null],
      ['amy', 'j-delivered', 'reserve', -8, 'system', 'gen4_image', 10],
      ['amy', 'j-delivered', 'adjust', 2, 'system', 'gen4_image', 10],
      ['amy', 'j-delivered', 'settle', 0, 'system', 'gen4_image', 10],
      ['amy', 'j-reserved', 'reserve', -8, 'system', 'gen4_image', 20],
      ['ben', 'j-failed', 'reserve', -5, 'system', 'gen4_image', 30],
      ['ben', 'j-failed', 'refund', 5, 'system', 'gen4_image', 30],
      ['ben', null, 'set', -2, 'mod-1', null, null],
    ];
    for (const row of rows) entry.run(...row);
    const before = v1.prepare('select * from ledger order by id').all();
    v1.close();

    // SQLite's own upgrade path: the file made above, opened as the bot opens it.
    const db = openSqliteDatabase(path);
    try {
      expect((await db.all<{ version: number }>('select version from schema_migrations order by version')).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await db.all('select * from ledger order by id')).toEqual(before);
      const ledger = new CreditLedger(db, new ManualClock(0), { allowance: 50, period: 'none' });
      expect(await db.value("select sum(delta) from ledger where user_id = 'amy'")).toBe(36);
      expect(await db.value("select sum(delta) from ledger where user_id = 'ben'")).toBe(55);
      expect(await ledger.heldFor('j-reserved')).toBe(8);
      expect(await ledger.heldFor('j-delivered')).toBe(0);
      expect(await db.get("select run_at, attempts, malformed_polls, locked_by from jobs where id = 'j-reserved'")).toEqual({
        run_at: 1_234,
        attempts: 0,
        malformed_polls: 0,
        locked_by: null,
      });
      // The rules now hold for the old entries too.
      await expect(db.run("delete from ledger where job_id = 'j-failed'")).rejects.toThrow(/append-only/);
      await expect(
        db.run(`insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, created_at) values ('g1', 'amy', 'j-delivered', 'settle', 0, 'system', 0)`),
      ).rejects.toThrow(/UNIQUE/);
    } finally {
      await db.close();
    }
  });
});

describe('migrations 3 to 5 on a database made by migrations 1 and 2', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'imagine-migrate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the jobs, adds an empty reading time, and the history the schedule learns from is there at once', async () => {
    const path = join(dir, 'v2.db');
    const v2 = new Database(path);
    v2.exec('create table schema_migrations (version integer primary key, applied_at integer not null)');
    for (const migration of MIGRATIONS.slice(0, 2)) {
      v2.exec(migration.sql);
      v2.prepare('insert into schema_migrations (version, applied_at) values (?, 0)').run(migration.version);
    }
    v2.prepare(
      `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, reserved_credits, task_id, cost_credits,
                         progress, submitted_at, finished_at, created_at, updated_at)
       values ('j-running', 'test', 'g1', 'amy', 'amy', '{}', '{}', 'gen4_image', 'running', 8, 't1', null, 0.4, 1000, null, 0, 0),
              ('j-done', 'test', 'g1', 'amy', 'amy', '{}', '{}', 'gen4_image', 'delivered', 0, 't2', 8, 1, 1000, 12000, 0, 0)`,
    ).run();
    v2.close();

    // SQLite's own upgrade path: the file made above, opened as the bot opens it.
    const db = openSqliteDatabase(path);
    try {
      expect((await db.all<{ version: number }>('select version from schema_migrations order by version')).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await db.all('select id, progress, progress_at from jobs order by id')).toEqual([
        { id: 'j-done', progress: 1, progress_at: null },
        { id: 'j-running', progress: 0.4, progress_at: null },
      ]);
      // Read through the index the store names (\`indexed by\`, SQLite's, fails loudly should it go).
      const durations = db.raw
        .prepare("select finished_at - submitted_at from jobs indexed by jobs_model_finished where model = 'gen4_image' and finished_at is not null")
        .pluck()
        .all();
      expect(durations).toEqual([11_000]);
    } finally {
      await db.close();
    }
  });
});
