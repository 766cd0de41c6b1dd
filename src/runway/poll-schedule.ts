/**
 * When to look at each Runway task next. Runway asks for no more than one poll per task every
 * 5 s; the first poll waits for the model's expected duration (learned from recent jobs), since
 * polling earlier only finds it still running. Jitter spreads tasks submitted together.
 */
export interface PollScheduleOptions {
  /** The shortest gap between two polls of one task (5 000 ms in production). */
  readonly minIntervalMs: number;
  /** A random number in [0, 1): injected so tests are deterministic. */
  readonly random?: () => number;
}

/** No first poll waits longer than this many intervals, so a fast-polling setup stays fast. */
const MAX_FIRST_POLL_INTERVALS = 12;

export class PollSchedule {
  private readonly dueAt = new Map<string, number>();
  private readonly random: () => number;

  constructor(private readonly options: PollScheduleOptions) {
    this.random = options.random ?? Math.random;
  }

  /** A task was just created (or found again on start): its first poll near the expected end. */
  scheduleFirst(taskKey: string, nowMs: number, expectedDurationMs: number): void {
    const { minIntervalMs } = this.options;
    // Jitter goes below the estimate here: landing late on every first poll would teach the
    // learner a longer duration each time (it learns from when success was seen), and drift up.
    const estimate = Math.min(expectedDurationMs, minIntervalMs * MAX_FIRST_POLL_INTERVALS);
    const wait = Math.max(Math.round(estimate * (0.8 + 0.2 * this.random())), minIntervalMs);
    this.dueAt.set(taskKey, nowMs + wait);
  }

  /** After a poll that found the task still going. */
  scheduleNext(taskKey: string, nowMs: number): void {
    this.dueAt.set(taskKey, nowMs + this.jitter(this.options.minIntervalMs));
  }

  /** After a 429 or a 5xx: honour Retry-After, and never come back sooner than the interval. */
  scheduleBackoff(taskKey: string, nowMs: number, retryAfterMs: number | null, attempt: number): void {
    const exponential = this.options.minIntervalMs * 2 ** Math.min(attempt, 5);
    this.dueAt.set(taskKey, nowMs + Math.max(retryAfterMs ?? 0, this.options.minIntervalMs, Math.min(exponential, 60_000)));
  }

  /** Tasks whose poll is due, earliest first. */
  due(nowMs: number): string[] {
    return [...this.dueAt.entries()]
      .filter(([, at]) => at <= nowMs)
      .sort((a, b) => a[1] - b[1])
      .map(([key]) => key);
  }

  has(taskKey: string): boolean {
    return this.dueAt.has(taskKey);
  }

  forget(taskKey: string): void {
    this.dueAt.delete(taskKey);
  }

  /** When the next poll is due, or null when nothing is being polled. */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const at of this.dueAt.values()) if (next === null || at < next) next = at;
    return next;
  }

  /** 0 to +20 % between polls of one task: never earlier than asked, so the 5 s minimum holds. */
  private jitter(ms: number): number {
    return Math.round(ms * (1 + 0.2 * this.random()));
  }
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
export function estimateFinishedAt(submittedAtMs: number, lastSeenUnfinishedAtMs: number | undefined, nowMs: number): number {
  if (lastSeenUnfinishedAtMs === undefined) return submittedAtMs + Math.round(0.8 * (nowMs - submittedAtMs));
  return Math.round((lastSeenUnfinishedAtMs + nowMs) / 2);
}
