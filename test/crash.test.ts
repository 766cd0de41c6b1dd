/**
 * Crash tests (design §3, "SIGKILL loses nothing"): the sandbox bot runs as a real process against
 * the Runway simulator, is killed with SIGKILL while a job sits in one state, and is started again
 * on the same database with no input, so it recovers, finishes and exits. Afterwards every image
 * has arrived exactly once, Runway made no task twice, and every credit is accounted for.
 *
 * The short-lived states are held deterministically: the simulator's gates hold uploads, creates
 * and output downloads, and its clock is paused to keep tasks PENDING or RUNNING. States are read
 * from the bot's SQLite file, read-only.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunwaySimulator, SimulatorOptions } from '../simulator/index.ts';
import { readJobs, readLedger, requestNumberOf, type JobView, type LedgerEntry } from './support/bot-database.ts';
import { createCalls, expectAccountedFor as expectContractKept, type Outcome } from './support/sandbox-accounting.ts';
import { startBot, type BotExit, type BotProcess } from './support/bot-process.ts';
import type { PausableClock } from './support/pausable-clock.ts';
import { arrangeSandboxWorld, SANDBOX_ALLOWANCE as ALLOWANCE, SANDBOX_PENDING_MS as PENDING_MS } from './support/sandbox-world.ts';
import { waitFor } from './support/wait-for.ts';

const API_KEY = 'key_crash_test';

interface Scene {
  readonly sim: RunwaySimulator;
  readonly clock: PausableClock;
  readonly databasePath: string;
  readonly outputDir: string;
  readonly referencePath: string;
  /** Start the bot: `open` to type commands, `closed` to let it recover and exit. */
  start(input: 'open' | 'closed'): BotProcess;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function arrange(options: Partial<SimulatorOptions> = {}): Promise<Scene> {
  const { dir, sim, clock, referencePath, outputDir, env: shared } = await arrangeSandboxWorld('imagine-crash-', API_KEY, cleanups, options);
  const databasePath = join(dir, 'bot.sqlite');
  const env = { ...shared, DATABASE_PATH: databasePath, LOG_LEVEL: 'warn' };
  return {
    sim,
    clock,
    databasePath,
    outputDir,
    referencePath,
    start: (input) => {
      const bot = startBot({ env, input });
      cleanups.push(async () => void (await bot.kill()));
      return bot;
    },
  };
}

/** Wait (bounded) until the jobs table satisfies `ready`; fails at once if the bot died. */
function jobsWhen(scene: Scene, bot: BotProcess, what: string, ready: (jobs: JobView[]) => boolean): Promise<JobView[]> {
  return waitFor(what, () => {
    bot.assertAlive();
    const jobs = readJobs(scene.databasePath);
    return ready(jobs) ? jobs : undefined;
  });
}

/** SIGKILL the bot; return the ledger as it stood at the crash. */
async function crash(scene: Scene, bot: BotProcess): Promise<LedgerEntry[]> {
  const exit = await bot.kill();
  expect(exit.signal).toBe('SIGKILL');
  return readLedger(scene.databasePath);
}

/** Start again with no input: the sandbox recovers, finishes every unfinished job and exits 0. */
async function restartAndFinish(scene: Scene): Promise<BotProcess> {
  const bot = scene.start('closed');
  let exit: BotExit | undefined;
  void bot.exited.then((value) => (exit = value));
  // Bounded: a job that recovery forgot keeps the sandbox waiting for ever.
  await waitFor('the restarted bot to finish every job and exit', () => exit, { timeoutMs: 30_000 }).catch((error: unknown) => {
    throw new Error(`${String(error)}\nstdout:\n${bot.stdout()}\nstderr:\n${bot.stderr()}\njobs: ${JSON.stringify(readJobs(scene.databasePath).map((j) => j.state))}`);
  });
  expect(exit, `restart stderr:\n${bot.stderr()}\nstdout:\n${bot.stdout()}`).toEqual({ code: 0, signal: null });
  return bot;
}

/** The whole contract after a crash and restart (test/support/sandbox-accounting.ts), on the SQLite file. */
async function expectAccountedFor(scene: Scene, runs: readonly BotProcess[], atCrash: readonly LedgerEntry[], outcomes: Record<number, Outcome>): Promise<void> {
  await expectContractKept(
    {
      sim: scene.sim,
      apiKey: API_KEY,
      allowance: ALLOWANCE,
      outputDir: scene.outputDir,
      jobs: readJobs(scene.databasePath),
      ledger: readLedger(scene.databasePath),
      ledgerAtCrash: atCrash,
      stdout: runs.map((run) => run.stdout()).join(''),
      ledgerIds: 'dense',
    },
    outcomes,
  );
}

const stateOf = (jobs: JobView[], request: number) => jobs.find((job) => requestNumberOf(job) === request)?.state;

describe('a bot killed with SIGKILL and restarted', () => {
  it('killed while a reference uploads (queued): the request is rejected, nothing is charged, and the user is told', async () => {
    const scene = await arrange();
    const uploads = scene.sim.holdUploads();
    const bot = scene.start('open');
    bot.send(`/imagine a koi pond in the style of @image1 --ref ${scene.referencePath}`);
    await jobsWhen(scene, bot, 'the job queued with its upload held', (jobs) => stateOf(jobs, 1) === 'queued' && uploads.waiting === 1);
    const atCrash = await crash(scene, bot);
    await waitFor('the simulator to see the upload hang up', () => uploads.waiting === 0);
    uploads.release();

    const restarted = await restartAndFinish(scene);
    expect(restarted.stdout()).toContain('[#1] failed (recovery.references_lost): The bot was interrupted while your reference images were being prepared (a restart, or its database was out of reach). Nothing was charged');
    expect(createCalls(scene.sim)).toBe(0);
    await expectAccountedFor(scene, [bot, restarted], atCrash, { 1: 'rejected' });
  });

  it('killed while waiting in the local queue for a Runway slot (reserved): both images arrive once', async () => {
    const scene = await arrange({ maxConcurrent: 1 });
    scene.clock.pause(); // the first task stays PENDING at Runway, so the second must wait its turn
    const bot = scene.start('open');
    bot.send('/imagine a koi pond at dawn');
    bot.send('/as alice');
    bot.send('/imagine a heron in the reeds --ratio 16:9');
    await jobsWhen(scene, bot, '#1 at Runway and #2 waiting locally', (jobs) => stateOf(jobs, 1) === 'submitted' && stateOf(jobs, 2) === 'reserved');
    const atCrash = await crash(scene, bot);
    scene.clock.resume();

    const restarted = await restartAndFinish(scene);
    expect(createCalls(scene.sim)).toBe(2);
    await expectAccountedFor(scene, [bot, restarted], atCrash, { 1: 'delivered', 2: 'delivered' });
  });

  it('killed while tasks are in flight at Runway (submitted and running): each is polled to the end, never created again', async () => {
    // Runway's estimate (6) differs from the catalogue price, so the hold is adjusted before the crash.
    const scene = await arrange({ costOverride: () => 6 });
    scene.clock.pause();
    const bot = scene.start('open');
    bot.send('/imagine a lighthouse in a storm');
    await jobsWhen(scene, bot, '#1 submitted', (jobs) => stateOf(jobs, 1) === 'submitted');
    scene.clock.advance(PENDING_MS + 100); // #1 starts generating at the simulator
    await jobsWhen(scene, bot, '#1 running', (jobs) => stateOf(jobs, 1) === 'running');
    bot.send('/as bob');
    bot.send('/imagine a fox in the snow --ratio portrait');
    await jobsWhen(scene, bot, '#1 running and #2 submitted', (jobs) => stateOf(jobs, 1) === 'running' && stateOf(jobs, 2) === 'submitted');
    const atCrash = await crash(scene, bot);
    expect(atCrash.filter((entry) => entry.kind === 'adjust')).toHaveLength(2);
    scene.clock.resume();

    const restarted = await restartAndFinish(scene);
    expect(createCalls(scene.sim)).toBe(2);
    await expectAccountedFor(scene, [bot, restarted], atCrash, { 1: 'delivered', 2: 'delivered' });
  });

  it('stopped with SIGTERM mid-generation: it exits cleanly without failing the job, and a restart delivers it once', async () => {
    const scene = await arrange();
    scene.clock.pause();
    const bot = scene.start('open');
    bot.send('/imagine a harbour at night');
    await jobsWhen(scene, bot, '#1 submitted', (jobs) => stateOf(jobs, 1) === 'submitted');
    const exit = await bot.terminate();
    expect(exit).toEqual({ code: 0, signal: null });
    // Draining is not cancelling: the job is still at Runway, its credits still held.
    expect(stateOf(readJobs(scene.databasePath), 1)).toBe('submitted');
    const atStop = readLedger(scene.databasePath);
    expect(atStop.map((entry) => entry.kind)).toEqual(['allowance', 'reserve']);
    scene.clock.resume();

    const restarted = await restartAndFinish(scene);
    expect(createCalls(scene.sim)).toBe(1);
    await expectAccountedFor(scene, [bot, restarted], atStop, { 1: 'delivered' });
  });

  it('killed while the finished images download (succeeded), and again while recovering: each is fetched again and delivered once', async () => {
    const scene = await arrange();
    const outputs = scene.sim.holdOutputs();
    const bot = scene.start('open');
    bot.send('/imagine a paper crane');
    bot.send('/as carol');
    bot.send('/imagine a glass teapot --ratio square');
    await jobsWhen(scene, bot, 'both succeeded with their downloads held', (jobs) => stateOf(jobs, 1) === 'succeeded' && stateOf(jobs, 2) === 'succeeded' && outputs.waiting === 2);
    const atCrash = await crash(scene, bot);
    await waitFor('the simulator to see the downloads hang up', () => outputs.waiting === 0);

    // Killed again while recovering, its fresh downloads held as well: recovery is itself crash-safe.
    const recovering = scene.start('closed');
    await waitFor('the recovering bot to download both images again', () => (recovering.assertAlive(), outputs.waiting === 2));
    await crash(scene, recovering);
    await waitFor('the simulator to see those downloads hang up', () => outputs.waiting === 0);
    outputs.release();

    const restarted = await restartAndFinish(scene);
    expect(createCalls(scene.sim)).toBe(2);
    await expectAccountedFor(scene, [bot, recovering, restarted], atCrash, { 1: 'delivered', 2: 'delivered' });
  });

  it('killed while the create call is in flight (submitting): refunded and told, and the create is never resent', async () => {
    const scene = await arrange();
    const creates = scene.sim.holdCreates();
    const bot = scene.start('open');
    bot.send('/imagine a bonsai on a cliff');
    await jobsWhen(scene, bot, 'the job submitting with its create held', (jobs) => stateOf(jobs, 1) === 'submitting' && creates.waiting === 1);
    const atCrash = await crash(scene, bot);
    await waitFor('the simulator to see the create hang up', () => creates.waiting === 0);
    creates.release();

    const restarted = await restartAndFinish(scene);
    expect(restarted.stdout()).toContain('[#1] failed (runway.create_uncertain)');
    expect(createCalls(scene.sim)).toBe(1);
    await expectAccountedFor(scene, [bot, restarted], atCrash, { 1: 'failed' });
  });
});
