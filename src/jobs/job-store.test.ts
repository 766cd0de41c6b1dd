import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import type { Failure } from '../errors.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { JobStore } from './job-store.ts';

let db: Db;
let store: JobStore;
const request = { prompt: 'a koi pond', modelId: 'gen4_image', ratio: '1920:1080', seed: null, tags: [] };
const newJob = () =>
  store.insert({ platform: 'test', communityId: 'g1', userId: 'amy', userName: 'Amy', placeholder: '{}', request });
const sumFor = (jobId: string) => db.prepare('select coalesce(sum(delta),0) from ledger where job_id = ?').pluck().get(jobId) as number;
const kinds = (jobId: string) => db.prepare('select kind from ledger where job_id = ? order by id').pluck().all(jobId);

beforeEach(() => {
  db = openDatabase(':memory:');
  const clock = new ManualClock();
  store = new JobStore(db, new CreditLedger(db, clock, { allowance: 20, period: 'day' }), clock);
});
afterEach(() => db.close());

describe('job transitions', () => {
  it('a success holds the price, follows the estimate and charges the final cost', () => {
    const id = newJob();
    expect(store.reserve(id, 8)).toMatchObject({ ok: true });
    expect(store.startSubmitting(id)).toBe(true);
    expect(store.markSubmitted(id, 'task-1', 6)).toBe(true);
    expect(sumFor(id)).toBe(-6);
    expect(store.markRunning(id, 0.5)).toBe(true);
    expect(store.markSucceeded(id, 5)).toBe(true);
    expect(store.markDelivered(id)).toBe(true);
    expect(sumFor(id)).toBe(-5);
    expect(kinds(id)).toEqual(['reserve', 'adjust', 'settle']);
    expect(store.get(id)).toMatchObject({ state: 'delivered', taskId: 'task-1', costCredits: 5 });
  });

  it('a failure refunds everything held, once', () => {
    const id = newJob();
    store.reserve(id, 8);
    store.startSubmitting(id);
    store.markSubmitted(id, 'task-1', null);
    const failure: Failure = { code: 'runway.safety_input', userMessage: 'declined' };
    expect(store.markFailed(id, failure)).toBe(true);
    expect(store.markFailed(id, failure)).toBe(false);
    expect(sumFor(id)).toBe(0);
    expect(kinds(id)).toEqual(['reserve', 'refund']);
  });

  it('a transition that lost the race changes nothing', () => {
    const id = newJob();
    store.reserve(id, 8);
    expect(store.startSubmitting(id)).toBe(true);
    expect(store.startSubmitting(id)).toBe(false);
    expect(store.markSucceeded(id, 8)).toBe(false); // not submitted yet
    expect(store.markDelivered(id)).toBe(false);
    expect(store.get(id)?.state).toBe('submitting');
    expect(sumFor(id)).toBe(-8);
  });

  it('a reservation past the budget leaves the job queued and spends nothing', () => {
    const id = newJob();
    expect(store.reserve(id, 25)).toMatchObject({ ok: false, reason: 'insufficient_credits', balance: 20 });
    expect(store.get(id)?.state).toBe('queued');
    expect(store.reject(id, { code: 'credits.insufficient', userMessage: 'no' })).toBe(true);
    expect(sumFor(id)).toBe(0);
  });

  it('a create that made no task goes back to the queue with its hold intact', () => {
    const id = newJob();
    store.reserve(id, 8);
    store.startSubmitting(id);
    expect(store.backToQueue(id, 123)).toBe(true);
    expect(store.get(id)).toMatchObject({ state: 'reserved', notBefore: 123 });
    expect(sumFor(id)).toBe(-8);
  });
});
