/**
 * The job engine as the database's: counters and due times live in the row (a restart continues
 * them), a write that fails mid-transition leaves the job due rather than stranded, a fractional
 * cost is made whole where it enters, and acceptance holds credits with a per-member limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface JobRow {
  state: string;
  attempts: number;
  malformed_polls: number;
  run_at: number | null;
  failure_code: string | null;
}
const row = async (h: CoreHarness, id: string): Promise<JobRow> => {
  const found = await h.app.db.get<JobRow>('select state, attempts, malformed_polls, run_at, failure_code from jobs where id = ?', [id]);
  if (!found) throw new Error(`no job ${id}`);
  return found;
};
const creates = (h: CoreHarness) => h.sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image').length;
const polls = (h: CoreHarness) => h.sim.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/tasks/')).length;
const entries = (h: CoreHarness, jobId: string) => h.app.db.all('select kind, delta from ledger where job_id = ? order by id', [jobId]);

/**
 * Makes every update of a job to `state` fail as a failing disk would, until `lift()`. On SQLite a
 * temporary trigger: it is this connection's only, so a restart (a new connection) ends it too. On
 * PostgreSQL a trigger outlives the connection: `beforeRestart()` lifts it there, and is a no-op on
 * SQLite.
 */
async function failStateWrites(h: CoreHarness, name: string, state: string): Promise<{ lift(): Promise<void>; beforeRestart(): Promise<void> }> {
  const db = h.app.db;
  if (db.dialect === 'sqlite') {
    await db.run(`create temp trigger ${name} before update of state on jobs when new.state = '${state}' begin select raise(abort, 'disk I/O error'); end`);
    return { lift: async () => void (await db.run(`drop trigger temp.${name}`)), beforeRestart: async () => undefined };
  }
  await db.run(`create function ${name}() returns trigger language plpgsql as $$ begin raise exception 'disk I/O error'; end $$`);
  await db.run(`create trigger ${name} before update of state on jobs for each row when (new.state = '${state}') execute function ${name}()`);
  const lift = async () => {
    await db.run(`drop trigger ${name} on jobs`);
    await db.run(`drop function ${name}()`);
  };
  return { lift, beforeRestart: lift };
}

async function accepted(h: CoreHarness, userId: string, prompt = 'a koi pond'): Promise<string> {
  const outcome = await h.app.core.imagine(h.requester(userId), { prompt, references: [] }, `ph-${prompt}`);
  if (!outcome.ok) throw new Error(`expected acceptance, got ${outcome.code}`);
  return outcome.jobId;
}

describe('a restart continues from the row', () => {
  it('deferred creates keep counting: the sixth 429 fails the job even with a restart after the third', async () => {
    const h = (harness = await startCoreHarness());
    for (let i = 0; i < 6; i++) h.sim.failNextCreate({ status: 429, retryAfterMs: 1_000 });
    const id = await accepted(h, 'dan');
    await h.advance(0);
    await h.advance(1_000);
    await h.advance(1_000);
    expect(creates(h)).toBe(3);
    expect(await row(h, id)).toMatchObject({ state: 'reserved', attempts: 3, run_at: h.clock.now() + 1_000 });

    await h.restart();
    expect(await row(h, id)).toMatchObject({ state: 'reserved', attempts: 3 });
    await h.advance(0);
    expect(creates(h)).toBe(3); // the Retry-After written before the restart still holds
    await h.advance(1_000);
    await h.advance(1_000);
    await h.advance(1_000);
    expect(creates(h)).toBe(6);
    expect(await row(h, id)).toMatchObject({ state: 'failed', failure_code: 'runway.rate_limited' });
    expect(h.surface.failures.map((f) => f.failure.code)).toEqual(['runway.rate_limited']);
    expect(await h.ledgerSum({ jobId: id })).toBe(0);
    await h.advance(10_000);
    expect(creates(h)).toBe(6);
  });

  it("a task's backoff and failure count survive a restart: no poll before its run_at", async () => {
    const h = (harness = await startCoreHarness());
    const id = await accepted(h, 'eve');
    await h.advance(0);
    expect((await row(h, id)).state).toBe('submitted');
    h.sim.failNextPoll({ status: 503 });
    h.sim.failNextPoll({ status: 503 });
    await h.runUntil(async () => (await row(h, id)).attempts === 2, 250);
    const { run_at: retryAt } = await row(h, id);
    // Two failures in a row with a 1 s interval: 1 s × 2² after the second.
    expect(retryAt).toBe(h.clock.now() + 4_000);
    const seen = polls(h);

    await h.restart();
    expect(await row(h, id)).toMatchObject({ state: 'submitted', attempts: 2, run_at: retryAt });
    await h.advance(3_999);
    expect(polls(h)).toBe(seen);
    await h.advance(1);
    expect(polls(h)).toBe(seen + 1);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(await row(h, id)).toMatchObject({ state: 'delivered', attempts: 0 });
  });
});

describe('a failure mid-transition never strands a job', () => {
  it('a poll that sees success but cannot record it leaves the job due; the next poll records it and delivers once', async () => {
    const h = (harness = await startCoreHarness({ sim: { costOverride: () => 6 } }));
    const id = await accepted(h, 'fay');
    const noSuccess = await failStateWrites(h, 'no_success', 'succeeded');
    await h.runUntil(async () => h.sim.tasks()[0]?.status === 'SUCCEEDED' && polls(h) > 0 && (await row(h, id)).run_at! <= h.clock.now(), 250);
    const seen = polls(h);
    await h.advance(0);
    expect(polls(h)).toBeGreaterThan(seen); // still due: polled again, not forgotten
    // As the last recorded poll left it: the first poll (at the interval, nothing learned yet) saw it running.
    expect((await row(h, id)).state).toBe('running');
    expect(h.surface.deliveries).toHaveLength(0);

    await noSuccess.lift();
    await h.runUntil(() => h.surface.deliveries.length === 1, 250);
    await h.advance(5_000);
    expect(h.surface.deliveries).toHaveLength(1);
    expect((await row(h, id)).state).toBe('delivered');
    expect(await entries(h, id)).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'adjust', delta: 2 },
      { kind: 'settle', delta: 0 },
    ]);
  });

  it("a create whose answer cannot be recorded does not hold a slot for ever: past its deadline it is failed as uncertain and refunded", async () => {
    const h = (harness = await startCoreHarness());
    const id = await accepted(h, 'gus');
    const noSubmit = await failStateWrites(h, 'no_submit', 'submitted');
    await h.advance(0);
    expect(creates(h)).toBe(1);
    expect((await row(h, id)).state).toBe('submitting');
    await noSubmit.lift();
    await h.advance(119_000);
    expect((await row(h, id)).state).toBe('submitting');
    await h.advance(1_000);
    expect(await row(h, id)).toMatchObject({ state: 'failed', failure_code: 'runway.create_uncertain' });
    expect(h.surface.failures.map((f) => f.failure.code)).toEqual(['runway.create_uncertain']);
    expect(await h.ledgerSum({ jobId: id })).toBe(0);
    expect(creates(h)).toBe(1);
  });

  it('a fractional cost from Runway (5.5) is rounded up once where it enters: held 6, charged 6, delivered', async () => {
    const h = (harness = await startCoreHarness({ sim: { costOverride: () => 5.5 } }));
    const id = await accepted(h, 'hal');
    await h.advance(0);
    expect((await row(h, id)).state).toBe('submitted');
    expect(await entries(h, id)).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'adjust', delta: 2 },
    ]);
    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(h.surface.deliveries[0]?.delivery.costCredits).toBe(6);
    expect(await h.ledgerSum({ userId: 'hal' })).toBe(50 - 6);
  });
});

describe('acceptance holds the price, per member in flight', () => {
  it('a third request while two are unfinished is refused before anything is held or stored; a finished one frees a place', async () => {
    const h = (harness = await startCoreHarness({ sim: { maxConcurrent: 1 } }));
    const ivy = h.requester('ivy');
    await accepted(h, 'ivy', 'one');
    await accepted(h, 'ivy', 'two');
    const jobsBefore = await h.app.db.value<number>('select count(*) from jobs');
    const check = await h.app.core.checkImagine(ivy, { prompt: 'three', references: [] });
    expect(check).toMatchObject({ ok: false, code: 'jobs.too_many_in_flight' });
    const third = await h.app.core.imagine(ivy, { prompt: 'three', references: [] }, 'ph-three');
    expect(third).toEqual({
      ok: false,
      code: 'jobs.too_many_in_flight',
      reply: {
        visibility: 'private',
        text: 'You already have 2 images in progress, the most one member may have at once (2). Wait for one to finish, then try again. Nothing was charged.',
      },
    });
    expect(await h.app.db.value('select count(*) from jobs')).toBe(jobsBefore);
    expect(await h.ledgerSum({ userId: 'ivy' })).toBe(50 - 16);
    // Someone else is not held back by ivy's jobs.
    await accepted(h, 'jon', 'four');

    await h.runUntil(() => h.surface.deliveries.length >= 1);
    expect(await h.app.core.imagine(ivy, { prompt: 'five', references: [] }, 'ph-five')).toMatchObject({ ok: true });
  });

  it('a reference that fails to download after the hold is rejected and refunded in one step; the user is told truthfully', async () => {
    const h = (harness = await startCoreHarness());
    const broken = { filename: 'cat.png', download: async (): Promise<Uint8Array> => Promise.reject(new Error('socket hang up')) };
    const outcome = await h.app.core.imagine(h.requester('kim'), { prompt: 'a cat', references: [broken] }, 'ph');
    expect(outcome).toMatchObject({ ok: false, code: 'internal.unexpected', reply: { text: expect.stringContaining('Nothing was charged') } });
    const id = (await h.app.db.value<string>('select id from jobs'))!;
    expect((await row(h, id)).state).toBe('rejected');
    expect(await entries(h, id)).toEqual([
      { kind: 'reserve', delta: -8 },
      { kind: 'refund', delta: 8 },
    ]);
    expect(await h.ledgerSum({ userId: 'kim' })).toBe(50);
  });

  it('when even the refund cannot be written, the user is not told "nothing was charged"; recovery refunds it after a restart', async () => {
    const h = (harness = await startCoreHarness());
    const noReject = await failStateWrites(h, 'no_reject', 'rejected');
    const cat = memoryReference('cat.png', new Uint8Array(800));
    const outcome = await h.app.core.imagine(h.requester('lea'), { prompt: 'a cat', references: [cat] }, 'ph-lea');
    expect(outcome).toMatchObject({ ok: false, code: 'internal.accept_interrupted' });
    if (outcome.ok) return;
    expect(outcome.reply.text).not.toMatch(/nothing was charged|not charged/i);
    const id = (await h.app.db.value<string>('select id from jobs'))!;
    expect((await row(h, id)).state).toBe('queued');
    expect(await h.ledgerSum({ userId: 'lea' })).toBe(50 - 8);

    await noReject.beforeRestart();
    await h.restart(); // the temp trigger was this connection's: the new one can write
    expect(await row(h, id)).toMatchObject({ state: 'rejected', failure_code: 'recovery.references_lost' });
    expect(h.surface.failures.map((f) => [f.placeholder, f.failure.code])).toEqual([['ph-lea', 'recovery.references_lost']]);
    expect(await h.ledgerSum({ userId: 'lea' })).toBe(50);
  });
});
