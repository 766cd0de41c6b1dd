/** Time is injected everywhere so tests never depend on the wall clock. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private nowMs = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
  set(ms: number): void {
    this.nowMs = ms;
  }
}

/**
 * The timer functions, injected wherever a deadline is set so a test can fire it by hand instead
 * of waiting. Callers default to the global ones at the moment of use.
 */
export interface Timers {
  readonly setTimeout: typeof setTimeout;
  readonly clearTimeout: typeof clearTimeout;
}
