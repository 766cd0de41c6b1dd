/**
 * When to look at each Runway task next. Runway asks for no more than one poll per task every
 * 5 s; the first poll waits for the model's expected duration (learned from recent jobs), since
 * polling earlier only finds it still running. Jitter spreads tasks submitted together. These are
 * pure: the answer is stored in the job's `run_at`, so a restart keeps each task's schedule.
 */
export interface PollTiming {
  /** The shortest gap between two polls of one task (5 000 ms in production). */
  readonly minIntervalMs: number;
  /** A random number in [0, 1): injected so tests are deterministic. */
  readonly random: () => number;
}

/** No first poll waits longer than this many intervals, so a fast-polling setup stays fast. */
const MAX_FIRST_POLL_INTERVALS = 12;
/** The longest exponential backoff between polls of a task in trouble (Retry-After may ask for more). */
const MAX_BACKOFF_MS = 60_000;

/** A task was just created: its first poll near the expected end. */
export function firstPollAt(timing: PollTiming, nowMs: number, expectedDurationMs: number): number {
  const { minIntervalMs } = timing;
  // Jitter goes below the estimate here: landing late on every first poll would teach the
  // learner a longer duration each time (it learns from when success was seen), and drift up.
  const estimate = Math.min(expectedDurationMs, minIntervalMs * MAX_FIRST_POLL_INTERVALS);
  return nowMs + Math.max(Math.round(estimate * (0.8 + 0.2 * timing.random())), minIntervalMs);
}

/** After a poll that found the task still going: the interval plus 0 to +20 %, never earlier, so the 5 s minimum holds. */
export function nextPollAt(timing: PollTiming, nowMs: number): number {
  return nowMs + Math.round(timing.minIntervalMs * (1 + 0.2 * timing.random()));
}

/** After a 429, a 5xx or an unreadable answer (`attempt` of them in a row): honour Retry-After, and never come back sooner than the interval. */
export function backoffPollAt(timing: PollTiming, nowMs: number, retryAfterMs: number | null, attempt: number): number {
  const exponential = timing.minIntervalMs * 2 ** Math.min(attempt, 5);
  return nowMs + Math.max(retryAfterMs ?? 0, timing.minIntervalMs, Math.min(exponential, MAX_BACKOFF_MS));
}

/** The median of recent durations, or the catalogue's guess when there are none yet. */
export function expectedDurationMs(recentMs: readonly number[], fallbackMs: number): number {
  if (recentMs.length === 0) return fallbackMs;
  const sorted = [...recentMs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * When Runway most likely finished a task that a poll at `nowMs` found done: midway since the last
 * poll that found it unfinished; with none, 80 % of the way from submission. Guessing low is
 * deliberate: an estimate too low corrects itself at once (the next first poll finds the task
 * running and brackets it), one too high only grows, as first polls land ever later.
 */
export function estimateFinishedAt(submittedAtMs: number, lastSeenUnfinishedAtMs: number | null, nowMs: number): number {
  if (lastSeenUnfinishedAtMs === null) return submittedAtMs + Math.round(0.8 * (nowMs - submittedAtMs));
  return Math.round((lastSeenUnfinishedAtMs + nowMs) / 2);
}
