/**
 * The simulator's progress model (simulator/tasks.ts): by default exact and linear, so tests stay
 * exact; made to behave as Runway's does where a poll schedule cares, so the schedule is not tuned
 * to a toy: times drawn from a spread, a slow start, a wandering pace, and THROTTLED phases whose
 * length depends on what else runs.
 */
import { describe, expect, it } from 'vitest';
import { progressAt, TaskBook, type Timing, type TaskRecord } from '../simulator/tasks.ts';

function record(id: string, promptText: string, createdAtMs = 0): TaskRecord {
  return {
    id,
    model: 'gen4_image',
    promptText,
    ratio: '1280:720',
    seed: 1,
    referenceImages: [],
    outputCount: 1,
    createdAtMs,
    costCredits: 5,
    outcome: { kind: 'succeed' },
    deleted: false,
  };
}

/** Progress of a task every `stepMs` while it runs. */
function readings(book: TaskBook, id: string, untilMs: number, stepMs = 100): number[] {
  const out: number[] = [];
  for (let at = 0; at <= untilMs; at += stepMs) {
    const task = book.view(id, at);
    if (task?.status === 'RUNNING') out.push(task.progress ?? Number.NaN);
  }
  return out;
}

describe('progress while running', () => {
  it('is exactly linear by default', () => {
    expect(progressAt(1_000, 4_000, { slowStartMs: 0, noise: 0 })).toBe(0.25);
    expect(progressAt(3_000, 4_000, { slowStartMs: 0, noise: 0 })).toBe(0.75);
  });

  it('starts slowly: half-way through the slow start it has done a quarter of what linear would, then keeps a steady pace', () => {
    const shape = { slowStartMs: 1_000, noise: 0 };
    // Work over 10 s with a 1 s ease-in is 9.5 "steady seconds": at 0.5 s, 0.125 of them.
    expect(progressAt(500, 10_000, shape)).toBeCloseTo(0.125 / 9.5, 10);
    expect(progressAt(5_000, 10_000, shape) - progressAt(4_000, 10_000, shape)).toBeCloseTo(1 / 9.5, 10);
    expect(progressAt(10_000, 10_000, shape)).toBeCloseTo(1, 10);
  });

  it('with noise, wanders around the steady pace within the noise, never backwards, and still ends at 1', () => {
    for (const waves of [1, 2, 3]) {
      for (const sign of [1, -1] as const) {
        const shape = { slowStartMs: 0, noise: 0.2 };
        let last = 0;
        let slopes: number[] = [];
        for (let t = 100; t <= 10_000; t += 100) {
          const p = progressAt(t, 10_000, shape, waves, sign);
          slopes = [...slopes, (p - last) / 0.01];
          last = p;
        }
        expect(Math.min(...slopes)).toBeGreaterThanOrEqual(0.8 - 1e-9);
        expect(Math.max(...slopes)).toBeLessThanOrEqual(1.2 + 1e-9);
        expect(Math.max(...slopes) - Math.min(...slopes)).toBeGreaterThan(0.2);
        expect(last).toBeCloseTo(1, 10);
      }
    }
  });
});

describe('times drawn from a spread', () => {
  const spread: Timing = { pendingMs: { minMs: 200, maxMs: 600 }, generationMs: { minMs: 5_000, maxMs: 15_000 }, maxConcurrent: 64, progress: { slowStartMs: 800, noise: 0.08 } };

  it('are fixed by the request: the same prompt takes as long whoever sends it, another prompt may not', () => {
    const a = new TaskBook(spread);
    const b = new TaskBook(spread);
    a.add(record('a1', 'a lighthouse, variation 1'));
    b.add(record('b1', 'a lighthouse, variation 1'));
    a.add(record('a2', 'a lighthouse, variation 2'));
    const finished = (book: TaskBook, id: string) => book.view(id, 60_000)?.finishedAtMs;
    expect(finished(a, 'a1')).toBe(finished(b, 'b1'));
    expect(finished(a, 'a2')).not.toBe(finished(a, 'a1'));
  });

  it('fall within the spread and cover it', () => {
    const book = new TaskBook(spread);
    const durations: number[] = [];
    for (let i = 0; i < 200; i++) {
      book.add(record(`t${i}`, `a koi pond, variation ${i}`));
      const task = book.view(`t${i}`, 60_000);
      durations.push((task?.finishedAtMs ?? Number.NaN) - (task?.startedAtMs ?? Number.NaN));
    }
    expect(Math.min(...durations)).toBeGreaterThanOrEqual(5_000);
    expect(Math.max(...durations)).toBeLessThanOrEqual(15_000);
    expect(durations.filter((d) => d < 7_500).length).toBeGreaterThan(25);
    expect(durations.filter((d) => d > 12_500).length).toBeGreaterThan(25);
  });

  it('progress reported while running never runs backwards and stays below 1', () => {
    const book = new TaskBook(spread);
    book.add(record('t', 'a fox'));
    const seen = readings(book, 't', 20_000);
    expect(seen.length).toBeGreaterThan(40);
    expect(seen.every((p, i) => i === 0 || p >= (seen[i - 1] ?? 0))).toBe(true);
    expect(Math.max(...seen)).toBeLessThan(1);
  });
});

describe('a busy organisation', () => {
  it('throttles tasks beyond its concurrency, each for as long as the ones before it take: THROTTLED phases of varying length', () => {
    const book = new TaskBook({ pendingMs: 300, generationMs: { minMs: 5_000, maxMs: 15_000 }, maxConcurrent: 2 });
    for (let i = 0; i < 6; i++) book.add(record(`t${i}`, `a harbour, variation ${i}`, i * 100));
    const waits = Array.from({ length: 6 }, (_, i) => {
      const task = book.view(`t${i}`, 0);
      return (task?.startedAtMs ?? Number.NaN) - (i * 100 + 300);
    });
    expect(waits.slice(0, 2)).toEqual([0, 0]);
    expect(waits.slice(2).every((w) => w > 0)).toBe(true);
    expect(new Set(waits.slice(2)).size).toBe(4);
    expect(book.view('t2', 1_000)?.status).toBe('THROTTLED');
  });
});
