import type { Clock, Timers } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { JobStore } from './job-store.ts';
import type { ReferenceStore } from './reference-store.ts';

/** How long a finished job's references are kept for a reroll (or a vary). */
export const REFERENCE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** How often the store is swept. */
export const REFERENCE_SWEEP_EVERY_MS = 60 * 60 * 1000;

/**
 * Deletes the reference files no job needs any more: none unfinished and none younger than the
 * retention window uses them. Runs on start, then every REFERENCE_SWEEP_EVERY_MS on the injected timers.
 */
export class ReferenceSweep {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;

  constructor(
    private readonly deps: { store: JobStore; references: ReferenceStore; clock: Clock; log: Logger; timers: Timers; retentionMs?: number },
  ) {}

  /** One sweep now; returns the hashes deleted. */
  sweep(): string[] {
    const since = this.deps.clock.now() - (this.deps.retentionMs ?? REFERENCE_RETENTION_MS);
    const deleted = this.deps.references.sweep(this.deps.store.neededReferenceHashes(since));
    if (deleted.length > 0) this.deps.log.info('reference store swept', { deleted: deleted.length });
    return deleted;
  }

  start(): void {
    this.stopped = false;
    this.runAndReschedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private runAndReschedule(): void {
    try {
      this.sweep();
    } catch (error) {
      this.deps.log.warn('reference store sweep failed; trying again later', { error });
    }
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => this.runAndReschedule(), REFERENCE_SWEEP_EVERY_MS);
  }
}
