import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ChatSurface, JobStatusView } from '../ports.ts';
import type { JobStore } from './job-store.ts';

export interface StatusUpdatesOptions {
  readonly store: JobStore;
  readonly surfaceFor: (platform: string) => ChatSurface | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** Shortest gap between two placeholder edits of one job (platform rate limits). */
  readonly minIntervalMs: number;
  /** Runs the edit in the background, one per key at a time. */
  readonly run: (key: string, work: () => Promise<void>) => void;
}

/**
 * Placeholder edits: only when what they say changes (progress in steps of 10 %), and no more
 * often than `minIntervalMs` per job unless forced (a change of phase). Best effort: a failed edit
 * is logged, never retried.
 */
export class StatusUpdates {
  private readonly shown = new Map<string, { key: string; atMs: number }>();

  constructor(private readonly options: StatusUpdatesOptions) {}

  show(jobId: string, status: JobStatusView, force = false): void {
    const key = JSON.stringify(status.kind === 'running' ? { ...status, progress: status.progress === null ? null : Math.floor(status.progress * 10) } : status);
    const now = this.options.clock.now();
    const shown = this.shown.get(jobId);
    if (shown?.key === key) return;
    if (!force && shown && now - shown.atMs < this.options.minIntervalMs) return;
    const job = this.options.store.get(jobId);
    const surface = job ? this.options.surfaceFor(job.platform) : undefined;
    if (!job || !surface) return;
    this.shown.set(jobId, { key, atMs: now });
    this.options.run(`status:${jobId}`, async () => {
      try {
        await surface.showStatus(job.placeholder, status, job.id);
      } catch (error) {
        this.options.log.debug('status update failed', { jobId, error });
      }
    });
  }

  /** The job left the placeholder's hands (delivered or failed): forget what it showed. */
  forget(jobId: string): void {
    this.shown.delete(jobId);
  }
}
