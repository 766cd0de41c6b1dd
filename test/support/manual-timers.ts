/**
 * Timers for code that takes injected ones (src/clock.ts `Timers`): nothing fires on its own, so a
 * test says when a deadline passes instead of waiting for it.
 */
import type { Timers } from '../../src/clock.ts';

export class ManualTimers {
  private readonly pending = new Map<number, { callback: () => void; delayMs: number }>();
  private nextId = 1;

  /** What to hand to the code under test. */
  readonly timers: Timers = {
    // Node's timer types carry overloads and a handle class; a number stands in for the handle.
    setTimeout: ((callback: () => void, delayMs = 0) => {
      const id = this.nextId++;
      this.pending.set(id, { callback, delayMs });
      return id;
    }) as unknown as typeof setTimeout,
    clearTimeout: ((id: number) => {
      this.pending.delete(id);
    }) as unknown as typeof clearTimeout,
  };

  /** The delays of the timers set and not yet fired or cleared, in the order they were set. */
  delays(): number[] {
    return [...this.pending.values()].map((timer) => timer.delayMs);
  }

  /** Fire every pending timer now, as if its delay had passed. */
  fireAll(): void {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const timer of due) timer.callback();
  }
}
