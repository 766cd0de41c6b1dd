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
  /** The sweep under way, if any: stop() waits for it, so none reads a closed database. */
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: { store: JobStore; references: ReferenceStore; clock: Clock; log: Logger; timers: Timers; retentionMs?: number },
  ) {}

  /** One sweep now; returns the hashes deleted. */
  async sweep(): Promise<string[]> {
    const since = this.deps.clock.now() - (this.deps.retentionMs ?? REFERENCE_RETENTION_MS);
    // Watched from before the read: a file whose rows were written after it is still pinned, or was while it ran.
    const pins = this.deps.references.watchPins();
    let deleted: string[];
    try {
      const needed = await this.deps.store.neededReferenceHashes(since);
      deleted = this.deps.references.sweep(new Set([...needed, ...pins.pinned]));
    } finally {
      pins.stop();
    }
    if (deleted.length > 0) this.deps.log.info('reference store swept', { deleted: deleted.length });
    return deleted;
  }

  /** Sweeps at once; resolves when that first sweep is done, then sweeps every REFERENCE_SWEEP_EVERY_MS. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.runAndReschedule();
  }

  /** No more sweeps; resolves once one under way has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Never rejects: it also runs from a timer. */
  private runAndReschedule(): Promise<void> {
    const run = this.sweepAndReschedule().finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async sweepAndReschedule(): Promise<void> {
    try {
      await this.sweep();
    } catch (error) {
      this.deps.log.warn('reference store sweep failed; trying again later', { error });
    }
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => void this.runAndReschedule(), REFERENCE_SWEEP_EVERY_MS);
  }
}
