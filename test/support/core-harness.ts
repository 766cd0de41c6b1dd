import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { Failure } from '../../src/errors.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import type { ChatSurface, Delivery, DeliveryCheckpoint, DeliveryReceipt, JobStatusView, ReferenceSource, Requester } from '../../src/ports.ts';
import { startRunwaySimulator, type RunwaySimulator, type SimulatorOptions } from '../../simulator/index.ts';
import { newTestStore } from './test-database.ts';

/** A ChatSurface that records what the core asked it to show, for assertions. */
export class RecordingSurface implements ChatSurface {
  readonly platform = 'test';
  readonly notices: { placeholder: string; text: string }[] = [];
  readonly statuses: { placeholder: string; status: JobStatusView }[] = [];
  readonly deliveries: { placeholder: string; delivery: Delivery }[] = [];
  readonly failures: { placeholder: string; failure: Failure }[] = [];

  async showStatus(placeholder: string, status: JobStatusView): Promise<void> {
    this.statuses.push({ placeholder, status });
  }
  /** Says the result is at `test://<placeholder>`, as a platform gives the link of its message. */
  async deliver(placeholder: string, delivery: Delivery, _checkpoint: DeliveryCheckpoint): Promise<DeliveryReceipt> {
    this.deliveries.push({ placeholder, delivery });
    return { link: `test://${placeholder}` };
  }
  async notifyModerators(placeholder: string, text: string): Promise<void> {
    this.notices.push({ placeholder, text });
  }
  async showFailure(placeholder: string, failure: Failure): Promise<void> {
    this.failures.push({ placeholder, failure });
  }
}

export interface CoreHarness {
  readonly app: App;
  readonly sim: RunwaySimulator;
  readonly clock: ManualClock;
  readonly surface: RecordingSurface;
  /** DATABASE_PATH, or DATABASE_URL: where the core's store is, for a second connection to it (the admin tool's). */
  readonly storeEnv: Readonly<Record<string, string>>;
  requester(userId: string, options?: { communityId?: string; isModerator?: boolean }): Requester;
  /** Move time on and let the runner do everything that became due, until nothing changes. */
  advance(ms: number): Promise<void>;
  /** Advance in steps until `done()` holds (bounded), for flows that need several polls. It may read the database. */
  runUntil(done: () => boolean | Promise<boolean>, stepMs?: number, maxSteps?: number): Promise<void>;
  ledgerSum(where: { jobId?: string; userId?: string }): Promise<number>;
  /** Stop the app cleanly and start a new one on the same database and simulator (a restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const inertTimers = {
  setTimeout: (() => 0) as unknown as typeof setTimeout,
  clearTimeout: (() => undefined) as unknown as typeof clearTimeout,
};

export interface CoreHarnessOptions {
  /** Config variables on top of the harness's own. */
  env?: Record<string, string>;
  sim?: SimulatorOptions;
  /** Where the core sends its Runway calls (a proxy in front of the simulator); default the simulator. */
  runwayUrl?: string;
  /** The operator's lists of communities to serve, per platform (the harness's platform is 'test'). */
  servedCommunities?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Where the core logs (default: nowhere), for tests that assert on a warning. */
  log?: Logger;
  /** MAX_JOBS_PER_MEMBER for this core (default the config's, 2). */
  maxJobsPerMember?: number;
}

/**
 * The real core (store, ledger, SDK, runner) against the real simulator over loopback HTTP, with
 * one manual clock for both and no timers: time moves only when a test says so. The store is the
 * project's backend: the SQLite file bot.db in a temporary directory, or a new PostgreSQL database.
 */
export async function startCoreHarness(options: CoreHarnessOptions = {}): Promise<CoreHarness> {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
  const sim = await startRunwaySimulator({ apiKey: 'test-key', generationMs: 2_000, pendingMs: 200, clock, ...options.sim });
  const dir = mkdtempSync(join(tmpdir(), 'imagine-core-'));
  const store = await newTestStore(dir);
  const config = loadConfig({
    MEDIA_ORIGINS: sim.url,
    ...store.env,
    RUNWAY_POLL_INTERVAL_MS: '1000',
    DEFAULT_ALLOWANCE: '50',
    DEFAULT_PERIOD: 'day',
    ...(options.maxJobsPerMember === undefined ? {} : { MAX_JOBS_PER_MEMBER: String(options.maxJobsPerMember) }),
    ...options.env,
  });
  const open = async () => {
    const app = await createApp({
      config,
      runway: { apiKey: 'test-key', baseUrl: options.runwayUrl ?? sim.url },
      clock,
      log: options.log ?? silentLogger,
      timers: inertTimers,
      ...(options.servedCommunities ? { servedCommunities: options.servedCommunities } : {}),
    });
    app.registerSurface(surface);
    await app.start();
    return app;
  };
  const surface = new RecordingSurface();
  let app = await open();

  const drain = async () => {
    for (let i = 0; i < 20; i++) {
      await app.runner.tick();
      await app.runner.idle();
    }
  };
  return {
    get app() {
      return app;
    },
    sim,
    clock,
    surface,
    storeEnv: store.env,
    requester: (userId, o = {}) => ({
      platform: 'test',
      communityId: o.communityId ?? 'guild-1',
      userId,
      displayName: userId,
      isModerator: o.isModerator ?? false,
    }),
    async advance(ms) {
      clock.advance(ms);
      await drain();
    },
    async runUntil(done, stepMs = 500, maxSteps = 200) {
      for (let step = 0; step < maxSteps && !(await done()); step++) {
        clock.advance(stepMs);
        await drain();
      }
      if (!(await done())) throw new Error(`condition not reached after ${maxSteps} steps of ${stepMs} ms`);
    },
    async ledgerSum({ jobId, userId }) {
      const clauses: string[] = [];
      const params: string[] = [];
      if (jobId) (clauses.push('job_id = ?'), params.push(jobId));
      if (userId) (clauses.push('user_id = ?'), params.push(userId));
      const where = clauses.length ? `where ${clauses.join(' and ')}` : '';
      return (await app.db.value<number>(`select coalesce(sum(delta), 0) from ledger ${where}`, params)) ?? 0;
    },
    async restart() {
      await app.stop();
      app = await open();
    },
    async close() {
      await app.stop();
      await sim.close();
      await store.discard();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A reference "attachment" served from memory, as an adapter would hand it to the core. */
export function memoryReference(filename: string, bytes: Uint8Array, declaredSizeBytes?: number): ReferenceSource & { downloads: number } {
  const source = {
    filename,
    downloads: 0,
    ...(declaredSizeBytes === undefined ? {} : { declaredSizeBytes }),
    async download() {
      source.downloads++;
      return bytes;
    },
  };
  return source;
}
