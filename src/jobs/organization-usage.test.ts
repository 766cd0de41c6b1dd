import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database } from '../store/sql.ts';
import { JobStore } from './job-store.ts';
import { botUsageSince } from './organization-usage.ts';

const FAILED = { code: 'runway.failed', userMessage: 'failed' } as const;
const T0 = Date.UTC(2026, 0, 1, 12);

/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

let db: Database;
let store: JobStore;
let clock: ManualClock;

/** A job accepted at `price`: `queued`, holding its price while its references would be prepared. */
async function queued(price: number, modelId = 'gen4_image'): Promise<string> {
  const outcome = await store.accept(
    { platform: 'test', communityId: 'g1', userId: 'amy', userName: 'Amy', placeholder: '{}', request: { prompt: 'a koi pond', modelId, ratio: '1920:1080', seed: null, tags: [] } },
    price,
    1_000,
  );
  if (!outcome.ok) throw new Error(`not accepted: ${outcome.reason}`);
  return outcome.jobId;
}

/** A job ready for a Runway slot (`reserved`). */
async function reserved(price: number, modelId = 'gen4_image'): Promise<string> {
  const id = await queued(price, modelId);
  expect(await store.markReady(id)).toBe(true);
  return id;
}

/** A job taken to Runway: submitted with Runway's estimate. */
async function submitted(price: number, estimate: number | null = null, modelId = 'gen4_image'): Promise<string> {
  const id = await reserved(price, modelId);
  expect(await store.startSubmitting(id)).toBe(true);
  expect(await store.markSubmitted(id, `task-${id}`, estimate, clock.now() + 5_000)).toBe(true);
  return id;
}

beforeEach(async () => {
  db = await freshDb();
  clock = new ManualClock(T0);
  store = new JobStore(db, new CreditLedger(db, clock, { allowance: 100, period: 'day' }), clock, 'instance-1');
});
afterEach(() => db.close());

describe('botUsageSince', () => {
  it('counts credits held by jobs from acceptance to running, following Runway\'s estimate, and nothing else', async () => {
    await reserved(8); // reserved: 8
    const sending = await reserved(5);
    await store.startSubmitting(sending); // submitting: 5
    await submitted(8, 6); // submitted, held follows the estimate: 6
    const running = await submitted(2);
    await store.markRunning(running, 0.5, clock.now() + 5_000); // running: 2
    await queued(3); // queued: holds its price while references are prepared
    const failed = await submitted(8);
    await store.markFailed(failed, FAILED); // refunded
    expect((await botUsageSince(db, 'gen4_image', T0, T0)).heldCredits).toBe(8 + 5 + 6 + 2 + 3);
  });

  it("counts what Runway charged for jobs finished since the read, even when the member was refunded", async () => {
    const before = await submitted(8);
    await store.markSucceeded(before, 8, clock.now()); // finished before the read: in the snapshot's balance already
    clock.advance(1_000);
    const readAt = clock.now();
    const after = await submitted(8);
    clock.advance(1_000);
    await store.markSucceeded(after, 7, clock.now());
    const undeliverable = await submitted(5);
    await store.markSucceeded(undeliverable, 5, clock.now());
    await store.markFailed(undeliverable, FAILED);
    expect((await botUsageSince(db, 'gen4_image', readAt, readAt)).chargedSinceRead).toBe(7 + 5);
  });

  it('counts the generations of one model started since a time, and those waiting to start', async () => {
    await submitted(8); // started at T0
    clock.advance(1_000);
    const since = clock.now();
    await submitted(8);
    await submitted(2, null, 'gen4_image_turbo');
    await queued(8); // queued
    await reserved(8); // reserved
    const failedAtStart = await reserved(8);
    await store.markFailed(failedAtStart, FAILED); // never reached Runway
    expect((await botUsageSince(db, 'gen4_image', since, since)).startedSince).toBe(1 + 2);
    expect((await botUsageSince(db, 'gen4_image', T0, T0)).startedSince).toBe(2 + 2);
    expect((await botUsageSince(db, 'gen4_image_turbo', T0, T0)).startedSince).toBe(1);
  });
});
