import { describe, expect, it } from 'vitest';
import { estimateFinishedAt, expectedDurationMs, PollSchedule } from './poll-schedule.ts';

describe('poll schedule', () => {
  const noJitter = () => 0;

  it('first polls near the expected duration, never sooner than the interval', () => {
    const schedule = new PollSchedule({ minIntervalMs: 5_000, random: noJitter });
    schedule.scheduleFirst('a', 0, 25_000);
    schedule.scheduleFirst('b', 0, 1_000);
    expect(schedule.due(4_999)).toEqual([]);
    expect(schedule.due(5_000)).toEqual(['b']);
    expect(schedule.due(20_000)).toEqual(['b', 'a']);
  });

  it('first polls at or a little before the estimate, so a learned duration cannot creep upward', () => {
    const early = new PollSchedule({ minIntervalMs: 5_000, random: () => 0 });
    early.scheduleFirst('a', 0, 20_000);
    expect(early.nextDueAt()).toBe(16_000);
    const late = new PollSchedule({ minIntervalMs: 5_000, random: () => 0.999 });
    late.scheduleFirst('a', 0, 20_000);
    expect(late.nextDueAt()).toBeLessThanOrEqual(20_000);
  });

  it('never polls a task more often than the interval, jitter only adds', () => {
    const schedule = new PollSchedule({ minIntervalMs: 5_000, random: () => 0.999 });
    schedule.scheduleNext('a', 10_000);
    expect(schedule.due(14_999)).toEqual([]);
    expect(schedule.due(16_000)).toEqual(['a']);
  });

  it('honours Retry-After when it is longer than the backoff', () => {
    const schedule = new PollSchedule({ minIntervalMs: 5_000, random: noJitter });
    schedule.scheduleBackoff('a', 0, 30_000, 1);
    expect(schedule.due(29_999)).toEqual([]);
    expect(schedule.due(30_000)).toEqual(['a']);
    schedule.scheduleBackoff('b', 0, null, 3);
    expect(schedule.nextDueAt()).toBe(30_000);
    expect(schedule.due(39_999)).toEqual(['a']);
  });

  it('learns the expected duration from recent jobs (median), else uses the catalogue', () => {
    expect(expectedDurationMs([], 20_000)).toBe(20_000);
    expect(expectedDurationMs([9_000, 30_000, 10_000], 20_000)).toBe(10_000);
  });

  it('dates a success midway since the last unfinished poll, or low when the first poll found it done', () => {
    expect(estimateFinishedAt(0, 10_000, 15_000)).toBe(12_500);
    expect(estimateFinishedAt(0, undefined, 20_000)).toBe(16_000);
  });
});
