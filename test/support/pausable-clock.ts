import type { Clock } from '../../src/clock.ts';

/**
 * The wall clock, except that a test can stop it (and nudge it while stopped). Given to the Runway
 * simulator, it freezes every task where it is — PENDING stays PENDING — while the bot, on its own
 * clock, keeps polling: that is how a crash test holds a job in `submitted` or `running`.
 */
export class PausableClock implements Clock {
  private offsetMs = 0;
  private pausedAtMs: number | null = null;

  now(): number {
    return this.pausedAtMs ?? Date.now() - this.offsetMs;
  }

  pause(): void {
    this.pausedAtMs ??= this.now();
  }

  /** Move a paused clock forward. */
  advance(ms: number): void {
    if (this.pausedAtMs === null) throw new Error('advance() needs a paused clock');
    this.pausedAtMs += ms;
  }

  /** Run again from where it stopped: paused time is skipped, never jumped over. */
  resume(): void {
    if (this.pausedAtMs === null) return;
    this.offsetMs = Date.now() - this.pausedAtMs;
    this.pausedAtMs = null;
  }
}
