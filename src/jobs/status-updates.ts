import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { ChatSurface, JobStatusView } from '../ports.ts';
import type { Job, JobStore } from './job-store.ts';

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

  /**
   * Start the edit, if one is due; resolves once it is started (not done), so what the caller does
   * next (a delivery, a failure) reaches the placeholder after it. Never rejects: best effort.
   */
  async show(jobId: string, status: JobStatusView, force = false): Promise<void> {
    const key = JSON.stringify(status.kind === 'running' ? { ...status, progress: status.progress === null ? null : Math.floor(status.progress * 10) } : status);
    const now = this.options.clock.now();
    const previous = this.shown.get(jobId);
    if (previous?.key === key) return;
    if (!force && previous && now - previous.atMs < this.options.minIntervalMs) return;
    // Claimed before the read: the same status shown again meanwhile is not edited twice.
    const claim = { key, atMs: now };
    this.shown.set(jobId, claim);
    let job: Job | undefined;
    try {
      job = await this.options.store.get(jobId);
    } catch (error) {
      this.options.log.debug('status update skipped: the job could not be read', { jobId, error });
    }
    // forget() ran meanwhile (the job was delivered or failed): its placeholder is no longer ours to edit.
    if (this.shown.get(jobId) !== claim) return;
    const surface = job ? this.options.surfaceFor(job.platform) : undefined;
    if (!job || !surface) {
      // Nothing was shown: what was shown before still stands.
      if (previous) this.shown.set(jobId, previous);
      else this.shown.delete(jobId);
      return;
    }
    const { placeholder } = job;
    this.options.run(`status:${jobId}`, async () => {
      try {
        await surface.showStatus(placeholder, status, jobId);
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
