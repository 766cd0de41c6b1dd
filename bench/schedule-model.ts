/**
 * Measure 1 again, modelled rather than run: the poll schedule's pure functions
 * (src/runway/poll-schedule.ts) and the usual pattern's poll loop (4.5-7.5 s between polls, the
 * first 4.5-7.5 s after the create) against the simulator's progress model (simulator/tasks.ts
 * progressAt), over thousands of tasks in virtual time. It takes a second where the real-time
 * latency run takes minutes and 30 jobs; it leaves out the HTTP, the database and the runner's
 * tick, so it says what the schedule can do, and how that depends on how Runway's progress behaves.
 * Deterministic (a seeded generator), so its figures repeat.
 */
import { afterRunningPollAt, afterWaitingPollAt, estimateFinishedAt, firstPollAt, learnFrom, NOTHING_LEARNED, type TaskSoFar } from '../src/runway/poll-schedule.ts';
import { progressAt, type ProgressShape } from '../simulator/tasks.ts';
import { fixed, printSection, printTable, spreadOf } from './report.ts';

export interface ScheduleModelOptions {
  readonly tasks: number;
  readonly pollIntervalMs: number;
  readonly seed: number;
}

interface Scenario {
  readonly name: string;
  readonly pendingMs: readonly [number, number];
  readonly generationMs: readonly [number, number];
  readonly progress: ProgressShape;
}

interface ModelTask {
  readonly pendingMs: number;
  readonly generationMs: number;
  readonly waves: number;
  readonly sign: 1 | -1;
}

interface Outcome {
  readonly delaysMs: number[];
  readonly callsPerImage: number;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'as the latency run: PENDING 200-600 ms, 5-15 s, slow start 800 ms, pace ±8 %', pendingMs: [200, 600], generationMs: [5_000, 15_000], progress: { slowStartMs: 800, noise: 0.08 } },
  { name: 'a toy: PENDING 300 ms, 5-15 s, linear', pendingMs: [300, 300], generationMs: [5_000, 15_000], progress: { slowStartMs: 0, noise: 0 } },
  { name: 'busier: PENDING 300-3 000 ms, 5-15 s, slow start 800 ms, pace ±8 %', pendingMs: [300, 3_000], generationMs: [5_000, 15_000], progress: { slowStartMs: 800, noise: 0.08 } },
  { name: 'longer: PENDING 200-600 ms, 10-40 s, slow start 800 ms, pace ±8 %', pendingMs: [200, 600], generationMs: [10_000, 40_000], progress: { slowStartMs: 800, noise: 0.08 } },
  { name: 'noisier: PENDING 200-600 ms, 5-15 s, slow start 1 500 ms, pace ±15 %', pendingMs: [200, 600], generationMs: [5_000, 15_000], progress: { slowStartMs: 1_500, noise: 0.15 } },
];

export function runScheduleModel(o: ScheduleModelOptions): void {
  printSection('1 (modelled). The poll schedule vs the usual pattern in virtual time, over progress models', {
    tasksPerScenario: o.tasks,
    RUNWAY_POLL_INTERVAL_MS: o.pollIntervalMs,
    seed: o.seed,
    history: 'cold = nothing learned, 30 tasks at a time; warm = 40 tasks learned first',
  });
  const rows: string[][] = [];
  for (const scenario of SCENARIOS) {
    const random = seeded(o.seed);
    const draw = (): ModelTask => ({
      pendingMs: between(scenario.pendingMs, random()),
      generationMs: between(scenario.generationMs, random()),
      waves: 1 + Math.floor(random() * 3),
      sign: random() < 0.5 ? 1 : -1,
    });
    const tasks = Array.from({ length: o.tasks }, draw);
    const usual = usualPattern(tasks, random);
    // Cold: fresh databases of 30 tasks each, as the latency run's cold phase.
    const cold: Outcome[] = [];
    for (let i = 0; i + 30 <= tasks.length; i += 30) cold.push(schedule(tasks.slice(i, i + 30), [], scenario.progress, o.pollIntervalMs, random));
    const history: number[] = [];
    schedule(Array.from({ length: 40 }, draw), history, scenario.progress, o.pollIntervalMs, random);
    const warm = schedule(tasks, history, scenario.progress, o.pollIntervalMs, random);
    const merged = { delaysMs: cold.flatMap((c) => c.delaysMs), callsPerImage: cold.reduce((sum, c) => sum + c.callsPerImage, 0) / cold.length };
    const u = spreadOf(usual.delaysMs);
    for (const [phase, outcome] of [['cold', merged], ['warm', warm]] as const) {
      const s = spreadOf(outcome.delaysMs);
      rows.push([
        `${scenario.name}, ${phase}`,
        `${fixed(s.median)} / ${fixed(u.median)}`,
        fixed(s.median / u.median, 2),
        `${fixed(s.p95)} / ${fixed(u.p95)}`,
        fixed(s.p95 / u.p95, 2),
        `${fixed(outcome.callsPerImage, 2)} / ${fixed(usual.callsPerImage, 2)}`,
        fixed(outcome.callsPerImage / usual.callsPerImage, 2),
      ]);
    }
  }
  printTable(
    'Delay from success to the poll that sees it (ms), and task calls (create + polls) per image: schedule / usual pattern',
    ['progress model, history', 'median', 'ratio', 'p95', 'ratio', 'calls', 'ratio'],
    rows,
    ['no HTTP, database or tick: the real-time latency run adds the bot\'s processing (tens of ms) and the usual pattern\'s download.'],
  );
}

/** The bot's schedule over `tasks` in order, learning from each success as the runner does (the history is the database). */
function schedule(tasks: readonly ModelTask[], history: number[], shape: ProgressShape, minIntervalMs: number, random: () => number): Outcome {
  const timing = { minIntervalMs, random };
  const delaysMs: number[] = [];
  let calls = 0;
  for (const task of tasks) {
    const learned = history.length > 0 ? learnFrom({ durationsMs: history.slice(-20) }) : NOTHING_LEARNED;
    let row: TaskSoFar & { lastUnfinishedAtMs: number | null } = { submittedAtMs: 0, waitingSeenAtMs: null, previous: null, lastUnfinishedAtMs: null };
    let at = firstPollAt(timing, 0, learned);
    calls += 1;
    for (;;) {
      calls += 1;
      const finishedAt = task.pendingMs + task.generationMs;
      if (at >= finishedAt) {
        delaysMs.push(at - finishedAt);
        history.push(estimateFinishedAt(at, row, learned));
        break;
      }
      if (at < task.pendingMs) {
        row = { ...row, waitingSeenAtMs: row.previous === null ? at : row.waitingSeenAtMs, lastUnfinishedAtMs: at };
        at = afterWaitingPollAt(timing, at, learned);
        continue;
      }
      const progress = Math.min(0.99, progressAt(at - task.pendingMs, task.generationMs, shape, task.waves, task.sign));
      const plan = afterRunningPollAt(timing, at, row, progress, learned);
      row = { ...row, previous: { atMs: at, progress }, lastUnfinishedAtMs: at };
      at = plan.nextPollAtMs;
    }
  }
  return { delaysMs, callsPerImage: calls / tasks.length };
}

/** waitForTaskOutput: a wait of 4.5-7.5 s from the create, then a poll, and again until done. */
function usualPattern(tasks: readonly ModelTask[], random: () => number): Outcome {
  const delaysMs: number[] = [];
  let calls = 0;
  for (const task of tasks) {
    const finishedAt = task.pendingMs + task.generationMs;
    let at = 4_500 + 3_000 * random();
    calls += 1;
    for (;;) {
      calls += 1;
      if (at >= finishedAt) break;
      at += 4_500 + 3_000 * random();
    }
    delaysMs.push(at - finishedAt);
  }
  return { delaysMs, callsPerImage: calls / tasks.length };
}

function between([low, high]: readonly [number, number], unit: number): number {
  return low + (high - low) * unit;
}

/** A small deterministic generator (mulberry32): the model's figures repeat from run to run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
