import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../job-store.ts';
import { releaseJobs, renewJobLeases, takeOverJobs } from './ownership.ts';
import { jobIn, ME, openFixture, OTHER, rowOf, type Fixture } from '../../../test/support/transition-fixtures.ts';

let f: Fixture;
beforeEach(() => {
  f = openFixture();
});
afterEach(() => f.db.close());

const T0 = Date.UTC(2026, 0, 5, 12);
const setLock = (id: string, lockedBy: string | null, lockedUntil: number | null) =>
  f.db.prepare('update jobs set locked_by = ?, locked_until = ? where id = ?').run(lockedBy, lockedUntil, id);

describe('job leases', () => {
  it('renewal extends every unfinished job of ours by a minute, in one statement, and nobody else’s', () => {
    const mine = [jobIn(f, 'queued'), jobIn(f, 'running'), jobIn(f, 'succeeded')];
    const finished = jobIn(f, 'delivered');
    const theirs = jobIn(f, 'running', 'ben');
    setLock(theirs, OTHER, T0 + 60_000);
    f.clock.advance(15_000);
    expect(renewJobLeases(f.ctx)).toBe(3);
    for (const id of mine) expect(rowOf(f.db, id)).toMatchObject({ locked_by: ME, locked_until: T0 + 75_000 });
    expect(rowOf(f.db, finished)).toMatchObject({ locked_until: T0 + 60_000 });
    expect(rowOf(f.db, theirs)).toMatchObject({ locked_by: OTHER, locked_until: T0 + 60_000 });
  });

  it('takeover takes unowned, expired and the gone instance’s jobs, never a live holder’s or a finished one', () => {
    const unowned = jobIn(f, 'reserved');
    const expired = jobIn(f, 'running');
    const gone = jobIn(f, 'succeeded');
    const live = jobIn(f, 'running', 'ben');
    const finished = jobIn(f, 'failed');
    setLock(unowned, null, null);
    setLock(expired, 'crashed-long-ago', T0 - 1);
    setLock(gone, 'just-died', T0 + 50_000);
    setLock(live, OTHER, T0 + 50_000);
    setLock(finished, 'just-died', T0 + 50_000);
    const taken = takeOverJobs({ ...f.ctx, instanceId: 'newcomer' }, 'just-died');
    expect(taken.map((job) => job.id).sort()).toEqual([unowned, expired, gone].sort());
    for (const id of [unowned, expired, gone]) expect(rowOf(f.db, id)).toMatchObject({ locked_by: 'newcomer', locked_until: T0 + 60_000 });
    expect(rowOf(f.db, live)).toMatchObject({ locked_by: OTHER });
    expect(rowOf(f.db, finished)).toMatchObject({ locked_by: 'just-died' });
  });

  it('never takes a job of its own, even with a lapsed lease: it may be mid-acceptance in this process', () => {
    const accepting = jobIn(f, 'queued');
    setLock(accepting, ME, T0 - 1);
    expect(takeOverJobs(f.ctx, 'just-died')).toEqual([]);
    expect(rowOf(f.db, accepting)).toMatchObject({ locked_by: ME, locked_until: T0 - 1 });
  });

  it('a taken-over submitting job is due at once, and a row without a due time gets one; other due times are kept', () => {
    const submitting = jobIn(f, 'submitting');
    const polled = jobIn(f, 'running');
    const old = jobIn(f, 'submitted');
    f.db.prepare('update jobs set run_at = null where id = ?').run(old);
    for (const id of [submitting, polled, old]) setLock(id, 'just-died', T0 + 50_000);
    const pollAt = rowOf(f.db, polled)['run_at'];
    f.clock.advance(1_000);
    takeOverJobs(f.ctx, 'just-died');
    expect(rowOf(f.db, submitting)).toMatchObject({ run_at: T0 + 1_000 });
    expect(rowOf(f.db, old)).toMatchObject({ run_at: T0 + 1_000 });
    expect(rowOf(f.db, polled)).toMatchObject({ run_at: pollAt });
  });

  it('a clean stop releases our unfinished jobs so the next start takes them at once', () => {
    const mine = jobIn(f, 'running');
    const theirs = jobIn(f, 'running', 'ben');
    setLock(theirs, OTHER, T0 + 60_000);
    expect(releaseJobs(f.ctx)).toBe(1);
    expect(rowOf(f.db, mine)).toMatchObject({ locked_by: null, locked_until: null });
    expect(takeOverJobs({ ...f.ctx, instanceId: 'next' }, null).map((job) => job.id)).toEqual([mine]);
  });
});

describe('what is due', () => {
  it('only our jobs whose run_at has come, in the states the runner works, earliest first', () => {
    const store = new JobStore(f.db, f.ledger, f.clock, ME);
    const poll = jobIn(f, 'submitted'); // first poll at T0 + 5 s
    const deliver = jobIn(f, 'succeeded'); // due at once
    const theirs = jobIn(f, 'succeeded', 'ben');
    setLock(theirs, OTHER, T0 + 60_000);
    jobIn(f, 'reserved'); // the fair queue's, not the due list's
    jobIn(f, 'queued');
    jobIn(f, 'delivered');
    expect(store.due(T0).map((job) => job.id)).toEqual([deliver]);
    expect(store.due(T0 + 5_000).map((job) => job.id)).toEqual([deliver, poll]);
  });

  it('the due list and the member count are answered from their partial indexes (the due list says so in its SQL)', () => {
    const plan = (sql: string) => (f.db.prepare(`explain query plan ${sql}`).all({ now: 0, instanceId: ME, communityId: 'g1', userId: 'amy' }) as { detail: string }[]).map((r) => r.detail).join('; ');
    expect(
      plan(`select * from jobs indexed by jobs_due
             where state not in ('delivered','rejected','failed','cancelled') and run_at <= @now and locked_by = @instanceId
               and state in ('submitting','submitted','running','succeeded') order by run_at, rowid`),
    ).toContain('USING INDEX jobs_due');
    expect(
      plan(`select count(*) from jobs
             where community_id = @communityId and user_id = @userId and state not in ('delivered','rejected','failed','cancelled')`),
    ).toContain('jobs_member_unfinished');
  });
});
