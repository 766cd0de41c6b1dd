import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDb } from '../../../test/support/test-database.ts';
import type { Database } from '../../store/sql.ts';
import { JobStore } from '../job-store.ts';
import { releaseJobs, renewJobLeases, takeOverJobs } from './ownership.ts';
import { jobIn, ME, openFixture, OTHER, rowOf, type Fixture } from '../../../test/support/transition-fixtures.ts';

/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

let f: Fixture;
beforeEach(async () => {
  f = openFixture(await freshDb());
});
afterEach(() => f.db.close());

const T0 = Date.UTC(2026, 0, 5, 12);
const setLock = (id: string, lockedBy: string | null, lockedUntil: number | null) =>
  f.db.run('update jobs set locked_by = @lockedBy, locked_until = @lockedUntil where id = @id', { lockedBy, lockedUntil, id });

describe('job leases', () => {
  it('renewal extends every unfinished job of ours by a minute, in one statement, and nobody else’s', async () => {
    const mine = [await jobIn(f, 'queued'), await jobIn(f, 'running'), await jobIn(f, 'succeeded')];
    const finished = await jobIn(f, 'delivered');
    const theirs = await jobIn(f, 'running', 'ben');
    await setLock(theirs, OTHER, T0 + 60_000);
    f.clock.advance(15_000);
    expect(await renewJobLeases(f.ctx)).toBe(3);
    for (const id of mine) expect(await rowOf(f.db, id)).toMatchObject({ locked_by: ME, locked_until: T0 + 75_000 });
    expect(await rowOf(f.db, finished)).toMatchObject({ locked_until: T0 + 60_000 });
    expect(await rowOf(f.db, theirs)).toMatchObject({ locked_by: OTHER, locked_until: T0 + 60_000 });
  });

  it('takeover takes unowned, expired and the gone instance’s jobs, never a live holder’s or a finished one', async () => {
    const unowned = await jobIn(f, 'reserved');
    const expired = await jobIn(f, 'running');
    const gone = await jobIn(f, 'succeeded');
    const live = await jobIn(f, 'running', 'ben');
    const finished = await jobIn(f, 'failed');
    await setLock(unowned, null, null);
    await setLock(expired, 'crashed-long-ago', T0 - 1);
    await setLock(gone, 'just-died', T0 + 50_000);
    await setLock(live, OTHER, T0 + 50_000);
    await setLock(finished, 'just-died', T0 + 50_000);
    const taken = await takeOverJobs({ ...f.ctx, instanceId: 'newcomer' }, 'just-died');
    expect(taken.map((job) => job.id).sort()).toEqual([unowned, expired, gone].sort());
    for (const id of [unowned, expired, gone]) expect(await rowOf(f.db, id)).toMatchObject({ locked_by: 'newcomer', locked_until: T0 + 60_000 });
    expect(await rowOf(f.db, live)).toMatchObject({ locked_by: OTHER });
    expect(await rowOf(f.db, finished)).toMatchObject({ locked_by: 'just-died' });
  });

  it('never takes a job of its own, even with a lapsed lease: it may be mid-acceptance in this process', async () => {
    const accepting = await jobIn(f, 'queued');
    await setLock(accepting, ME, T0 - 1);
    expect(await takeOverJobs(f.ctx, 'just-died')).toEqual([]);
    expect(await rowOf(f.db, accepting)).toMatchObject({ locked_by: ME, locked_until: T0 - 1 });
  });

  it('a taken-over submitting job is due at once, and a row without a due time gets one; other due times are kept', async () => {
    const submitting = await jobIn(f, 'submitting');
    const polled = await jobIn(f, 'running');
    const old = await jobIn(f, 'submitted');
    await f.db.run('update jobs set run_at = null where id = @id', { id: old });
    for (const id of [submitting, polled, old]) await setLock(id, 'just-died', T0 + 50_000);
    const pollAt = (await rowOf(f.db, polled))['run_at'];
    f.clock.advance(1_000);
    await takeOverJobs(f.ctx, 'just-died');
    expect(await rowOf(f.db, submitting)).toMatchObject({ run_at: T0 + 1_000 });
    expect(await rowOf(f.db, old)).toMatchObject({ run_at: T0 + 1_000 });
    expect(await rowOf(f.db, polled)).toMatchObject({ run_at: pollAt });
  });

  it('a clean stop releases our unfinished jobs so the next start takes them at once', async () => {
    const mine = await jobIn(f, 'running');
    const theirs = await jobIn(f, 'running', 'ben');
    await setLock(theirs, OTHER, T0 + 60_000);
    expect(await releaseJobs(f.ctx)).toBe(1);
    expect(await rowOf(f.db, mine)).toMatchObject({ locked_by: null, locked_until: null });
    expect((await takeOverJobs({ ...f.ctx, instanceId: 'next' }, null)).map((job) => job.id)).toEqual([mine]);
  });
});

describe('what is due', () => {
  it('only our jobs whose run_at has come, in the states the runner works, earliest first', async () => {
    const store = new JobStore(f.db, f.ledger, f.clock, ME);
    const poll = await jobIn(f, 'submitted'); // first poll at T0 + 5 s
    const deliver = await jobIn(f, 'succeeded'); // due at once
    const theirs = await jobIn(f, 'succeeded', 'ben');
    await setLock(theirs, OTHER, T0 + 60_000);
    await jobIn(f, 'reserved'); // the fair queue's, not the due list's
    await jobIn(f, 'queued');
    await jobIn(f, 'delivered');
    expect((await store.due(T0)).map((job) => job.id)).toEqual([deliver]);
    expect((await store.due(T0 + 5_000)).map((job) => job.id)).toEqual([deliver, poll]);
  });

  // SQLite's query planner (`explain query plan`): on PostgreSQL this test has no counterpart.
  it('the due list and the member count are answered from their partial indexes (the due list says so in its SQL)', async () => {
    const params = { now: 0, instanceId: ME, communityId: 'g1', userId: 'amy' };
    const dueList = `select * from jobs ${f.db.dialect === 'sqlite' ? 'indexed by jobs_due' : ''}
             where state not in ('delivered','rejected','failed','cancelled') and run_at <= @now and locked_by = @instanceId
               and state in ('submitting','submitted','running','succeeded') order by run_at, rowid`;
    const memberCount = `select count(*) from jobs
             where community_id = @communityId and user_id = @userId and state not in ('delivered','rejected','failed','cancelled')`;
    if (f.db.dialect === 'sqlite') {
      const plan = async (sql: string) => (await f.db.all<{ detail: string }>(`explain query plan ${sql}`, params)).map((r) => r.detail).join('; ');
      expect(await plan(dueList)).toContain('USING INDEX jobs_due');
      expect(await plan(memberCount)).toContain('jobs_member_unfinished');
      return;
    }
    // PostgreSQL takes no hint: it picks among the usable indexes by its statistics (on this empty
    // table, a scan, or the per-state index jobs_unfinished). What the schema must guarantee is that
    // the partial index is usable, i.e. that the query's conditions imply the index's: with table
    // and bitmap scans priced out and the per-state index dropped, in a transaction rolled back, the plan uses it.
    const rolledBack = new Error('rolled back');
    const plan = async (sql: string) => {
      let text = '';
      await f.db
        .transaction(async (tx) => {
          await tx.run('set local enable_seqscan = off');
          await tx.run('set local enable_bitmapscan = off');
          await tx.run('drop index jobs_unfinished');
          text = (await tx.all<{ 'QUERY PLAN': string }>(`explain ${sql}`, params)).map((r) => r['QUERY PLAN']).join('; ');
          throw rolledBack;
        })
        .catch((error: unknown) => {
          if (error !== rolledBack) throw error;
        });
      return text;
    };
    expect(await plan(dueList)).toContain('Index Scan using jobs_due on jobs');
    expect(await plan(memberCount)).toContain('Index Only Scan using jobs_member_unfinished on jobs');
    expect(await f.db.value("select count(*) from pg_indexes where indexname = 'jobs_unfinished'")).toBe(1);
  });
});
