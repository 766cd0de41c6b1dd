import RunwayML from '@runwayml/sdk';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Bot } from './bot.ts';
import type { Clock, Timers } from './clock.ts';
import type { Config } from './config.ts';
import type { ServedCommunities } from './communities/admission.ts';
import { CreditLedger } from './credits/ledger.ts';
import { Moderation } from './moderation/moderation.ts';
import { JOB_MOVED } from './imagine/acceptance-failures.ts';
import { BotError } from './errors.ts';
import type { JobIn, ReferenceUri } from './jobs/job.ts';
import { JobStore } from './jobs/job-store.ts';
import { ReferenceStore } from './jobs/reference-store.ts';
import { ReferenceSweep } from './jobs/reference-sweep.ts';
import { hasStaleUpload, reuploadStale } from './jobs/references.ts';
import { JobRunner, type OutputFetcher } from './jobs/runner.ts';
import type { Logger } from './log.ts';
import { isIpLiteral, isPublicAddress } from './media/address.ts';
import { downloadImage, onDownloadRefused } from './media/download.ts';
import { offerModels } from './models.ts';
import type { ChatSurface, DeliveryDedupe } from './ports.ts';
import { RunwayGateway } from './runway/gateway.ts';
import { OrganizationWatch } from './runway/organization-watch.ts';
import { BackupSchedule } from './service/backups.ts';
import { RunwayReachability } from './service/health.ts';
import { BotMetrics } from './service/metrics.ts';
import { openSqliteDatabase } from './store/database.ts';
import type { Database } from './store/sql.ts';
import { SqliteDatabase } from './store/sqlite-sql.ts';
import { acquireInstanceLease, InstanceLeaseHeld, sharedDatabaseLease, type AcquireOutcome, type InstanceIdentity, type ProcessLease } from './store/instance-lease.ts';
import { openPostgres } from './store/open-postgres.ts';
import { databaseDeliveryDedupe } from './store/deliveries.ts';



/** Finished images can be large (4K PNGs); Runway's own limit is far above chat limits. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const OUTPUT_TIMEOUT_MS = 120_000;

export interface App {
  readonly core: Bot;
  readonly runner: JobRunner;
  readonly db: Database;
  /** What GET /metrics shows (src/service/metrics.ts). */
  readonly metrics: BotMetrics;
  /** Whether Runway answers, from the calls the core makes: the `runway` part of /readyz. */
  readonly runwayReachability: RunwayReachability;
  /** Automatic backups when BACKUP_DIR is set, started with the core; null otherwise. */
  readonly backups: BackupSchedule | null;
  /** The bot's copy of reference images, and its sweep. */
  readonly referenceStore: ReferenceStore;
  readonly referenceSweep: ReferenceSweep;
  registerSurface(surface: ChatSurface): void;
  /** A platform's deliveries (Slack's events, commands, clicks), each worked once by whichever process on the database claims it. */
  deliveryDedupe(platform: string): DeliveryDedupe;
  /** Resume unfinished jobs and start the scheduler: call after every adapter has registered. */
  start(): Promise<void>;
  /** Drain gracefully: wait for work in progress, then close the database. */
  stop(): Promise<void>;
}

/**
 * Which Runway API to talk to. The composition root chooses it (Runway itself, a proxy, or the
 * simulator it started), so the core never knows whether a simulator exists.
 */
export interface RunwayConnection {
  readonly apiKey: string;
  /** Default: Runway's own API. */
  readonly baseUrl?: string;
  /** Origins finished images may also be downloaded from, besides each output URL's own https origin and MEDIA_ORIGINS. */
  readonly extraOutputOrigins?: readonly string[];
  /**
   * Set when the endpoint is a local stand-in that finishes every task in `generationMs` and has no
   * 5 s polling rule: the runner then polls it faster and expects that duration from the first job,
   * so a demo feels live.
   */
  readonly simulated?: { readonly generationMs: number };
}

export interface AppOptions {
  readonly config: Config;
  readonly runway: RunwayConnection;
  readonly clock: Clock;
  readonly log: Logger;
  /** Every timer the core sets (scheduler, download deadlines). Tests pass inert ones and drive `runner.tick()` themselves. */
  readonly timers?: Timers;
  /** The operator's lists of communities to serve, per platform name (from the composition root). */
  readonly servedCommunities?: ServedCommunities;
  /** Who this process is for the instance lease; tests stand in for another host or pid. Default: this host and pid. */
  readonly instance?: Partial<Omit<InstanceIdentity, 'instanceId'>> & { readonly isAlive?: (pid: number) => boolean };
  /** Called once if another instance took the database's lease from us (we stalled past its expiry); work has stopped. */
  readonly onLeaseLost?: () => void;
}

/**
 * Build the core: store, ledger, Runway gateway, job runner. Knows no chat platform.
 *
 * On SQLite (DATABASE_PATH) one process works the database: it takes the instance lease first and
 * throws InstanceLeaseHeld, naming the holder, when another bot uses the same file. On PostgreSQL
 * (DATABASE_URL) any number of processes share it, each owning the jobs it leases.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { config, clock, log } = options;
  const identity: InstanceIdentity = {
    instanceId: randomUUID(),
    hostname: options.instance?.hostname ?? hostname(),
    pid: options.instance?.pid ?? process.pid,
  };
  if (config.databaseUrl !== undefined) {
    const db = await openPostgres(config.databaseUrl, {
      clock,
      log: (event) => (event.kind === 'connect_failed' || event.kind === 'connection_lost' ? log.warn(event.message) : log.info(event.message)),
      ...(options.timers ? { timers: options.timers } : {}),
    });
    log.info('sharing the database with any other imagine-bot on it', { database: db.description, instanceId: identity.instanceId });
    return buildGuarded(options, db, sharedDatabaseLease(identity), null);
  }
  const db = openSqliteDatabase(config.databasePath, clock, {
    backupDir: config.backup.dir,
    onUpgradeBackup: (path, fromVersion, toVersion) => log.info('database backed up before its upgrade', { path, fromVersion, toVersion }),
  });
  let acquired: AcquireOutcome;
  try {
    acquired = await acquireInstanceLease(db, identity, clock, options.instance?.isAlive);
  } catch (error) {
    await db.close();
    throw error;
  }
  if (!acquired.ok) {
    await db.close();
    throw new InstanceLeaseHeld(acquired.holder, config.databasePath);
  }
  const { lease, previousHolder } = acquired;
  if (previousHolder !== null) log.info('took over the database from an instance that is gone', { previousHolder, how: acquired.how });
  return buildGuarded(options, db, lease, previousHolder);
}

/** buildApp, giving the lease and the connection back if it throws. */
async function buildGuarded(options: AppOptions, db: Database, lease: ProcessLease, previousHolder: string | null): Promise<App> {
  try {
    return buildApp(options, db, lease, previousHolder);
  } catch (error) {
    await lease.release();
    await db.close();
    throw error;
  }
}

function buildApp(options: AppOptions, db: Database, lease: ProcessLease, previousHolder: string | null): App {
  const { config, runway, clock, log, timers } = options;
  const metrics = new BotMetrics(db, clock);
  const runwayReachability = new RunwayReachability(clock);
  const stopCountingRefusals = onDownloadRefused(metrics.recordDownloadRefusal);
  // The operator's MODELS: what validation, help and Discord's choices offer from now on.
  offerModels(config.models);
  const ledger = new CreditLedger(db, clock, {
    allowance: config.credits.defaultAllowance,
    period: config.credits.defaultPeriod,
    operatorBudget: config.credits.operatorBudget,
    communityBudget: config.credits.communityBudget,
  });
  const store = new JobStore(db, ledger, clock, lease.identity.instanceId, config.jobLeaseMs);

  const client = new RunwayML({ apiKey: runway.apiKey, ...(runway.baseUrl ? { baseURL: runway.baseUrl } : {}), timeout: 60_000 });
  const gateway = new RunwayGateway(client, clock, (call) => {
    metrics.recordRunwayCall(call);
    runwayReachability.record(call);
  });

  // Runway's output host is whatever its signed URL names; it must still be https and public.
  const extraOrigins = [...config.mediaOrigins, ...(runway.extraOutputOrigins ?? [])];
  const fetchOutput: OutputFetcher = async (url) => {
    const image = await downloadImage(url, {
      allowedOrigins: [...runwayOutputOrigin(url), ...extraOrigins],
      maxBytes: MAX_OUTPUT_BYTES,
      timeoutMs: OUTPUT_TIMEOUT_MS,
      ...(timers ? { timers } : {}),
    });
    return { bytes: image.bytes, type: image.type };
  };

  // Every snapshot the runner reads feeds the bot's admission check and the low-balance warning.
  const organization = new OrganizationWatch({ db, clock, log, lowBalanceCredits: config.runwayLowBalanceCredits });

  const { simulated } = runway;
  const pollIntervalMs = simulated ? Math.min(config.runway.pollIntervalMs, 1_000) : config.runway.pollIntervalMs;
  const moderation = new Moderation(db, clock, config.moderationStrikes);
  // Reference images kept beside the database, content-addressed (issue 9, item 4).
  const referenceStore = new ReferenceStore(config.referenceDir, config.referenceStoreMaxBytes);
  const prepareReferences = async (job: JobIn<'submitting'>): Promise<readonly ReferenceUri[]> => {
    const refs = await store.referencesOf(job.id);
    if (refs.length === 0 || !hasStaleUpload(refs, clock.now())) return job.referenceUris ?? [];
    const fresh = await reuploadStale(refs, referenceStore, gateway, () => clock.now());
    if (!(await store.refreshReferences(job.id, fresh))) throw new BotError(JOB_MOVED);
    log.info('references uploaded again before the create', { jobId: job.id, references: fresh.length });
    return fresh.map((ref) => ({ uri: ref.uri, tag: ref.tag }));
  };
  const referenceSweep = new ReferenceSweep({ store, references: referenceStore, clock, log, timers: timers ?? { setTimeout, clearTimeout } });
  const runner = new JobRunner({
    prepareReferences,
    store,
    gateway,
    fetchOutput,
    clock,
    log,
    pollIntervalMs,
    statusIntervalMs: Math.max(pollIntervalMs, 250),
    onOrganization: (snapshot) => organization.observe(snapshot),
    moderationNotice: (job) => moderation.pauseNotice(job.communityId, job.userId, job.userName, job.id),
    // Set below, once the core exists: queued jobs taken over from a dead process are the core's to decide.
    onTakenOver: (jobs): Promise<void> => recoverTakenOver(jobs),
    onSweep: (): Promise<void> => recoverStranded(),
    ...(simulated ? { firstDurationGuessMs: simulated.generationMs } : {}),
    ...(timers ? { timers } : {}),
  });
  const core = new Bot({
    store, ledger, gateway, runner, moderation, organizationGuard: organization, clock, log, referenceStore,
    maxJobsPerMember: config.credits.maxJobsPerMember,
    fetchOutput,
    ...(timers ? { timers } : {}),
    ...(options.servedCommunities ? { servedCommunities: options.servedCommunities } : {}),
  });

  const recoverStranded = (): Promise<void> => core.recoverStranded();
  const recoverTakenOver = (jobs: readonly { readonly id: string; readonly state: string }[]): Promise<void> =>
    core.recoverQueued(jobs.filter((job) => job.state === 'queued').map((job) => job.id));
  const { backup } = config;
  const backups =
    backup.dir !== undefined && backup.everyMs !== null && db instanceof SqliteDatabase
      ? new BackupSchedule({ db: db.raw, databasePath: config.databasePath, dir: backup.dir, everyMs: backup.everyMs, keep: backup.keep, clock, log, ...(timers ? { timers } : {}) })
      : null;

  lease.startHeartbeat(
    timers ?? { setTimeout, clearTimeout },
    () => {
      log.error('another instance took over this database (this one stalled past its lease); stopping work', { instanceId: lease.identity.instanceId });
      void runner.stop();
      options.onLeaseLost?.();
    },
    (error) => log.warn('could not renew the instance lease; retrying', { error }),
  );

  return {
    core,
    runner,
    db,
    metrics,
    runwayReachability,
    backups,
    referenceStore,
    referenceSweep,
    registerSurface: (surface) => runner.registerSurface(surface),
    deliveryDedupe: (platform) => databaseDeliveryDedupe(db, platform, clock),
    async start() {
      // Recovery: the jobs of the instance we replaced (and any whose lease lapsed) are ours now.
      const taken = await store.takeOver(previousHolder);
      if (taken.length > 0) log.info('recovering unfinished jobs', { jobs: taken.length, previousHolder });
      await core.recoverQueued(taken.filter((job) => job.state === 'queued').map((job) => job.id));
      await runner.start();
      backups?.start();
      await referenceSweep.start();
    },
    async stop() {
      await referenceSweep.stop();
      await runner.stop();
      // A backup in progress reads the database: let it finish before the connection closes.
      await backups?.stop();
      stopCountingRefusals();
      // Jobs and the database handed back at once: the next start need not wait out a lease.
      // (A connection already closed under us, as a failing disk would, has nothing to hand back.)
      try {
        await store.release();
        await lease.release();
      } catch (error) {
        log.warn('could not hand the jobs back on stop; they are taken over when their leases expire', { error });
      }
      await db.close();
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
