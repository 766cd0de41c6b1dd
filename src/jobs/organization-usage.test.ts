import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { JobStore } from './job-store.ts';
import { botUsageSince } from './organization-usage.ts';

const FAILED = { code: 'runway.failed', userMessage: 'failed' } as const;
const T0 = Date.UTC(2026, 0, 1, 12);

let db: Db;
let store: JobStore;
let clock: ManualClock;

function newJob(modelId = 'gen4_image'): string {
  return store.insert({
    platform: 'test',
    communityId: 'g1',
    userId: 'amy',
    userName: 'Amy',
    placeholder: '{}',
    request: { prompt: 'a koi pond', modelId, ratio: '1920:1080', seed: null, tags: [] },
  });
}

/** A job taken to Runway: reserved at `price`, submitted with Runway's estimate. */
function submitted(price: number, estimate: number | null = null, modelId = 'gen4_image'): string {
  const id = newJob(modelId);
  store.reserve(id, price);
  store.startSubmitting(id);
  store.markSubmitted(id, `task-${id}`, estimate);
  return id;
}

beforeEach(() => {
  db = openDatabase(':memory:');
  clock = new ManualClock(T0);
  store = new JobStore(db, new CreditLedger(db, clock, { allowance: 100, period: 'day' }), clock);
});
afterEach(() => db.close());

describe('botUsageSince', () => {
  it('counts credits held by jobs reserved to running, following Runway\'s estimate, and nothing else', () => {
    const waiting = newJob();
    store.reserve(waiting, 8); // reserved: 8
    const sending = newJob();
    store.reserve(sending, 5);
    store.startSubmitting(sending); // submitting: 5
    submitted(8, 6); // submitted, held follows the estimate: 6
    const running = submitted(2);
    store.markRunning(running, 0.5); // running: 2
    newJob(); // queued: holds nothing yet
    const failed = submitted(8);
    store.markFailed(failed, FAILED); // refunded
    expect(botUsageSince(db, 'gen4_image', T0, T0).heldCredits).toBe(8 + 5 + 6 + 2);
  });

  it("counts what Runway charged for jobs finished since the read, even when the member was refunded", () => {
    const before = submitted(8);
    store.markSucceeded(before, 8); // finished before the read: in the snapshot's balance already
    clock.advance(1_000);
    const readAt = clock.now();
    const after = submitted(8);
    clock.advance(1_000);
    store.markSucceeded(after, 7);
    const undeliverable = submitted(5);
    store.markSucceeded(undeliverable, 5);
    store.markFailed(undeliverable, FAILED);
    expect(botUsageSince(db, 'gen4_image', readAt, readAt).chargedSinceRead).toBe(7 + 5);
  });

  it('counts the generations of one model started since a time, and those waiting to start', () => {
    submitted(8); // started at T0
    clock.advance(1_000);
    const since = clock.now();
    submitted(8);
    submitted(2, null, 'gen4_image_turbo');
    newJob(); // queued
    store.reserve(newJob(), 8); // reserved
    const failedAtStart = newJob();
    store.reserve(failedAtStart, 8);
    store.markFailed(failedAtStart, FAILED); // never reached Runway
    expect(botUsageSince(db, 'gen4_image', since, since).startedSince).toBe(1 + 2);
    expect(botUsageSince(db, 'gen4_image', T0, T0).startedSince).toBe(2 + 2);
    expect(botUsageSince(db, 'gen4_image_turbo', T0, T0).startedSince).toBe(1);
  });
});
