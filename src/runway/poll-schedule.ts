/**
 * When to look at each Runway task next. These are pure: the answer is stored in the job's
 * `run_at`, so a restart keeps each task's schedule, and tests drive them with a fake clock.
 *
 * The one hard rule: Runway asks for no more than one request about a task every 5 s
 * (`minIntervalMs`), and the create counts as the first, so no poll is ever scheduled sooner than
 * that after the one before it (or after the create).
 *
 * Within that rule the goal is to see each success as soon after it happens as possible, with few
 * polls. What makes that hard is the rule itself: a poll that finds the task running, finishing
 * 2 s later, cannot be followed for 5 s. So the schedule aims each poll either just after the
 * finish, or at least one interval before it, and uses what each poll said to choose:
 *
 * - The first poll goes at a fast generation time for the model (learned from the database, so a
 *   restart keeps it), or at the interval when nothing is known yet: early enough to see progress.
 * - A RUNNING answer carries `progress`. Two readings give the task's own pace, which extrapolates
 *   well. One reading is extrapolated from the earliest the generation can have begun (the
 *   submission, or the last PENDING poll): that errs late, by the wait and the slow start it cannot
 *   see, and late is cheap (a margin) where early is dear (a whole interval). Assuming the start
 *   recent tasks measured on average was tried and did worse: a few noisy measurements push
 *   estimates early, and one early landing costs more than many late ones save.
 * - When the finish is known well, the next poll lands just after it. When it is not, and there is
 *   room, the next poll is taken one interval before the earliest plausible finish: a second reading
 *   that still leaves time to land on the finish. A pace extrapolated more than three intervals
 *   ahead is read once more the same way, rather than landed with a margin that grows with distance.
 * - PENDING and THROTTLED answers say nothing about the finish: the next look is cheap, an interval
 *   or so later.
 */
export interface PollTiming {
  /** The shortest gap between two requests about one task (5 000 ms in production). */
  readonly minIntervalMs: number;
  /** A random number in [0, 1): injected so tests are deterministic. */
  readonly random: () => number;
}

/** What recent finished jobs of one model tell (read from the database: a restart keeps it). */
export interface ModelHistory {
  /** Submitted → finished (as estimated when the success was seen), recent successful jobs. */
  readonly durationsMs: readonly number[];
}

/** What the schedule takes from a model's history. */
export interface Learned {
  /** A fast finish after submission: the fastest recent one, scaled down while few are known. null: nothing learned. */
  readonly fastMs: number | null;
}

/** One RUNNING answer with a progress figure. */
export interface Reading {
  readonly atMs: number;
  /** 0..1 as Runway reports it. */
  readonly progress: number;
}

/** What the job's row knows about its task before this poll. */
export interface TaskSoFar {
  readonly submittedAtMs: number;
  /** The last poll that found it PENDING or THROTTLED, if any: generation began after it. */
  readonly waitingSeenAtMs: number | null;
  /** The previous RUNNING reading with a figure, if any. */
  readonly previous: Reading | null;
}

/** When the task will most likely finish, seen from one poll. */
export interface FinishEstimate {
  /** The best guess. */
  readonly likelyMs: number;
  /** The earliest it plausibly finishes (≤ likelyMs). */
  readonly earliestMs: number;
  /** Whether the guess rests on the task's own pace (two readings) or a reading far enough along to trust. */
  readonly firm: boolean;
  /**
   * What the guess rests on: `pace` (two readings: it can err either way, more the further it
   * reaches), `reading` (one, from the earliest possible start: it errs late), or `none` (no figure:
   * not before a fast generation from now).
   */
  readonly basis: 'pace' | 'reading' | 'none';
}

/** What the schedule decided after a RUNNING answer. */
export interface RunningPlan {
  readonly nextPollAtMs: number;
  readonly estimate: FinishEstimate;
}

/** No first poll waits longer than this many intervals, so a slow model still shows progress. */
const MAX_FIRST_POLL_INTERVALS = 12;
/** The longest exponential backoff between polls of a task in trouble (Retry-After may ask for more). */
const MAX_BACKOFF_MS = 60_000;
/** Waiting tasks (PENDING, THROTTLED) are looked at no less often than this many intervals. */
const MAX_WAITING_INTERVALS = 3;
/** The first poll's jitter, as a share of its delay: spreads tasks submitted together, only later. */
const FIRST_POLL_JITTER = 0.05;
/** Progress must move at least this much between two readings for their pace to mean anything. */
const MIN_PROGRESS_MOVE = 0.02;
/** A single reading this far along extrapolates well enough without a second one. */
const FIRM_PROGRESS = 0.6;
/**
 * How much later than the likely finish a landing poll goes: a fixed part (a share of the interval:
 * 150 ms at 5 s), for the clock and the request, and a share of the time extrapolated, for a pace
 * that wanders. Landing early costs a whole interval (the task is still running and the next poll
 * must wait); landing late costs only the margin, so it leans late.
 */
const LANDING_MARGIN_INTERVALS = 0.03;
const LANDING_MARGIN_SHARE = 0.06;
/** A second reading goes this much (a share of the interval: 300 ms at 5 s) before the interval that precedes the earliest finish. */
const SECOND_READING_SLACK_INTERVALS = 0.06;
/** A pace extrapolated further than this many intervals is read again before landing. */
const REFINE_BEYOND_INTERVALS = 3;
/** A fast generation is taken as this share of the fastest seen, so a slightly faster one is not missed. */
const FAST_RUN_SHARE = 0.9;

/** Learn the schedule's figures from a model's recent history. */
export function learnFrom(history: ModelHistory): Learned {
  const n = history.durationsMs.length;
  // The fewer finishes seen, the less their fastest says about the next: scaled by n / (n + 1), the
  // expected fastest of n + 1 if times were spread evenly from 0.
  const fastMs = n === 0 ? null : Math.round((Math.min(...history.durationsMs) * n) / (n + 1));
  return { fastMs };
}

/** Nothing learned: the first jobs of a model on a fresh database. */
export const NOTHING_LEARNED: Learned = { fastMs: null };

/**
 * A task was just created: its first poll at a fast generation time for the model, so most tasks
 * are caught running (their progress then times the rest) and few are long finished; with nothing
 * learned yet, at the interval. Never sooner than the interval after the create.
 */
export function firstPollAt(timing: PollTiming, nowMs: number, learned: Learned): number {
  const { minIntervalMs } = timing;
  const target = learned.fastMs === null ? minIntervalMs : Math.min(learned.fastMs, minIntervalMs * MAX_FIRST_POLL_INTERVALS);
  const delay = Math.max(target, minIntervalMs);
  return nowMs + Math.round(delay * (1 + FIRST_POLL_JITTER * timing.random()));
}

/**
 * After a poll that found the task PENDING or THROTTLED: it has not begun, so it cannot finish
 * sooner than a fast generation from now. Cheap: an interval, or up to a fast generation later,
 * never more than a few intervals (a throttled task may start any moment).
 */
export function afterWaitingPollAt(timing: PollTiming, nowMs: number, learned: Learned): number {
  const { minIntervalMs } = timing;
  const fastRun = (learned.fastMs ?? 0) * FAST_RUN_SHARE;
  return nowMs + Math.round(Math.min(Math.max(fastRun, minIntervalMs), minIntervalMs * MAX_WAITING_INTERVALS));
}

/**
 * After a RUNNING answer (`progress` null when Runway gave no figure): land just after the likely
 * finish when it is firm and near, or too close for another reading; else take another reading one
 * interval before the earliest plausible finish, so that the landing follows the task's own pace.
 * Never sooner than the interval.
 */
export function afterRunningPollAt(timing: PollTiming, nowMs: number, task: TaskSoFar, progress: number | null, learned: Learned): RunningPlan {
  const { minIntervalMs } = timing;
  const estimate = estimateFinish(nowMs, task, progress, learned);
  const soonest = nowMs + minIntervalMs;
  const gap = minIntervalMs * (1 + SECOND_READING_SLACK_INTERVALS);
  const extrapolated = Math.max(estimate.likelyMs - nowMs, 0);
  if (!estimate.firm) {
    // Another reading one interval before the earliest plausible finish (or as soon as allowed),
    // worth taking when the likely finish is at least an interval after it: the landing then
    // follows the task's own pace.
    const readingAt = Math.max(soonest, estimate.earliestMs - gap);
    if (estimate.likelyMs - readingAt >= gap) return { nextPollAtMs: Math.round(readingAt), estimate };
  } else if (extrapolated > minIntervalMs * REFINE_BEYOND_INTERVALS) {
    // A pace extrapolated far can wander far: read it again one interval before the soonest the
    // wandering allows, rather than land with a margin that grows with the distance.
    const readingAt = Math.max(soonest, estimate.likelyMs - LANDING_MARGIN_SHARE * extrapolated - gap);
    return { nextPollAtMs: Math.round(readingAt), estimate };
  }
  const fixed = minIntervalMs * LANDING_MARGIN_INTERVALS;
  // An estimate from the earliest possible start is late already; the others can err either way, more the further they reach.
  const margin = estimate.basis === 'pace' ? fixed + LANDING_MARGIN_SHARE * extrapolated : fixed;
  return { nextPollAtMs: Math.round(Math.max(soonest, estimate.likelyMs + margin)), estimate };
}

/**
 * When the task will most likely finish, from what this poll said and what the row knew:
 *
 * - no figure (or 0): generation has at most just begun, so not before a fast generation from now;
 * - two readings with progress moving forward: the task's own pace, extrapolated (firm);
 * - one reading (or progress that stalled or ran backwards): the pace since the earliest possible
 *   start (the submission, or the last waiting poll); firm only when far enough along that the
 *   start barely matters.
 */
export function estimateFinish(nowMs: number, task: TaskSoFar, progress: number | null, learned: Learned): FinishEstimate {
  // A fast generation, run alone: the fastest finish includes a wait, so this bound is generous.
  const fastRun = learned.fastMs === null ? null : learned.fastMs * FAST_RUN_SHARE;
  if (progress === null || !(progress > 0)) {
    const earliest = nowMs + (fastRun ?? 0);
    return { likelyMs: earliest, earliestMs: earliest, firm: false, basis: 'none' };
  }
  const p = Math.min(progress, 1);
  const previous = task.previous;
  if (previous !== null && nowMs > previous.atMs && p - previous.progress >= MIN_PROGRESS_MOVE) {
    const pace = (p - previous.progress) / (nowMs - previous.atMs);
    const likely = nowMs + (1 - p) / pace;
    return { likelyMs: likely, earliestMs: likely, firm: true, basis: 'pace' };
  }
  // From the earliest it can have begun: late by the wait and slow start it cannot see, which is
  // the cheap way to be wrong.
  const start = Math.max(task.submittedAtMs, task.waitingSeenAtMs ?? task.submittedAtMs);
  const likely = start + (nowMs - start) / p;
  // The earliest: the task is no faster than a fast generation (when one is known). With none
  // known, nothing bounds it below: it may have begun just before this poll.
  const earliest = fastRun === null ? nowMs : Math.min(likely, nowMs + (1 - p) * fastRun);
  return { likelyMs: likely, earliestMs: earliest, firm: p >= FIRM_PROGRESS, basis: 'reading' };
}

/** After a 429, a 5xx or an unreadable answer (`attempt` of them in a row): honour Retry-After, and never come back sooner than the interval. */
export function backoffPollAt(timing: PollTiming, nowMs: number, retryAfterMs: number | null, attempt: number): number {
  const exponential = timing.minIntervalMs * 2 ** Math.min(attempt, 5);
  return nowMs + Math.max(retryAfterMs ?? 0, timing.minIntervalMs, Math.min(exponential, MAX_BACKOFF_MS));
}

/**
 * When Runway most likely finished a task that a poll at `nowMs` found done, for learning how long
 * generations take. Between the last poll that found it unfinished and now; where in between, the
 * last progress reading says (extrapolated from the earliest start), else midway. With no
 * unfinished poll at all, 80 % of the way from submission. Guessing low is deliberate: an estimate
 * too low corrects itself (the next first poll finds the task running), one too high only grows, as
 * first polls land ever later.
 */
export function estimateFinishedAt(nowMs: number, task: TaskSoFar & { readonly lastUnfinishedAtMs: number | null }, learned: Learned): number {
  const { submittedAtMs, lastUnfinishedAtMs, previous } = task;
  if (lastUnfinishedAtMs === null) return submittedAtMs + Math.round(0.8 * (nowMs - submittedAtMs));
  if (previous !== null && previous.atMs === lastUnfinishedAtMs && previous.progress > 0) {
    const fromReading = estimateFinish(previous.atMs, { ...task, previous: null }, previous.progress, learned).likelyMs;
    return Math.round(clamp(fromReading, lastUnfinishedAtMs, nowMs));
  }
  return Math.round((lastUnfinishedAtMs + nowMs) / 2);
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}
