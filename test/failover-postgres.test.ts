/**
 * Failover (several processes on one PostgreSQL database): two sandbox bots run as real processes
 * on the same DATABASE_URL against the Runway simulator. A is given the requests and killed with
 * SIGKILL while a job sits in one state; B, given nothing, is left running. Once A's job leases
 * (JOB_LEASE_SECONDS=2) run out, B takes its jobs over and finishes them: every image arrives
 * once, Runway makes no task twice, and every credit is accounted for.
 *
 * As in crash.test.ts, the short-lived states are held with the simulator's gates (uploads,
 * creates, output downloads) and its pausable clock, and states are read from the database. The
 * one wait no gate shortens is the lease itself: nothing may be taken over before it expires.
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunwaySimulator, SimulatorOptions } from '../simulator/index.ts';
import { readPostgresJobs, readPostgresLedger, requestNumberOf, type LedgerEntry, type PostgresJobView } from './support/bot-database.ts';
import { startBot, type BotExit, type BotProcess } from './support/bot-process.ts';
import type { PausableClock } from './support/pausable-clock.ts';
import { createCalls, expectAccountedFor, type Outcome } from './support/sandbox-accounting.ts';
import { arrangeSandboxWorld, SANDBOX_ALLOWANCE as ALLOWANCE, SANDBOX_PENDING_MS as PENDING_MS } from './support/sandbox-world.ts';
import { dropTestDatabases, freshPostgresUrl } from './support/test-database.ts';
import { waitFor } from './support/wait-for.ts';

const API_KEY = 'key_failover_test';
const LEASE_SECONDS = 2;
/** Polls of the database: each is a round trip to the shared server while two bots work it. */
const DB_POLL = { intervalMs: 50 };

/** The two bots on one database, each with the id it leases jobs under (its `locked_by`). */
interface Pair {
  /** Typed to, then killed. */
  readonly a: BotProcess;
  /** Sent nothing; it takes A's jobs over. */
  readonly b: BotProcess;
  readonly aId: string;
  readonly bId: string;
}

interface Scene {
  readonly sim: RunwaySimulator;
  readonly clock: PausableClock;
  readonly databaseUrl: string;
  readonly outputDir: string;
  readonly referencePath: string;
  /** Start A and B together on the database (each migrates it if first), both with open input; resolves once both are up. */
  startPair(): Promise<Pair>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => dropTestDatabases());

async function arrange(options: Partial<SimulatorOptions> = {}): Promise<Scene> {
  const { dir, sim, clock, referencePath, outputDir, env: shared } = await arrangeSandboxWorld('imagine-failover-', API_KEY, cleanups, options);
  const databaseUrl = await freshPostgresUrl();
  const env = {
    ...shared,
    DATABASE_URL: databaseUrl,
    JOB_LEASE_SECONDS: String(LEASE_SECONDS),
    // Both processes write to the shared OUTPUT_DIR: a job's file is named for it, whichever process delivers it.
    // Shared, as the README asks of processes on one database (and kept out of the working tree).
    REFERENCE_DIR: join(dir, 'references'),
    // info: each says which instance it is, and B says when it takes jobs over.
    LOG_LEVEL: 'info',
  };
  const start = (): BotProcess => {
    const bot = startBot({ env, input: 'open' });
    cleanups.push(async () => void (await bot.kill()));
    return bot;
  };
  return {
    sim,
    clock,
    databaseUrl,
    outputDir,
    referencePath,
    async startPair() {
      const a = start();
      const b = start();
      const [aId, bId] = await Promise.all([instanceIdOf(a), instanceIdOf(b)]);
      return { a, b, aId, bId };
    },
  };
}

/** The bot's JSON log entries with this message (whole lines only: the last may still be arriving). */
function logged(bot: BotProcess, message: string): Record<string, unknown>[] {
  return bot
    .stderr()
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.message === message);
}

/** The id a bot leases jobs under, from its start line (src/app.ts). */
async function instanceIdOf(bot: BotProcess): Promise<string> {
  const [started] = await waitFor('the bot to open the shared database', () => {
    bot.assertAlive();
    const lines = logged(bot, 'sharing the database with any other imagine-bot on it');
    return lines.length > 0 ? lines : undefined;
  });
  const id = started?.instanceId;
  if (typeof id !== 'string') throw new Error(`no instanceId in ${JSON.stringify(started)}`);
  return id;
}

/** Wait (bounded) until the jobs table satisfies `ready`; fails at once if a bot that should be alive died. */
function jobsWhen(scene: Scene, alive: readonly BotProcess[], what: string, ready: (jobs: PostgresJobView[]) => boolean): Promise<PostgresJobView[]> {
  return waitFor(
    what,
    async () => {
      for (const bot of alive) bot.assertAlive();
      const jobs = await readPostgresJobs(scene.databaseUrl);
      return ready(jobs) ? jobs : undefined;
    },
    DB_POLL,
  );
}

/** What stood in the database when A died. */
interface AtCrash {
  readonly ledger: LedgerEntry[];
  /** When A's leases run out (epoch ms, one per job: a job accepted after a renewal ends later). No job may change hands before its own. */
  readonly leaseEnds: number[];
  readonly jobCount: number;
}

/** SIGKILL A; check every job is still A's (B has touched none of them) and note what stood then. */
async function crash(scene: Scene, pair: Pair): Promise<AtCrash> {
  const exit = await pair.a.kill();
  expect(exit.signal).toBe('SIGKILL');
  const jobs = await readPostgresJobs(scene.databaseUrl);
  expect(jobs.map((job) => job.lockedBy)).toEqual(jobs.map(() => pair.aId));
  return {
    ledger: await readPostgresLedger(scene.databaseUrl),
    leaseEnds: jobs.map((job) => job.lockedUntil ?? Number.NaN),
    jobCount: jobs.length,
  };
}

/**
 * Wait (bounded) until B says it took over every job of A, then check it did as a survivor does: in the
 * sweeps of its running loop, none before the first of A's leases ran out, the last after the last.
 */
async function takenOverByB(scene: Scene, pair: Pair, atCrash: AtCrash): Promise<void> {
  const takenCount = () => logged(pair.b, 'took over jobs whose process stopped renewing them').reduce((sum, entry) => sum + Number(entry.jobs), 0);
  // The lease plus a renewal period (a quarter of it) at most; bounded generously for a loaded machine.
  await waitFor('B to take over every job of A', () => (pair.b.assertAlive(), takenCount() >= atCrash.jobCount), DB_POLL).catch((error: unknown) => {
    throw new Error(`${String(error)}\nB's stderr:\n${pair.b.stderr()}`);
  });
  expect(takenCount()).toBe(atCrash.jobCount);
  const jobs = await readPostgresJobs(scene.databaseUrl);
  expect(jobs.map((job) => job.lockedBy)).toEqual(jobs.map(() => pair.bId));
  const sweptAt = logged(pair.b, 'took over jobs whose process stopped renewing them').map((entry) => Date.parse(String(entry.time)));
  expect(Math.min(...sweptAt)).toBeGreaterThanOrEqual(Math.min(...atCrash.leaseEnds));
  expect(Math.max(...sweptAt)).toBeGreaterThanOrEqual(Math.max(...atCrash.leaseEnds));
  // Not taken at B's start (it started before A had any job).
  expect(logged(pair.b, 'recovering unfinished jobs')).toEqual([]);
}

/** End B's input: the sandbox finishes every unfinished job (now all its own) and exits 0. */
async function finishOnB(scene: Scene, pair: Pair): Promise<void> {
  pair.b.endInput();
  let exit: BotExit | undefined;
  void pair.b.exited.then((value) => (exit = value));
  await waitFor('B to finish every job and exit', () => exit, { timeoutMs: 30_000 }).catch(async (error: unknown) => {
    const jobs = await readPostgresJobs(scene.databaseUrl);
    throw new Error(`${String(error)}\nB's stdout:\n${pair.b.stdout()}\nB's stderr:\n${pair.b.stderr()}\njobs: ${JSON.stringify(jobs.map((j) => [j.state, j.lockedBy]))}`);
  });
  expect(exit, `B's stderr:\n${pair.b.stderr()}\nB's stdout:\n${pair.b.stdout()}`).toEqual({ code: 0, signal: null });
}

/** The contract (test/support/sandbox-accounting.ts), and that B, not A, told the user every outcome. */
async function expectFinishedByB(scene: Scene, pair: Pair, atCrash: AtCrash, outcomes: Record<number, Outcome>): Promise<void> {
  const jobs = await readPostgresJobs(scene.databaseUrl);
  await expectAccountedFor(
    {
      sim: scene.sim,
      apiKey: API_KEY,
      allowance: ALLOWANCE,
      outputDir: scene.outputDir,
      jobs,
      ledger: await readPostgresLedger(scene.databaseUrl),
      ledgerAtCrash: atCrash.ledger,
      stdout: pair.a.stdout() + pair.b.stdout(),
      // An identity sequence: a transaction killed with A may have left a gap (see `ledgerIds`).
      ledgerIds: 'increasing',
    },
    outcomes,
  );
  expect(jobs.map((job) => job.lockedBy)).toEqual(jobs.map(() => pair.bId));
  const outcomeLines = (bot: BotProcess) => bot.stdout().split('\n').filter((line) => /^\[#\d+\] (done|failed)/.test(line));
  expect(outcomeLines(pair.a)).toEqual([]);
  expect(outcomeLines(pair.b)).toHaveLength(jobs.length);
}

const stateOf = (jobs: PostgresJobView[], request: number) => jobs.find((job) => requestNumberOf(job) === request)?.state;

describe('two bots on one PostgreSQL database, one killed with SIGKILL: the other takes its jobs over once their leases expire', () => {
  it('killed while a reference uploads (queued): the survivor rejects the request, nothing is charged, and the user is told', async () => {
    const scene = await arrange();
    const uploads = scene.sim.holdUploads();
    const pair = await scene.startPair();
    pair.a.send(`/imagine a koi pond in the style of @image1 --ref ${scene.referencePath}`);
    await jobsWhen(scene, [pair.a, pair.b], 'the job queued with its upload held', (jobs) => stateOf(jobs, 1) === 'queued' && uploads.waiting === 1);
    const atCrash = await crash(scene, pair);
    await waitFor('the simulator to see the upload hang up', () => uploads.waiting === 0);
    uploads.release();

    await takenOverByB(scene, pair, atCrash);
    await finishOnB(scene, pair);
    expect(pair.b.stdout()).toContain('[#1] failed (recovery.references_lost): The bot was interrupted while your reference images were being prepared (a restart, or its database was out of reach). Nothing was charged');
    expect(createCalls(scene.sim)).toBe(0);
    await expectFinishedByB(scene, pair, atCrash, { 1: 'rejected' });
  });

  it('killed while a job waits in the local queue for a Runway slot (reserved): the survivor sends it when the slot frees, and both images arrive once', async () => {
    const scene = await arrange({ maxConcurrent: 1 });
    scene.clock.pause(); // the first task stays PENDING at Runway, so the second must wait its turn
    const pair = await scene.startPair();
    pair.a.send('/imagine a koi pond at dawn');
    pair.a.send('/as alice');
    pair.a.send('/imagine a heron in the reeds --ratio 16:9');
    await jobsWhen(scene, [pair.a, pair.b], '#1 at Runway and #2 waiting locally', (jobs) => stateOf(jobs, 1) === 'submitted' && stateOf(jobs, 2) === 'reserved');
    const atCrash = await crash(scene, pair);

    await takenOverByB(scene, pair, atCrash);
    // Still waiting: the slot is Runway's, and A's task holds it until it finishes.
    expect(stateOf(await readPostgresJobs(scene.databaseUrl), 2)).toBe('reserved');
    scene.clock.resume();
    await finishOnB(scene, pair);
    expect(createCalls(scene.sim)).toBe(2);
    await expectFinishedByB(scene, pair, atCrash, { 1: 'delivered', 2: 'delivered' });
  });

  it('killed while the create call is in flight (submitting): the survivor refunds and tells, and the create is never resent', async () => {
    const scene = await arrange();
    const creates = scene.sim.holdCreates();
    const pair = await scene.startPair();
    pair.a.send('/imagine a bonsai on a cliff');
    await jobsWhen(scene, [pair.a, pair.b], 'the job submitting with its create held', (jobs) => stateOf(jobs, 1) === 'submitting' && creates.waiting === 1);
    const atCrash = await crash(scene, pair);
    await waitFor('the simulator to see the create hang up', () => creates.waiting === 0);
    creates.release();

    await takenOverByB(scene, pair, atCrash);
    await finishOnB(scene, pair);
    expect(pair.b.stdout()).toContain('[#1] failed (runway.create_uncertain)');
    expect(createCalls(scene.sim)).toBe(1);
    await expectFinishedByB(scene, pair, atCrash, { 1: 'failed' });
  });

  it('killed while tasks are in flight at Runway (submitted and running): the survivor polls each to the end, never creating it again', async () => {
    // Runway's estimate (6) differs from the catalogue price, so the hold is adjusted before the crash.
    const scene = await arrange({ costOverride: () => 6 });
    scene.clock.pause();
    const pair = await scene.startPair();
    pair.a.send('/imagine a lighthouse in a storm');
    await jobsWhen(scene, [pair.a, pair.b], '#1 submitted', (jobs) => stateOf(jobs, 1) === 'submitted');
    scene.clock.advance(PENDING_MS + 100); // #1 starts generating at the simulator
    await jobsWhen(scene, [pair.a, pair.b], '#1 running', (jobs) => stateOf(jobs, 1) === 'running');
    pair.a.send('/as bob');
    pair.a.send('/imagine a fox in the snow --ratio portrait');
    await jobsWhen(scene, [pair.a, pair.b], '#1 running and #2 submitted', (jobs) => stateOf(jobs, 1) === 'running' && stateOf(jobs, 2) === 'submitted');
    const atCrash = await crash(scene, pair);
    expect(atCrash.ledger.filter((entry) => entry.kind === 'adjust')).toHaveLength(2);
    // Resumed before B looks: two readings of a task frozen by the paused clock would tell B its pace
    // is nil, and B would rightly wait long before asking again (as after any stalled task).
    scene.clock.resume();

    await takenOverByB(scene, pair, atCrash);
    await finishOnB(scene, pair);
    expect(createCalls(scene.sim)).toBe(2);
    await expectFinishedByB(scene, pair, atCrash, { 1: 'delivered', 2: 'delivered' });
  });

  it('killed while the finished images download (succeeded): the survivor fetches them again and delivers each once', async () => {
    const scene = await arrange();
    const outputs = scene.sim.holdOutputs();
    const pair = await scene.startPair();
    pair.a.send('/imagine a paper crane');
    pair.a.send('/as carol');
    pair.a.send('/imagine a glass teapot --ratio square');
    await jobsWhen(scene, [pair.a, pair.b], 'both succeeded with their downloads held', (jobs) => stateOf(jobs, 1) === 'succeeded' && stateOf(jobs, 2) === 'succeeded' && outputs.waiting === 2);
    const atCrash = await crash(scene, pair);
    await waitFor('the simulator to see the downloads hang up', () => outputs.waiting === 0);

    await takenOverByB(scene, pair, atCrash);
    // B's own downloads reach the gate: it is B that fetches the images again.
    await waitFor('B to download both images again', () => (pair.b.assertAlive(), outputs.waiting === 2));
    outputs.release();
    await finishOnB(scene, pair);
    expect(createCalls(scene.sim)).toBe(2);
    await expectFinishedByB(scene, pair, atCrash, { 1: 'delivered', 2: 'delivered' });
  });
});
