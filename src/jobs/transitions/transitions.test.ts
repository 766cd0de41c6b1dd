import type { Failure } from '../../errors.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTestDb } from '../../../test/support/test-database.ts';
import type { Database } from '../../store/sql.ts';
import { JOB_STATES, TERMINAL_STATES, type JobState } from '../job.ts';
import { acceptJob } from './accept-job.ts';
import { backToQueue } from './back-to-queue.ts';
import type { TransitionContext } from './context.ts';
import { deferDelivery } from './defer-delivery.ts';
import { markCancelled } from './mark-cancelled.ts';
import { markDelivered } from './mark-delivered.ts';
import { markFailed } from './mark-failed.ts';
import { markReady } from './mark-ready.ts';
import { markRunning } from './mark-running.ts';
import { markSubmitted } from './mark-submitted.ts';
import { markSucceeded } from './mark-succeeded.ts';
import { markTaskFailed } from './mark-task-failed.ts';
import { recordPollTrouble, recordUnfinishedPoll } from './record-poll.ts';
import { reject } from './reject.ts';
import { saveCheckpoint } from './save-checkpoint.ts';
import { setReferenceUris } from './set-reference-uris.ts';
import { startSubmitting } from './start-submitting.ts';
import { ALLOWANCE, balanceOf, breakLedgerWrites, entriesOf, jobIn, ME, newJob, openFixture, OTHER, PRICE, rowOf, type Fixture } from '../../../test/support/transition-fixtures.ts';

/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

let f: Fixture;
beforeEach(async () => {
  f = openFixture(await freshDb());
});
afterEach(() => f.db.close());

const FAILURE: Failure = { code: 'runway.safety_input', userMessage: 'declined' };
const T0 = Date.UTC(2026, 0, 5, 12);

/** The job's row and its ledger entries, to compare before and after. */
const snapshot = async (id: string) => ({ row: await rowOf(f.db, id), ledger: await entriesOf(f.db, id) });

/** Every transition, the states it applies from, and the ledger entry it writes (if any). */
const TRANSITIONS: readonly { name: string; from: readonly JobState[]; apply: (ctx: TransitionContext, id: string) => Promise<boolean>; writes?: string }[] = [
  { name: 'setReferenceUris', from: ['queued'], apply: (ctx, id) => setReferenceUris(ctx, id, [{ uri: 'runway://ref', tag: 'cat' }]) },
  { name: 'markReady', from: ['queued'], apply: (ctx, id) => markReady(ctx, id) },
  { name: 'reject', from: ['queued'], apply: (ctx, id) => reject(ctx, id, FAILURE), writes: 'refund' },
  { name: 'startSubmitting', from: ['reserved'], apply: (ctx, id) => startSubmitting(ctx, id) },
  { name: 'backToQueue', from: ['submitting'], apply: (ctx, id) => backToQueue(ctx, id, T0 + 3_000) },
  { name: 'markSubmitted', from: ['submitting'], apply: (ctx, id) => markSubmitted(ctx, id, 'task-x', 6, T0 + 5_000), writes: 'adjust' },
  { name: 'markRunning', from: ['submitted', 'running'], apply: (ctx, id) => markRunning(ctx, id, 0.7, T0 + 5_000) },
  { name: 'recordUnfinishedPoll', from: ['submitted', 'running'], apply: (ctx, id) => recordUnfinishedPoll(ctx, id, T0 + 5_000) },
  { name: 'recordPollTrouble', from: ['submitted', 'running'], apply: (ctx, id) => recordPollTrouble(ctx, id, T0 + 10_000, true) },
  { name: 'markSucceeded', from: ['submitted', 'running'], apply: (ctx, id) => markSucceeded(ctx, id, 5, T0), writes: 'settle' },
  { name: 'saveCheckpoint', from: ['succeeded'], apply: (ctx, id) => saveCheckpoint(ctx, id, 'step-1') },
  { name: 'deferDelivery', from: ['succeeded'], apply: (ctx, id) => deferDelivery(ctx, id, T0 + 20_000) },
  { name: 'markDelivered', from: ['succeeded'], apply: (ctx, id) => markDelivered(ctx, id) },
  { name: 'markFailed', from: ['queued', 'reserved', 'submitting', 'submitted', 'running', 'succeeded'], apply: (ctx, id) => markFailed(ctx, id, FAILURE), writes: 'refund' },
  { name: 'markCancelled', from: ['reserved', 'submitting', 'submitted', 'running'], apply: (ctx, id) => markCancelled(ctx, id, FAILURE), writes: 'refund' },
  { name: 'markTaskFailed', from: ['submitted', 'running'], apply: (ctx, id) => markTaskFailed(ctx, id, FAILURE, { costCredits: PRICE, moderated: true }), writes: 'settle' },
];

describe.each(TRANSITIONS)('$name', ({ from, apply, writes }) => {
  it.each(JOB_STATES.map((state) => [state]))('from %s: applies exactly when the state allows it, and then only for the lock holder', async (state) => {
    const id = await jobIn(f, state);
    const before = await snapshot(id);
    if (!from.includes(state)) {
      expect(await apply(f.ctx, id)).toBe(false);
      expect(await snapshot(id)).toEqual(before);
      return;
    }
    // Another instance holding no lock on it changes nothing, even from the right state.
    expect(await apply(f.other, id)).toBe(false);
    expect(await snapshot(id)).toEqual(before);
    expect(await apply(f.ctx, id)).toBe(true);
    const added = (await entriesOf(f.db, id)).slice(before.ledger.length).map((entry) => entry.kind);
    expect(added).toEqual(writes ? [writes] : []);
  });

  it('changes nothing for us once another instance holds the job', async () => {
    const id = await jobIn(f, from[0]!);
    await f.db.run('update jobs set locked_by = @lockedBy where id = @id', { lockedBy: OTHER, id });
    const before = await snapshot(id);
    expect(await apply(f.ctx, id)).toBe(false);
    expect(await snapshot(id)).toEqual(before);
    expect(await apply(f.other, id)).toBe(true);
  });

  if (writes) {
    it(`writes its ${writes} in the same transaction: when the ledger write fails, the row is unchanged`, async () => {
      const id = await jobIn(f, from[0]!);
      const before = await snapshot(id);
      const broken = await breakLedgerWrites(f.db);
      await expect(apply(f.ctx, id)).rejects.toThrow('disk is full');
      expect(await snapshot(id)).toEqual(before);
      await broken.heal();
      expect(await apply(f.ctx, id)).toBe(true);
    });
  }
});

describe('acceptJob', () => {
  const count = async (sql: string) => (await f.db.value<number>(sql)) as number;

  it('inserts the job queued, ours, and holds the price in one go', async () => {
    const outcome = await acceptJob(f.ctx, newJob(), PRICE, 2);
    expect(outcome).toEqual({ ok: true, jobId: expect.any(String), balanceAfter: ALLOWANCE - PRICE });
    if (!outcome.ok) return;
    expect(await rowOf(f.db, outcome.jobId)).toMatchObject({ state: 'queued', reserved_credits: PRICE, reserved_at: T0, locked_by: ME, locked_until: T0 + 60_000 });
    expect(await entriesOf(f.db, outcome.jobId)).toEqual([{ kind: 'reserve', delta: -PRICE }]);
  });

  it('refuses a member at the limit, writing nothing, and counts only unfinished jobs', async () => {
    await jobIn(f, 'running');
    await jobIn(f, 'queued');
    await jobIn(f, 'delivered'); // finished: does not count
    await jobIn(f, 'running', 'ben'); // someone else's
    const jobs = await count('select count(*) from jobs');
    const entries = await count('select count(*) from ledger');
    expect(await acceptJob(f.ctx, newJob(), 1, 2)).toEqual({ ok: false, reason: 'too_many_jobs', inFlight: 2, limit: 2 });
    expect(await count('select count(*) from jobs')).toBe(jobs);
    expect(await count('select count(*) from ledger')).toBe(entries);
    expect(await acceptJob(f.ctx, newJob(), 1, 3)).toMatchObject({ ok: true });
  });

  it("keeps nothing when the ledger refuses: no job, no hold, not even the allowance it credited on the way", async () => {
    expect(await acceptJob(f.ctx, newJob(), ALLOWANCE + 1, 2)).toEqual({
      ok: false,
      reason: 'insufficient_credits',
      balance: ALLOWANCE,
      price: ALLOWANCE + 1,
      resetsAt: Date.UTC(2026, 0, 6),
      allowance: ALLOWANCE,
    });
    expect(await count('select count(*) from jobs')).toBe(0);
    expect(await count('select count(*) from ledger')).toBe(0);
  });

  it('leaves nothing behind when the hold cannot be written', async () => {
    const broken = await breakLedgerWrites(f.db);
    await expect(acceptJob(f.ctx, newJob(), PRICE, 2)).rejects.toThrow('disk is full');
    await broken.heal();
    expect(await count('select count(*) from jobs')).toBe(0);
  });
});

describe('what each transition records', () => {
  it('a success holds the price, follows the estimate and charges the final cost', async () => {
    const id = await jobIn(f, 'submitting');
    expect(await markSubmitted(f.ctx, id, 'task-1', 6, T0 + 7_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'submitted', task_id: 'task-1', estimated_credits: 6, reserved_credits: 6, submitted_at: T0, run_at: T0 + 7_000, attempts: 0 });
    f.clock.advance(7_000);
    expect(await markRunning(f.ctx, id, 0.5, T0 + 12_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'running', progress: 0.5, run_at: T0 + 12_000, last_unfinished_at: T0 + 7_000 });
    f.clock.advance(5_000);
    expect(await markSucceeded(f.ctx, id, 5, T0 + 10_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'succeeded', cost_credits: 5, finished_at: T0 + 10_000, run_at: T0 + 12_000, attempts: 0 });
    expect(await markDelivered(f.ctx, id)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'delivered', delivered_at: T0 + 12_000, run_at: null });
    expect(await entriesOf(f.db, id)).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'adjust', delta: 2 },
      { kind: 'settle', delta: 1 },
    ]);
    expect(await balanceOf(f.db, 'amy')).toBe(ALLOWANCE - 5);
  });

  it('a RUNNING answer keeps its reading and when it was read; one without a figure keeps the last reading', async () => {
    const id = await jobIn(f, 'submitted');
    expect(await markRunning(f.ctx, id, 0.2, T0 + 5_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ progress: 0.2, progress_at: T0 });
    f.clock.advance(5_000);
    expect(await markRunning(f.ctx, id, 0.6, T0 + 12_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ progress: 0.6, progress_at: T0 + 5_000, run_at: T0 + 12_000 });
    f.clock.advance(5_000);
    expect(await markRunning(f.ctx, id, null, T0 + 15_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ progress: 0.6, progress_at: T0 + 5_000, last_unfinished_at: T0 + 10_000 });
  });

  it("takes a model's slot only while fewer than `slots` of its generations are at Runway, whoever sent them", async () => {
    // At Runway already, sent by another process on the same database.
    const theirs = await jobIn(f, 'submitted', 'bea');
    await f.db.run("update jobs set locked_by = 'another-process' where id = @id", { id: theirs });
    const first = await jobIn(f, 'reserved', 'amy');
    const second = await jobIn(f, 'reserved', 'cal');
    expect(await startSubmitting(f.ctx, first, 1)).toBe(false);
    expect(await rowOf(f.db, first)).toMatchObject({ state: 'reserved' });
    expect(await startSubmitting(f.ctx, first, 2)).toBe(true);
    // Submitting counts too: the create is on its way.
    expect(await startSubmitting(f.ctx, second, 2)).toBe(false);
    expect(await startSubmitting(f.ctx, second, 3)).toBe(true);
  });

  it('a deferred create goes back to the queue one attempt further, and is not submitted before its time', async () => {
    const id = await jobIn(f, 'submitting');
    expect(await backToQueue(f.ctx, id, T0 + 3_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'reserved', run_at: T0 + 3_000, attempts: 1 });
    expect(await startSubmitting(f.ctx, id)).toBe(false);
    f.clock.advance(3_000);
    expect(await startSubmitting(f.ctx, id)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'submitting', run_at: T0 + 3_000 + 120_000, attempts: 1 });
    expect(await backToQueue(f.ctx, id, T0 + 9_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ attempts: 2 });
    expect(await entriesOf(f.db, id)).toEqual([{ kind: 'reserve', delta: -8 }]);
  });

  it('poll trouble counts attempts and unreadable answers; an unfinished answer resets both', async () => {
    const id = await jobIn(f, 'submitted');
    expect(await recordPollTrouble(f.ctx, id, T0 + 10_000, true)).toBe(true);
    expect(await recordPollTrouble(f.ctx, id, T0 + 20_000, true)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ run_at: T0 + 20_000, attempts: 2, malformed_polls: 2 });
    expect(await recordPollTrouble(f.ctx, id, T0 + 40_000, false)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ run_at: T0 + 40_000, attempts: 3, malformed_polls: 0 });
    f.clock.advance(40_000);
    expect(await recordUnfinishedPoll(f.ctx, id, T0 + 45_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'submitted', run_at: T0 + 45_000, attempts: 0, malformed_polls: 0, last_unfinished_at: T0 + 40_000 });
  });

  it('a delivery retry counts attempts and keeps the checkpoint', async () => {
    const id = await jobIn(f, 'succeeded');
    expect(await saveCheckpoint(f.ctx, id, 'uploaded:F123')).toBe(true);
    expect(await deferDelivery(f.ctx, id, T0 + 20_000)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'succeeded', delivery_checkpoint: 'uploaded:F123', run_at: T0 + 20_000, attempts: 1 });
  });

  it('a rejected queued job gets its hold back: the member is where they started', async () => {
    const id = await jobIn(f, 'queued');
    expect(await balanceOf(f.db, 'amy')).toBe(ALLOWANCE - PRICE);
    expect(await reject(f.ctx, id, FAILURE)).toBe(true);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'rejected', failure_code: FAILURE.code, failure_message: FAILURE.userMessage, finished_at: T0, run_at: null });
    expect(await entriesOf(f.db, id)).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'refund', delta: 8 },
    ]);
    expect(await balanceOf(f.db, 'amy')).toBe(ALLOWANCE);
  });

  it("a task Runway failed is charged Runway's cost: a moderated decline in full, as a strike; an unbilled failure is refunded", async () => {
    const declined = await jobIn(f, 'running');
    expect(await markTaskFailed(f.ctx, declined, FAILURE, { costCredits: PRICE, moderated: true })).toBe(true);
    expect(await entriesOf(f.db, declined)).toEqual([{ kind: 'reserve', delta: -PRICE }, { kind: 'settle', delta: 0 }]);
    expect(await rowOf(f.db, declined)).toMatchObject({ state: 'failed', moderated: 1, cost_credits: PRICE, failure_code: FAILURE.code, run_at: null });
    const internal = await jobIn(f, 'submitted');
    expect(await markTaskFailed(f.ctx, internal, { code: 'runway.internal', userMessage: 'x' }, { costCredits: 0, moderated: false })).toBe(true);
    expect(await entriesOf(f.db, internal)).toEqual([{ kind: 'reserve', delta: -PRICE }, { kind: 'refund', delta: PRICE }]);
    expect(await rowOf(f.db, internal)).toMatchObject({ state: 'failed', moderated: 0, cost_credits: 0 });
    // Applying it again changes nothing: no second charge.
    expect(await markTaskFailed(f.ctx, declined, FAILURE, { costCredits: PRICE, moderated: true })).toBe(false);
    expect(await balanceOf(f.db, 'amy')).toBe(ALLOWANCE - PRICE);
  });

  it('a cancellation Runway billed is charged what it billed', async () => {
    const id = await jobIn(f, 'running');
    expect(await markCancelled(f.ctx, id, FAILURE, 3)).toBe(true);
    expect(await entriesOf(f.db, id)).toEqual([{ kind: 'reserve', delta: -PRICE }, { kind: 'settle', delta: PRICE - 3 }]);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'cancelled', cost_credits: 3 });
  });

  it('failing a settled job (its image never arrived) gives back what it was charged, once', async () => {
    const id = await jobIn(f, 'succeeded');
    expect(await markFailed(f.ctx, id, FAILURE)).toBe(true);
    expect(await markFailed(f.ctx, id, FAILURE)).toBe(false);
    expect(await entriesOf(f.db, id)).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'settle', delta: 0 },
      { kind: 'refund', delta: 8 },
    ]);
    expect(await balanceOf(f.db, 'amy')).toBe(ALLOWANCE);
  });

  it('a job from before holds moved to acceptance (queued, nothing held) is never made ready', async () => {
    const id = await jobIn(f, 'queued');
    await f.db.run('update jobs set reserved_credits = null where id = @id', { id });
    expect(await markReady(f.ctx, id)).toBe(false);
    expect(await rowOf(f.db, id)).toMatchObject({ state: 'queued' });
  });
});

describe('the SQL itself', () => {
  const sources = readdirSync(new URL('.', import.meta.url))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .map((name) => ({ name, text: readFileSync(new URL(name, import.meta.url), 'utf8') }));

  it('every "unfinished" clause lists exactly the final states', () => {
    const clauses = sources.flatMap(({ text }) => [...text.matchAll(/state not in \(([^)]*)\)/g)].map((m) => m[1]!));
    expect(clauses.length).toBeGreaterThanOrEqual(4);
    for (const clause of clauses) expect(new Set(clause.split(',').map((s) => s.trim().replace(/'/g, '')))).toEqual(TERMINAL_STATES);
  });

  it('every update of a job names the state it expects and the instance that must hold it, or is about our own locks', () => {
    for (const { name, text } of sources) {
      for (const match of text.matchAll(/update jobs set[\s\S]*?`/g)) {
        const statement = match[0];
        expect(statement, name).toMatch(/locked_by = @instanceId|locked_by is null or \(locked_by <> @instanceId and/);
        expect(statement, name).toMatch(/state (=|in|not in) /);
      }
    }
  });

  it('a newcomer finds each target state by grepping for it', () => {
    for (const state of JOB_STATES) {
      const target = new RegExp(`(state = '${state}'|'${state}', @price)`);
      expect(sources.some(({ text }) => target.test(text)), state).toBe(true);
    }
  });
});
