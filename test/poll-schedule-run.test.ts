/**
 * The poll schedule over a whole run: the real core against the simulator with Runway-like
 * progress (times from a spread, a slow start, a wandering pace, varying PENDING), one manual
 * clock, jobs arriving over time, a restart in the middle. What the simulator recorded is the
 * ground truth for the one rule that must never break: no request about a task sooner than 5 s
 * after the one before it, the create included.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../simulator/index.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';

const INTERVAL_MS = 5_000;
const FASTEST_GENERATION_MS = 9_000;

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Every task's requests in order: its create, then each GET /v1/tasks/:id. */
function requestTimesPerTask(h: CoreHarness): Map<string, number[]> {
  const times = new Map<string, number[]>();
  for (const task of h.sim.tasks()) times.set(task.id, [task.createdAtMs]);
  for (const r of h.sim.requests as readonly RecordedRequest[]) {
    if (r.method !== 'GET' || !r.path.startsWith('/v1/tasks/')) continue;
    times.get(r.path.slice('/v1/tasks/'.length))?.push(r.at);
  }
  return times;
}

async function arrive(h: CoreHarness, count: number, from: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const outcome = await h.app.core.imagine(h.requester(`member-${i % 4}`), { prompt: `a harbour at dusk, variation ${i}`, ratio: '16:9', references: [] }, `ph-${i}`);
    expect(outcome.ok).toBe(true);
    await h.advance(700);
  }
}

describe('the poll schedule over a whole run', () => {
  it('never asks about a task sooner than the interval after the create or the last poll, delivers every image, and is warm from the first job after a restart', async () => {
    const h = (harness = await startCoreHarness({
      env: { RUNWAY_POLL_INTERVAL_MS: String(INTERVAL_MS), DEFAULT_ALLOWANCE: '10000' },
      maxJobsPerMember: 100,
      sim: {
        generationMs: { minMs: FASTEST_GENERATION_MS, maxMs: 15_000 },
        pendingMs: { minMs: 200, maxMs: 3_000 },
        progress: { slowStartMs: 800, noise: 0.1 },
        maxConcurrent: 64,
      },
    }));

    // Cold: a fresh database. The first task is first polled at the interval, to see progress.
    await arrive(h, 12, 0);
    await h.runUntil(() => h.surface.deliveries.length === 12, 200, 1_000);
    const [first] = [...requestTimesPerTask(h).values()];
    expect((first?.[1] ?? 0) - (first?.[0] ?? 0)).toBeGreaterThanOrEqual(INTERVAL_MS);
    // At most the 5 % jitter late, plus the clock's step while jobs arrive (700 ms).
    expect((first?.[1] ?? 0) - (first?.[0] ?? 0)).toBeLessThanOrEqual(INTERVAL_MS * 1.05 + 700);

    // Warm: a restart keeps what was learned, in the database. The first task after it is first
    // polled near the fastest generation seen (over 9 s), not at the interval.
    const coldTasks = h.sim.tasks().length;
    await h.restart();
    await arrive(h, 6, 12);
    await h.runUntil(() => h.surface.deliveries.length === 18, 200, 1_000);
    const firstWarm = [...requestTimesPerTask(h).values()][coldTasks];
    expect((firstWarm?.[1] ?? 0) - (firstWarm?.[0] ?? 0)).toBeGreaterThan(FASTEST_GENERATION_MS * (12 / 13) - 1_000);

    expect(h.surface.failures).toEqual([]);
    expect(new Set(h.surface.deliveries.map((d) => d.placeholder)).size).toBe(18);
    const perTask = requestTimesPerTask(h);
    expect(perTask.size).toBe(18);
    const gaps = [...perTask.values()].flatMap((times) => times.slice(1).map((at, i) => at - (times[i] ?? 0)));
    expect(gaps.length).toBeGreaterThanOrEqual(36);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(INTERVAL_MS);
  });
});
