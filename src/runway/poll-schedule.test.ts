import { describe, expect, it } from 'vitest';
import {
  afterRunningPollAt,
  afterWaitingPollAt,
  backoffPollAt,
  estimateFinish,
  estimateFinishedAt,
  firstPollAt,
  learnFrom,
  NOTHING_LEARNED,
  type Learned,
  type PollTiming,
  type TaskSoFar,
} from './poll-schedule.ts';

const INTERVAL = 5_000;
const noJitter: PollTiming = { minIntervalMs: INTERVAL, random: () => 0 };
const fullJitter: PollTiming = { minIntervalMs: INTERVAL, random: () => 0.999 };

/** What Runway answers at a moment, as a script: a function of the time since the create. */
type Answer = { status: 'PENDING' | 'THROTTLED' } | { status: 'RUNNING'; progress: number | null } | { status: 'SUCCEEDED' };

/** One poll the driver made: when (ms after the create) and what it heard. */
interface Poll {
  readonly atMs: number;
  readonly answer: Answer;
}

/**
 * The runner's use of the schedule, without the runner: a fake clock that jumps to each poll the
 * schedule asks for, the row's memory kept as the transitions keep it, and the task's answers
 * scripted. Returns every poll, and the finish time the success would be recorded with.
 */
function drive(script: (atMs: number) => Answer, learned: Learned = NOTHING_LEARNED, timing: PollTiming = noJitter): { polls: Poll[]; finishedAtMs: number } {
  const polls: Poll[] = [];
  let row: TaskSoFar & { lastUnfinishedAtMs: number | null; state: 'submitted' | 'running' } = {
    state: 'submitted',
    submittedAtMs: 0,
    waitingSeenAtMs: null,
    previous: null,
    lastUnfinishedAtMs: null,
  };
  let at = firstPollAt(timing, 0, learned);
  for (let i = 0; i < 50; i++) {
    const answer = script(at);
    polls.push({ atMs: at, answer });
    switch (answer.status) {
      case 'SUCCEEDED':
        return { polls, finishedAtMs: estimateFinishedAt(at, row, learned) };
      case 'PENDING':
      case 'THROTTLED':
        row = { ...row, waitingSeenAtMs: row.state === 'submitted' ? at : row.waitingSeenAtMs, lastUnfinishedAtMs: at };
        at = afterWaitingPollAt(timing, at, learned);
        break;
      case 'RUNNING': {
        const plan = afterRunningPollAt(timing, at, { ...row, waitingSeenAtMs: row.state === 'submitted' ? row.lastUnfinishedAtMs : null }, answer.progress, learned);
        row = {
          ...row,
          state: 'running',
          previous: answer.progress === null ? row.previous : { atMs: at, progress: answer.progress },
          lastUnfinishedAtMs: at,
        };
        at = plan.nextPollAtMs;
        break;
      }
    }
  }
  throw new Error('the task never finished in 50 polls');
}

/** A task PENDING for `pendingMs`, then progressing linearly for `runMs`. */
function linear(pendingMs: number, runMs: number): (atMs: number) => Answer {
  return (atMs) => {
    if (atMs < pendingMs) return { status: 'PENDING' };
    if (atMs >= pendingMs + runMs) return { status: 'SUCCEEDED' };
    return { status: 'RUNNING', progress: (atMs - pendingMs) / runMs };
  };
}

/** Scripted figures by poll, in order; after the list, SUCCEEDED. */
function byPoll(...answers: Answer[]): (atMs: number) => Answer {
  let next = 0;
  return () => answers[next++] ?? { status: 'SUCCEEDED' };
}

const running = (progress: number | null): Answer => ({ status: 'RUNNING', progress });
const gaps = (polls: readonly Poll[]): number[] => polls.slice(1).map((p, i) => p.atMs - (polls[i]?.atMs ?? 0));
const learned = (durationsMs: number[]): Learned => learnFrom({ durationsMs });
/** A model whose fast finish is `fastMs` after submission. */
const knownModel = (fastMs: number): Learned => ({ fastMs });

describe('the first poll', () => {
  it('with nothing learned goes at the interval, early enough to see progress', () => {
    expect(firstPollAt(noJitter, 0, NOTHING_LEARNED)).toBe(5_000);
  });

  it('goes near the fastest recent finish for the model, not at the median', () => {
    const history = learned([9_000, 12_000, 15_000, 8_000, 20_000, 11_000, 10_000, 13_000, 14_000, 16_000, 17_000]);
    // The fastest of 11 (8 s), scaled by 11/12: the next may well be a little faster still.
    expect(history.fastMs).toBe(7_333);
    expect(firstPollAt(noJitter, 1_000, history)).toBe(8_333);
  });

  it('is never sooner than the interval after the create, and jitter only delays it, by at most 5 %', () => {
    expect(firstPollAt(noJitter, 0, knownModel(2_000))).toBe(5_000);
    expect(firstPollAt(fullJitter, 0, knownModel(2_000))).toBe(5_250);
    expect(firstPollAt(fullJitter, 0, knownModel(10_000))).toBe(10_500);
  });

  it('waits at most twelve intervals, so a slow model still shows progress', () => {
    expect(firstPollAt({ minIntervalMs: 1_000, random: () => 0 }, 0, learned([600_000]))).toBe(12_000);
  });
});

describe('what the schedule learns from recent jobs', () => {
  it('takes the fastest finish, scaled down while few are known', () => {
    expect(learned([10_000, 6_000, 8_000])).toEqual({ fastMs: 4_500 });
    expect(learned(Array.from({ length: 19 }, (_, i) => 6_000 + i * 500)).fastMs).toBe(5_700);
    expect(learned([])).toEqual(NOTHING_LEARNED);
  });
});

describe('after a RUNNING answer', () => {
  it('with one early reading and nothing learned, reads again at the interval and lands by the task\'s own pace', () => {
    // PENDING 300 ms, then 17 s of linear progress: the finish is at 17.3 s.
    const { polls } = drive(linear(300, 17_000));
    expect(polls[0]?.answer).toEqual(running(4_700 / 17_000));
    // 0.276 at 5 s, 0.571 at 10 s: the rest takes 7.3 s; landed 150 ms plus 6 % of 7.3 s after 17.3 s.
    expect(polls.map((p) => p.atMs)).toEqual([5_000, 10_000, 17_888]);
  });

  it('with a reading far enough along, lands at once: late by the wait it could not see, plus the fixed margin', () => {
    // First poll at the fast time (12 s): 0.688 → 12 / 0.688 = 17.44 s from the submission (the
    // finish is at 17.3 s: PENDING 300 ms); firm, so landed 150 ms after that.
    const { polls } = drive(linear(300, 17_000), knownModel(12_000));
    expect(polls.map((p) => p.atMs)).toEqual([12_000, 17_586]);
  });

  it('with two readings, extrapolates the task\'s own pace', () => {
    const plan = afterRunningPollAt(noJitter, 10_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: { atMs: 5_000, progress: 0.2 } }, 0.4, NOTHING_LEARNED);
    // 0.2 per 5 s: the rest (0.6) takes 15 s → 25 s.
    expect(plan.estimate).toMatchObject({ likelyMs: 25_000, firm: true, basis: 'pace' });
    expect(plan.nextPollAtMs).toBe(25_000 + 150 + 0.06 * 15_000);
  });

  it('reads a pace extrapolated far once more, one interval before the soonest it could finish, then lands', () => {
    // A long task (60 s, finishing at 60.3 s): 0.078 at 5 s, 0.162 at 10 s; the pace says 60.3 s,
    // 50 s away, so it is read again 6 % of 50 s plus 5.3 s before, then landed 0.65 s after.
    const { polls } = drive(linear(300, 60_000));
    expect(polls.map((p) => p.atMs)).toEqual([5_000, 10_000, 51_982, 60_949]);
  });

  it('with a fast generation known, takes the second reading one interval before the earliest finish', () => {
    // 0.05 at 10 s (from the submission: 200 s); a generation takes at least 36 s (0.9 × 40 s), so
    // not before 10 + 0.95 × 36 = 44.2 s: the reading goes at 38.9 s.
    const plan = afterRunningPollAt(noJitter, 10_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: null }, 0.05, knownModel(40_000));
    expect(plan.estimate).toMatchObject({ likelyMs: 200_000, earliestMs: 44_200, firm: false, basis: 'reading' });
    expect(plan.nextPollAtMs).toBe(38_900);
  });

  it('when progress stalls, trusts no pace: the estimate moves out and the next poll is another reading at the interval', () => {
    const plan = afterRunningPollAt(noJitter, 10_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: { atMs: 5_000, progress: 0.4 } }, 0.4, NOTHING_LEARNED);
    expect(plan.estimate).toMatchObject({ likelyMs: 25_000, basis: 'reading', firm: false });
    expect(plan.nextPollAtMs).toBe(15_000);
  });

  it('when progress jumps, the pace says it is nearly done: the next poll at the interval', () => {
    const { polls } = drive(byPoll(running(0.1), running(0.9)));
    expect(polls.map((p) => p.atMs)).toEqual([5_000, 10_000, 15_000]);
  });

  it('when progress runs backwards, ignores the pair, reads the new figure alone and looks again at the interval', () => {
    const plan = afterRunningPollAt(noJitter, 10_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: { atMs: 5_000, progress: 0.5 } }, 0.25, NOTHING_LEARNED);
    expect(plan.estimate).toMatchObject({ likelyMs: 40_000, basis: 'reading' });
    expect(plan.nextPollAtMs).toBe(15_000);
  });

  it('without a figure (or at 0), expects nothing before a fast generation from now', () => {
    expect(afterRunningPollAt(noJitter, 7_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: null }, null, NOTHING_LEARNED).nextPollAtMs).toBe(12_000);
    // A fast generation of 30 s (0.9 × 30 s = 27 s from now): a reading at 7 + 27 − 5.3 s.
    expect(afterRunningPollAt(noJitter, 7_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: null }, 0, knownModel(30_000)).nextPollAtMs).toBe(28_700);
  });

  it('a reading after a PENDING poll counts from that poll, not from the submission', () => {
    const estimate = estimateFinish(10_000, { submittedAtMs: 0, waitingSeenAtMs: 6_000, previous: null }, 0.5, NOTHING_LEARNED);
    expect(estimate).toMatchObject({ likelyMs: 14_000, basis: 'reading' });
  });

  it('never schedules a poll sooner than the interval, whatever the estimate', () => {
    const soon = afterRunningPollAt(noJitter, 10_000, { submittedAtMs: 0, waitingSeenAtMs: null, previous: { atMs: 5_000, progress: 0.5 } }, 0.99, NOTHING_LEARNED);
    expect(soon.nextPollAtMs).toBe(15_000);
  });
});

describe('a whole task, polled by the schedule', () => {
  it('a task that succeeds between two polls is dated from the last reading, not midway', () => {
    // 0.6 at 5 s from a start at 0: the finish is due at 8.33 s; the interval holds the next poll to 10 s.
    const { polls, finishedAtMs } = drive(byPoll(running(0.6)));
    expect(polls.map((p) => p.atMs)).toEqual([5_000, 10_000]);
    expect(finishedAtMs).toBe(8_333);
  });

  it('a success at the first poll is dated low, 80 % of the way from the submission', () => {
    expect(drive(byPoll()).finishedAtMs).toBe(4_000);
  });

  it('with no reading to go by, a success is dated midway since the last unfinished poll', () => {
    expect(drive(byPoll(running(null))).finishedAtMs).toBe(7_500);
  });

  it('waits cheaply through PENDING and THROTTLED, then counts from the last waiting poll', () => {
    // THROTTLED until 14 s, then 10 s of generation: 0.1 at 15 s counts from 10 s (not the
    // submission), says little, so it is read again; the pace lands on 24 s with the interval's floor.
    const busy = (atMs: number): Answer => (atMs < 14_000 ? { status: 'THROTTLED' } : linear(14_000, 10_000)(atMs));
    expect(drive(busy).polls.map((p) => p.atMs)).toEqual([5_000, 10_000, 15_000, 20_000, 25_000]);
  });

  it('after a waiting answer, looks again at the interval, or up to a fast generation later, at most three intervals', () => {
    expect(afterWaitingPollAt(noJitter, 0, NOTHING_LEARNED)).toBe(5_000);
    expect(afterWaitingPollAt(noJitter, 0, knownModel(10_000))).toBe(9_000);
    expect(afterWaitingPollAt(noJitter, 0, knownModel(60_000))).toBe(15_000);
  });

  it('keeps every gap between polls of a task at least the interval, whatever the task says', () => {
    const scripts: ((atMs: number) => Answer)[] = [
      linear(300, 5_500),
      linear(2_000, 40_000),
      byPoll(running(0.1), running(0.1), running(0.05), running(0.9), running(0.95), running(null)),
      byPoll({ status: 'PENDING' }, running(0), running(0.5), { status: 'THROTTLED' }, running(0.99)),
    ];
    for (const script of scripts) {
      for (const history of [NOTHING_LEARNED, learned([6_000, 9_000])]) {
        const { polls } = drive(script, history, fullJitter);
        expect(polls[0]?.atMs).toBeGreaterThanOrEqual(INTERVAL);
        expect(Math.min(...gaps(polls))).toBeGreaterThanOrEqual(INTERVAL);
      }
    }
  });
});

describe('trouble', () => {
  it('honours Retry-After when it is longer than the backoff, else backs off exponentially up to a minute', () => {
    expect(backoffPollAt(noJitter, 0, 30_000, 1)).toBe(30_000);
    expect(backoffPollAt(noJitter, 0, null, 1)).toBe(10_000);
    expect(backoffPollAt(noJitter, 0, null, 3)).toBe(40_000);
    expect(backoffPollAt(noJitter, 0, null, 9)).toBe(60_000);
    expect(backoffPollAt(noJitter, 0, 1_000, 0)).toBe(5_000);
  });
});
