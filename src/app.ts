import RunwayML from '@runwayml/sdk';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Bot, DEFAULT_MAX_JOBS_PER_MEMBER } from './bot.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { CreditLedger } from './credits/ledger.ts';
import { JobStore } from './jobs/job-store.ts';
import { JobRunner, type OutputFetcher } from './jobs/runner.ts';
import type { Logger } from './log.ts';
import { isIpLiteral, isPublicAddress } from './media/address.ts';
import { downloadImage } from './media/download.ts';
import type { ChatSurface } from './ports.ts';
import { RunwayGateway } from './runway/gateway.ts';
import { startRunwaySimulator, type RunwaySimulator } from './runway/simulator/index.ts';
import { openDatabase, type Db } from './store/database.ts';
import { acquireInstanceLease, InstanceLeaseHeld, type AcquireOutcome, type InstanceIdentity, type InstanceLease } from './store/instance-lease.ts';

/** Finished images can be large (4K PNGs); Runway's own limit is far above chat limits. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const OUTPUT_TIMEOUT_MS = 120_000;
const SIMULATOR_GENERATION_MS = 4_000;

export interface App {
  readonly core: Bot;
  readonly runner: JobRunner;
  readonly db: Db;
  /** Set when no RUNWAYML_API_SECRET was given and the built-in simulator stands in for Runway. */
  readonly simulator: RunwaySimulator | null;
  registerSurface(surface: ChatSurface): void;
  /** Resume unfinished jobs and start the scheduler: call after every adapter has registered. */
  start(): Promise<void>;
  /** Drain gracefully: wait for work in progress, then close the database. */
  stop(): Promise<void>;
}

export interface AppOptions {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  /** Tests pass inert timers and drive `runner.tick()` themselves. */
  readonly timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
  /** Unfinished jobs one member may have at once (flood control); default DEFAULT_MAX_JOBS_PER_MEMBER. */
  readonly maxJobsPerMember?: number;
  /** Who this process is for the instance lease; tests stand in for another host or pid. Default: this host and pid. */
  readonly instance?: Partial<Omit<InstanceIdentity, 'instanceId'>> & { readonly isAlive?: (pid: number) => boolean };
  /** Called once if another instance took the database's lease from us (we stalled past its expiry); work has stopped. */
  readonly onLeaseLost?: () => void;
}

/**
 * Build the core: store, ledger, Runway gateway, job runner. Knows no chat platform. Takes the
 * database's instance lease first and throws InstanceLeaseHeld, naming the holder, when another
 * bot is using the same DATABASE_PATH.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { config, clock, log } = options;
  const db = openDatabase(config.databasePath);
  const identity: InstanceIdentity = {
    instanceId: randomUUID(),
    hostname: options.instance?.hostname ?? hostname(),
    pid: options.instance?.pid ?? process.pid,
  };
  let acquired: AcquireOutcome;
  try {
    acquired = acquireInstanceLease(db, identity, clock, options.instance?.isAlive);
  } catch (error) {
    db.close();
    throw error;
  }
  if (!acquired.ok) {
    db.close();
    throw new InstanceLeaseHeld(acquired.holder, config.databasePath);
  }
  const { lease, previousHolder } = acquired;
  if (previousHolder !== null) log.info('took over the database from an instance that is gone', { previousHolder, how: acquired.how });
  try {
    return await buildApp(options, db, lease, previousHolder);
  } catch (error) {
    lease.release();
    db.close();
    throw error;
  }
}

async function buildApp({ config, clock, log, timers, maxJobsPerMember, onLeaseLost }: AppOptions, db: Db, lease: InstanceLease, previousHolder: string | null): Promise<App> {
  const ledger = new CreditLedger(db, clock, { allowance: config.credits.defaultAllowance, period: config.credits.defaultPeriod });
  const store = new JobStore(db, ledger, clock, lease.identity.instanceId);

  let simulator: RunwaySimulator | null = null;
  let runwayBaseUrl = config.runway.baseUrl;
  let apiKey = config.runway.apiSecret;
  if (apiKey === undefined) {
    simulator = await startRunwaySimulator({ apiKey: 'simulator', generationMs: SIMULATOR_GENERATION_MS, outputScale: 0.5 });
    runwayBaseUrl = simulator.url;
    apiKey = 'simulator';
  }
  const client = new RunwayML({ apiKey, ...(runwayBaseUrl ? { baseURL: runwayBaseUrl } : {}), timeout: 60_000 });
  const gateway = new RunwayGateway(client);

  // Runway's output host is whatever its signed URL names; it must still be https and public.
  const extraOrigins = [...config.mediaOrigins, ...(simulator ? [simulator.url] : [])];
  const fetchOutput: OutputFetcher = async (url) => {
    const image = await downloadImage(url, {
      allowedOrigins: [...runwayOutputOrigin(url), ...extraOrigins],
      maxBytes: MAX_OUTPUT_BYTES,
      timeoutMs: OUTPUT_TIMEOUT_MS,
    });
    return { bytes: image.bytes, type: image.type };
  };

  // The simulator answers in seconds and has no 5 s polling rule: poll it faster so a demo feels live.
  const pollIntervalMs = simulator ? Math.min(config.runway.pollIntervalMs, 1_000) : config.runway.pollIntervalMs;
  const runner = new JobRunner({
    store,
    gateway,
    fetchOutput,
    clock,
    log,
    pollIntervalMs,
    statusIntervalMs: Math.max(pollIntervalMs, 250),
    ...(simulator ? { firstDurationGuessMs: SIMULATOR_GENERATION_MS } : {}),
    ...(timers ? { timers } : {}),
  });
  const core = new Bot({ store, ledger, gateway, runner, clock, log, maxJobsPerMember: maxJobsPerMember ?? DEFAULT_MAX_JOBS_PER_MEMBER });

  lease.startHeartbeat(
    timers ?? { setTimeout, clearTimeout },
    () => {
      log.error('another instance took over this database (this one stalled past its lease); stopping work', { instanceId: lease.identity.instanceId });
      void runner.stop();
      onLeaseLost?.();
    },
    (error) => log.warn('could not renew the instance lease; retrying', { error }),
  );

  return {
    core,
    runner,
    db,
    simulator,
    registerSurface: (surface) => runner.registerSurface(surface),
    async start() {
      // Recovery: the jobs of the instance we replaced (and any whose lease lapsed) are ours now.
      const taken = store.takeOver(previousHolder);
      if (taken.length > 0) log.info('recovering unfinished jobs', { jobs: taken.length, previousHolder });
      await core.recoverQueued(taken.filter((job) => job.state === 'queued').map((job) => job.id));
      await runner.start();
    },
    async stop() {
      await runner.stop();
      // Jobs and the database handed back at once: the next start need not wait out a lease.
      store.release();
      lease.release();
      await simulator?.close();
      db.close();
    },
  };
}

/**
 * The origin of a Runway output URL, admitted for its own download when it is https and not an
 * IP literal on a private network. Listing an origin is how an operator consents to reaching a
 * private address (src/media/download.ts), and Runway's answer must not be able to give that consent.
 */
function runwayOutputOrigin(url: string): string[] {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:') return [];
    if (isIpLiteral(parsed.hostname) && !isPublicAddress(parsed.hostname)) return [];
    return [parsed.origin];
  } catch {
    return [];
  }
}
