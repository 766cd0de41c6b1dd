/**
 * Measures 1 and 2: the delay from a task's success at Runway to the image in hand, and the Runway
 * task calls per image, for the bot and, in the same run against the same simulator with the same
 * requests, for the usual pattern: `textToImage.create(…).waitForTaskOutput()` then a download,
 * one per job, concurrently. The simulator keys each task's times to its request, so the bot's job
 * i and the usual pattern's job i wait and generate for exactly as long.
 *
 * Two phases: cold (a fresh database) and warm (the same database after a restart, holding the
 * cold phase's jobs as history). Jobs arrive over time through the real core (app.core.imagine);
 * the simulator's recorded requests and task timings (finishedAtMs) are the ground truth.
 */
import RunwayML from '@runwayml/sdk';
import type { App } from '../src/app.ts';
import { startRunwaySimulator, type ProgressShape, type RecordedRequest, type RunwaySimulator, type Spread } from '../simulator/index.ts';
import { imagineOptions, requesterFor, sleep, startBenchApp } from './harness.ts';
import { fixed, printSection, printTable, spreadOf } from './report.ts';

export interface LatencyBenchOptions {
  readonly dir: string;
  /** Jobs per phase (cold, then warm), for each of the bot and the usual pattern. */
  readonly jobs: number;
  readonly arrivalEveryMs: number;
  readonly pollIntervalMs: number;
  readonly generationMs: Spread;
  readonly pendingMs: Spread;
  readonly progress: ProgressShape;
  readonly outputScale: number;
}

/** One job's story, whichever client ran it. */
interface Trace {
  readonly order: number;
  readonly taskId: string;
  readonly createdAtMs: number;
  readonly finishedAtMs: number;
  /** GET /v1/tasks/:id, in order. */
  readonly polls: readonly RecordedRequest[];
  /** The poll that saw SUCCEEDED. */
  readonly successPollAtMs: number;
  readonly inHandAtMs: number;
}

interface PhaseResult {
  readonly name: 'cold' | 'warm';
  readonly bot: readonly Trace[];
  readonly usual: readonly Trace[];
  readonly botFailures: number;
  readonly creates: number;
  readonly organizationReads: number;
  readonly wallMs: number;
}

const API_KEY = 'bench-key';
const MODEL = 'gen4_image';
const RATIO = '1280:720';

/** The targets, as the bot's figure over the usual pattern's in the same run. */
const TARGETS = { median: 1 / 3, p95: 1 / 2, callsPerImage: 1 };

export async function runLatencyBench(o: LatencyBenchOptions): Promise<void> {
  printSection('1+2. Delay from success to image in hand, and Runway task calls per image: the bot vs the usual pattern, same run', {
    jobsPerPhase: `${o.jobs} bot + ${o.jobs} usual`,
    arrivalEveryMs: o.arrivalEveryMs,
    RUNWAY_POLL_INTERVAL_MS: o.pollIntervalMs,
    simGenerationMs: `${o.generationMs.minMs}-${o.generationMs.maxMs}`,
    simPendingMs: `${o.pendingMs.minMs}-${o.pendingMs.maxMs}`,
    simSlowStartMs: o.progress.slowStartMs,
    simPaceNoise: o.progress.noise,
    model: `${MODEL} ${RATIO}, text only`,
  });
  const simulator = await startRunwaySimulator({
    apiKey: API_KEY,
    generationMs: o.generationMs,
    pendingMs: o.pendingMs,
    progress: o.progress,
    maxConcurrent: 256,
    maxDailyGenerations: null,
    outputScale: o.outputScale,
    creditBalance: 10_000_000,
  });
  // The usual pattern: the SDK as its README shows it, against the same simulator.
  const client = new RunwayML({ apiKey: API_KEY, baseURL: simulator.url, timeout: 60_000 });
  try {
    const cold = await runPhase('cold', o, simulator, client, 0);
    const warm = await runPhase('warm', o, simulator, client, o.jobs);
    for (const phase of [cold, warm]) printPhase(phase, o);
    if (process.env.LATENCY_TRACE) for (const phase of [cold, warm]) printTrace(phase);
    printComparison([cold, warm]);
  } finally {
    await simulator.close();
  }
}

async function runPhase(name: 'cold' | 'warm', o: LatencyBenchOptions, simulator: RunwaySimulator, client: RunwayML, firstOrder: number): Promise<PhaseResult> {
  const requestsBefore = simulator.requests.length;
  // The warm phase opens the cold phase's database: a restart, with its history.
  const { app, surface } = await startBenchApp({ simulatorUrl: simulator.url, apiKey: API_KEY, dir: o.dir, pollIntervalMs: o.pollIntervalMs, allowance: 10_000_000 });
  const startedAtMs = Date.now();
  const botJobs: { order: number; jobId: string }[] = [];
  const usualJobs: Promise<{ order: number; taskId: string; inHandAtMs: number }>[] = [];
  const acceptances: Promise<void>[] = [];
  for (let i = 0; i < o.jobs; i++) {
    const order = firstOrder + i;
    acceptances.push(
      app.core.imagine(requesterFor(order, 3, 10), imagineOptions(order, false), `placeholder-${order}`).then((outcome) => {
        if (!outcome.ok) throw new Error(`bench job ${order} refused: ${outcome.code}`);
        botJobs.push({ order, jobId: outcome.jobId });
      }),
    );
    usualJobs.push(usualPattern(client, order));
    await sleep(o.arrivalEveryMs);
  }
  await Promise.all(acceptances);
  const usual = await Promise.all(usualJobs);
  await surface.finished(o.jobs);
  const wallMs = Date.now() - startedAtMs;
  const taskIds = await taskIdsOf(app);
  await app.stop();

  const requests = simulator.requests.slice(requestsBefore);
  const bot = botJobs
    .sort((a, b) => a.order - b.order)
    .flatMap((job) => {
      const delivered = surface.deliveries.get(job.jobId)?.deliveredAtMs;
      const taskId = taskIds.get(job.jobId);
      return delivered === undefined || taskId === undefined ? [] : [traceOf(job.order, taskId, delivered, simulator, requests)];
    });
  return {
    name,
    bot,
    usual: usual.map((u) => traceOf(u.order, u.taskId, u.inHandAtMs, simulator, requests)),
    botFailures: surface.failures.length,
    creates: requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image').length,
    organizationReads: requests.filter((r) => r.path === '/v1/organization').length,
    wallMs,
  };
}

/** `create(...).waitForTaskOutput()`, then the download: the SDK's own loop, which sleeps 4.5–7.5 s between polls and cannot be configured. */
async function usualPattern(client: RunwayML, order: number): Promise<{ order: number; taskId: string; inHandAtMs: number }> {
  const { prompt } = imagineOptions(order, false);
  const task = await client.textToImage.create({ model: MODEL, promptText: prompt, ratio: RATIO }).waitForTaskOutput();
  const url = task.output[0];
  if (url === undefined) throw new Error(`usual pattern job ${order}: no output`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`usual pattern job ${order}: download answered ${response.status}`);
  await response.arrayBuffer();
  return { order, taskId: task.id, inHandAtMs: Date.now() };
}

async function taskIdsOf(app: App): Promise<Map<string, string>> {
  const rows = await app.db.all<{ id: string; task_id: string }>('select id, task_id from jobs where task_id is not null');
  return new Map(rows.map((r) => [r.id, r.task_id]));
}

function traceOf(order: number, taskId: string, inHandAtMs: number, simulator: RunwaySimulator, requests: readonly RecordedRequest[]): Trace {
  const task = simulator.task(taskId);
  if (!task || task.finishedAtMs === undefined) throw new Error(`job ${order}: task ${taskId} did not finish`);
  const finishedAtMs = task.finishedAtMs;
  const polls = requests.filter((r) => r.method === 'GET' && r.path === `/v1/tasks/${taskId}`);
  // A task's state is a function of the clock, so the first GET at or after finishedAtMs is the one that saw SUCCEEDED.
  const successPoll = polls.find((r) => r.at >= finishedAtMs) ?? polls[polls.length - 1];
  return { order, taskId, createdAtMs: task.createdAtMs, finishedAtMs, polls, successPollAtMs: successPoll?.at ?? Number.NaN, inHandAtMs };
}

const delays = (traces: readonly Trace[]): number[] => traces.map((t) => t.inHandAtMs - t.finishedAtMs);
/** Runway task calls per image: its create and every GET of it. */
const callsPerImage = (traces: readonly Trace[]): number => (traces.length === 0 ? Number.NaN : traces.reduce((sum, t) => sum + 1 + t.polls.length, 0) / traces.length);

function printPhase(phase: PhaseResult, o: LatencyBenchOptions): void {
  const row = (label: string, values: number[]): string[] => {
    const s = spreadOf(values);
    return [label, String(s.count), fixed(s.median), fixed(s.p95), fixed(s.max)];
  };
  const { bot, usual } = phase;
  const paired = bot.filter((t) => {
    const twin = usual.find((u) => u.order === t.order);
    return twin !== undefined && twin.finishedAtMs - twin.createdAtMs === t.finishedAtMs - t.createdAtMs;
  }).length;
  printTable(
    `${phase.name === 'cold' ? 'Cold start (fresh database)' : 'Warm start (the same database after a restart)'}: delay from success at Runway to the image in hand (ms; ${(phase.wallMs / 1000).toFixed(1)} s wall)`,
    ['', 'n', 'median', 'p95', 'max'],
    [
      row('usual pattern: finishedAtMs -> downloaded', delays(usual)),
      row('  waiting for a poll: -> SUCCEEDED GET', usual.map((t) => t.successPollAtMs - t.finishedAtMs)),
      row('bot: finishedAtMs -> delivered', delays(bot)),
      row('  waiting for a poll: -> SUCCEEDED GET', bot.map((t) => t.successPollAtMs - t.finishedAtMs)),
      row('  processing: SUCCEEDED GET -> delivered', bot.map((t) => t.inHandAtMs - t.successPollAtMs)),
      row('  bot, first poll found it running', bot.filter((t) => (t.polls[0]?.at ?? Infinity) < t.finishedAtMs).map((t) => t.inHandAtMs - t.finishedAtMs)),
      row('  bot, first poll found it done', bot.filter((t) => (t.polls[0]?.at ?? Infinity) >= t.finishedAtMs).map((t) => t.inHandAtMs - t.finishedAtMs)),
    ],
    [
      `${paired} of ${bot.length} bot jobs took exactly as long at Runway as their twin in the usual pattern (same request); bot failures: ${phase.botFailures}.`,
      `"in hand": the usual pattern's download finished; the bot's delivery handed to the (recording) chat surface, after its checks of the bytes.`,
    ],
  );
  const bands = chunk(bot, Math.max(1, Math.ceil(bot.length / 3)));
  printTable(
    `Bot, ${phase.name}: how its polls fell, by arrival order (ms)`,
    ['jobs', 'real duration (median)', 'first poll after create (median)', 'polls/task (mean)', 'delay (median)'],
    bands.map((band) => [
      `${(band[0]?.order ?? 0) + 1}-${(band[band.length - 1]?.order ?? 0) + 1}`,
      fixed(spreadOf(band.map((t) => t.finishedAtMs - t.createdAtMs)).median),
      fixed(spreadOf(band.map((t) => (t.polls[0]?.at ?? Number.NaN) - t.createdAtMs)).median),
      fixed(band.reduce((sum, t) => sum + t.polls.length, 0) / band.length, 2),
      fixed(spreadOf(delays(band)).median),
    ]),
    [`real duration = PENDING + generation, drawn from ${o.pendingMs.minMs}-${o.pendingMs.maxMs} + ${o.generationMs.minMs}-${o.generationMs.maxMs} ms by request.`],
  );
}

function printTrace(phase: PhaseResult): void {
  for (const t of phase.bot) {
    const rel = (at: number) => ((at - t.createdAtMs) / 1000).toFixed(2);
    console.log(`${phase.name} #${t.order} finish ${rel(t.finishedAtMs)} polls ${t.polls.map((p) => rel(p.at)).join(' ')} delay ${((t.inHandAtMs - t.finishedAtMs) / 1000).toFixed(2)}`);
  }
}

function printComparison(phases: readonly PhaseResult[]): void {
  const rows: string[][] = [];
  for (const phase of phases) {
    const bot = spreadOf(delays(phase.bot));
    const usual = spreadOf(delays(phase.usual));
    const measures: [string, number, number, number, number][] = [
      ['delay, median (ms)', usual.median, bot.median, TARGETS.median, 0],
      ['delay, p95 (ms)', usual.p95, bot.p95, TARGETS.p95, 0],
      ['Runway task calls per image', callsPerImage(phase.usual), callsPerImage(phase.bot), TARGETS.callsPerImage, 2],
    ];
    for (const [label, usualFigure, botFigure, target, decimals] of measures) {
      const ratio = botFigure / usualFigure;
      rows.push([`${phase.name}: ${label}`, fixed(usualFigure, decimals), fixed(botFigure, decimals), fixed(ratio, 2), `<= ${fixed(target, 2)}`, ratio <= target ? 'yes' : 'NO']);
    }
  }
  const creates = phases.reduce((sum, p) => sum + p.creates, 0);
  const tasks = phases.reduce((sum, p) => sum + p.bot.length + p.usual.length, 0);
  printTable(
    'Side by side, same run, same simulator, same requests: the usual pattern (create().waitForTaskOutput(), then a download) vs the bot',
    ['phase: measure', 'usual', 'bot', 'bot / usual', 'target', 'holds'],
    rows,
    [
      `task calls = the create and every GET /v1/tasks/:id (${creates} creates seen for ${tasks} tasks); the bot also reads /v1/organization once per start (${phases.map((p) => p.organizationReads).join(' + ')}), shared by all its images.`,
      'waitForTaskOutput sleeps 4.5-7.5 s between polls and cannot be configured; the bot keeps at least RUNWAY_POLL_INTERVAL_MS between requests about a task, its create included.',
    ],
  );
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
