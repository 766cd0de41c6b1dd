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
import { openDatabase, type Db } from './database.ts';
import { MIGRATIONS } from './migrations.ts';

let f: { db: Db; ledger: CreditLedger };
beforeEach(() => {
  const db = openDatabase(':memory:');
  f = { db, ledger: new CreditLedger(db, new ManualClock(), { allowance: 40, period: 'none' }) };
});
afterEach(() => {
  if (f.db.open) f.db.close();
});

let jobs = 0;
/** A job holding 8 credits, reserved through the real ledger. */
function heldJob(): string {
  const id = `job-${++jobs}`;
  insertJobRow(f.db, { id, communityId: 'g1', userId: 'amy' });
  const held = f.ledger.reserve({ communityId: 'g1', userId: 'amy', displayName: 'amy', jobId: id, model: 'gen4_image', amount: 8, atMs: 0 });
  if (!held.ok) throw new Error('expected the reservation');
  return id;
}

const insertEntry = (jobId: string | null, kind: string, delta: number) =>
  f.db
    .prepare(
      `insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at)
       values ('g1', 'amy', ?, ?, ?, 'system', 'by hand', 'gen4_image', 0, 0)`,
    )
    .run(jobId, kind, delta);
const entryCount = () => f.db.prepare('select count(*) from ledger').pluck().get() as number;

describe('the ledger refuses, whatever the code does', () => {
  it('an UPDATE of an entry aborts', () => {
    heldJob();
    expect(() => f.db.prepare('update ledger set delta = 100').run()).toThrow('the ledger is append-only: entries are never updated');
  });

  it('a DELETE of an entry aborts', () => {
    heldJob();
    const before = entryCount();
    expect(() => f.db.prepare('delete from ledger').run()).toThrow('the ledger is append-only: entries are never deleted');
    expect(entryCount()).toBe(before);
  });

  it.each(['reserve', 'settle', 'refund'])('a second %s for one job is refused by its unique index', (kind) => {
    const id = heldJob();
    if (kind !== 'reserve') insertEntry(id, kind, 8);
    expect(() => insertEntry(id, kind, 8)).toThrow(/UNIQUE constraint failed: ledger\.job_id/);
  });

  it('adjust entries may repeat: the estimate can move more than once', () => {
    const id = heldJob();
    insertEntry(id, 'adjust', 1);
    expect(() => insertEntry(id, 'adjust', 1)).not.toThrow();
  });

  it.each([5.5, '5.5', 'five', null])('a delta of %j is refused: credits are whole numbers', (delta) => {
    heldJob();
    const before = entryCount();
    expect(() =>
      f.db
        .prepare(`insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, created_at) values ('g1', 'amy', null, 'grant', ?, 'mod', 0)`)
        .run(delta),
    ).toThrow(/constraint failed/);
    expect(entryCount()).toBe(before);
  });

  it('a job entry without a job, or an allowance tied to one, is refused', () => {
    const id = heldJob();
    expect(() => insertEntry(null, 'reserve', -8)).toThrow(/CHECK constraint failed/);
    expect(() => insertEntry(id, 'allowance', 8)).toThrow(/CHECK constraint failed/);
  });

  it('a transaction that fails on its ledger write leaves nothing behind', () => {
    const id = heldJob();
    const before = entryCount();
    expect(() =>
      f.db
        .transaction(() => {
          insertEntry(id, 'settle', 0);
          insertEntry(id, 'settle', 0);
        })
        .immediate(),
    ).toThrow(/UNIQUE/);
    expect(entryCount()).toBe(before);
  });
});

describe('migration 2 on a database made by migration 1', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'imagine-migrate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every entry and every balance, and renames not_before to run_at', () => {
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

    const db = openDatabase(path);
    try {
      expect(db.prepare('select version from schema_migrations order by version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(db.prepare('select * from ledger order by id').all()).toEqual(before);
      const ledger = new CreditLedger(db, new ManualClock(0), { allowance: 50, period: 'none' });
      expect(db.prepare("select sum(delta) from ledger where user_id = 'amy'").pluck().get()).toBe(36);
      expect(db.prepare("select sum(delta) from ledger where user_id = 'ben'").pluck().get()).toBe(55);
      expect(ledger.heldFor('j-reserved')).toBe(8);
      expect(ledger.heldFor('j-delivered')).toBe(0);
      expect(db.prepare("select run_at, attempts, malformed_polls, locked_by from jobs where id = 'j-reserved'").get()).toEqual({
        run_at: 1_234,
        attempts: 0,
        malformed_polls: 0,
        locked_by: null,
      });
      // The rules now hold for the old entries too.
      expect(() => db.prepare("delete from ledger where job_id = 'j-failed'").run()).toThrow(/append-only/);
      expect(() =>
        db.prepare(`insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, created_at) values ('g1', 'amy', 'j-delivered', 'settle', 0, 'system', 0)`).run(),
      ).toThrow(/UNIQUE/);
    } finally {
      db.close();
    }
  });
});

describe('migrations 3 to 5 on a database made by migrations 1 and 2', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'imagine-migrate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the jobs, adds an empty reading time, and the history the schedule learns from is there at once', () => {
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

    const db = openDatabase(path);
    try {
      expect(db.prepare('select version from schema_migrations order by version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
      expect(db.prepare('select id, progress, progress_at from jobs order by id').all()).toEqual([
        { id: 'j-done', progress: 1, progress_at: null },
        { id: 'j-running', progress: 0.4, progress_at: null },
      ]);
      // Read through the index the store names (\`indexed by\` fails loudly should it go).
      const durations = db
        .prepare("select finished_at - submitted_at from jobs indexed by jobs_model_finished where model = 'gen4_image' and finished_at is not null")
        .pluck()
        .all();
      expect(durations).toEqual([11_000]);
    } finally {
      db.close();
    }
  });
});
