/**
 * Automatic backups (BACKUP_DIR, BACKUP_EVERY, BACKUP_KEEP): an online copy of the database every
 * period, named by its UTC time, the oldest deleted beyond BACKUP_KEEP. The next one is due a period
 * after the newest in the directory, not after the bot started, so restarts neither skip backups nor
 * pile them up (a crash loop would otherwise push the real dailies out of the kept window).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Clock, Timers } from '../clock.ts';
import type { Logger } from '../log.ts';
import { backupDatabase, backupStem, parseScheduledBackupName, scheduledBackupPath } from '../store/backup.ts';
import type { Db } from '../store/database.ts';

export interface BackupScheduleOptions {
  readonly db: Db;
  readonly databasePath: string;
  readonly dir: string;
  readonly everyMs: number;
  readonly keep: number;
  readonly clock: Clock;
  readonly timers?: Timers;
  readonly log: Logger;
}

/** The longest single timer: Node's limit is ~24.8 days, and a wait is re-measured on the clock anyway. */
const MAX_TIMER_MS = 60 * 60_000;
/** After a failed backup (a full disk), try again this soon rather than a whole period later. */
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;

/** One backup file of the schedule's. */
export interface ScheduledBackup {
  readonly path: string;
  readonly name: string;
  readonly takenAt: number;
}

/** Takes the automatic backups on injected timers, prunes the oldest, and waits for one in progress on stop. */
export class BackupSchedule {
  private readonly timers: Timers;
  private readonly stem: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  /** The timer's current turn (backup, prune, re-arm), for `idle()`. */
  private turn: Promise<void> | null = null;
  private retryAt: number | null = null;
  private stopped = true;

  constructor(private readonly options: BackupScheduleOptions) {
    this.timers = options.timers ?? { setTimeout, clearTimeout };
    this.stem = backupStem(options.databasePath);
  }

  /** The schedule's backups in the directory, oldest first (other files are never touched). */
  list(): ScheduledBackup[] {
    let names: string[];
    try {
      names = readdirSync(this.options.dir);
    } catch {
      return [];
    }
    const backups: ScheduledBackup[] = [];
    for (const name of names) {
      const takenAt = parseScheduledBackupName(this.stem, name);
      if (takenAt !== null) backups.push({ path: join(this.options.dir, name), name, takenAt });
    }
    return backups.sort((a, b) => a.takenAt - b.takenAt);
  }

  /** When the next backup is due: a period after the newest, or now if there is none. */
  nextDueAt(): number {
    if (this.retryAt !== null) return this.retryAt;
    const newest = this.list().at(-1);
    return newest === undefined ? this.options.clock.now() : newest.takenAt + this.options.everyMs;
  }

  /** Start timing backups; one is taken soon if the last is older than a period. */
  start(): void {
    mkdirSync(this.options.dir, { recursive: true });
    this.stopped = false;
    this.arm();
  }

  /** Stop the timer and wait for a backup in progress: call before closing the database. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.turn;
  }

  /** Resolves when the timer's turn that is under way (backup, prune, next timer set) is over. */
  async idle(): Promise<void> {
    await this.turn;
  }

  /** Take a backup now and prune; the schedule's timer calls it, and so can a test. */
  async runNow(): Promise<ScheduledBackup | null> {
    const { db, dir, clock, log } = this.options;
    const takenAt = clock.now();
    const path = scheduledBackupPath(dir, this.stem, takenAt);
    let taken: ScheduledBackup | null = null;
    const work = (async () => {
      try {
        mkdirSync(dir, { recursive: true });
        const { pages } = await backupDatabase(db, path);
        this.retryAt = null;
        taken = { path, name: basename(path), takenAt };
        const pruned = this.prune();
        log.info('database backed up', { path, pages, pruned: pruned.length });
      } catch (error) {
        this.retryAt = clock.now() + RETRY_AFTER_FAILURE_MS;
        log.error('database backup failed; will retry', { code: 'backup.failed', path, error, retryInMs: RETRY_AFTER_FAILURE_MS });
      }
    })();
    this.running = work;
    try {
      await work;
    } finally {
      if (this.running === work) this.running = null;
    }
    return taken;
  }

  /** Delete the oldest of the schedule's backups beyond `keep`; returns the names deleted. */
  prune(): string[] {
    const backups = this.list();
    const excess = backups.slice(0, Math.max(0, backups.length - this.options.keep));
    for (const backup of excess) rmSync(backup.path, { force: true });
    return excess.map((backup) => backup.name);
  }

  private arm(): void {
    if (this.stopped) return;
    const waitMs = Math.max(0, this.nextDueAt() - this.options.clock.now());
    this.timer = this.timers.setTimeout(() => {
      this.turn = this.fire();
    }, Math.min(waitMs, MAX_TIMER_MS));
  }

  private async fire(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    if (this.options.clock.now() >= this.nextDueAt()) await this.runNow();
    this.arm();
  }
}
