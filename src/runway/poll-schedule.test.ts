import { describe, expect, it } from 'vitest';
import { backoffPollAt, estimateFinishedAt, expectedDurationMs, firstPollAt, nextPollAt } from './poll-schedule.ts';

describe('poll schedule', () => {
  const noJitter = { minIntervalMs: 5_000, random: () => 0 };
  const fullJitter = { minIntervalMs: 5_000, random: () => 0.999 };

  it('first polls near the expected duration, never sooner than the interval', () => {
    expect(firstPollAt(noJitter, 0, 25_000)).toBe(20_000);
    expect(firstPollAt(noJitter, 0, 1_000)).toBe(5_000);
    expect(firstPollAt(noJitter, 1_000, 1_000)).toBe(6_000);
  });

  it('first polls at or a little before the estimate, so a learned duration cannot creep upward', () => {
    expect(firstPollAt(noJitter, 0, 20_000)).toBe(16_000);
    expect(firstPollAt(fullJitter, 0, 20_000)).toBe(19_996);
  });

  it('waits at most twelve intervals for a first poll', () => {
    expect(firstPollAt({ minIntervalMs: 1_000, random: () => 0 }, 0, 600_000)).toBe(9_600);
  });

  it('never polls a task more often than the interval, jitter only adds', () => {
    expect(nextPollAt(noJitter, 10_000)).toBe(15_000);
    expect(nextPollAt(fullJitter, 10_000)).toBe(15_999);
  });

  it('honours Retry-After when it is longer than the backoff, else backs off exponentially up to a minute', () => {
    expect(backoffPollAt(noJitter, 0, 30_000, 1)).toBe(30_000);
    expect(backoffPollAt(noJitter, 0, null, 1)).toBe(10_000);
    expect(backoffPollAt(noJitter, 0, null, 3)).toBe(40_000);
    expect(backoffPollAt(noJitter, 0, null, 9)).toBe(60_000);
    expect(backoffPollAt(noJitter, 0, 1_000, 0)).toBe(5_000);
  });

  it('learns the expected duration from recent jobs (median), else uses the catalogue', () => {
    expect(expectedDurationMs([], 20_000)).toBe(20_000);
    expect(expectedDurationMs([9_000, 30_000, 10_000], 20_000)).toBe(10_000);
  });

  it('dates a success midway since the last unfinished poll, or low when the first poll found it done', () => {
    expect(estimateFinishedAt(0, 10_000, 15_000)).toBe(12_500);
    expect(estimateFinishedAt(0, null, 20_000)).toBe(16_000);
  });
});
