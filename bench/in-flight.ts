/**
 * Measure 3: how many jobs one bot process carries at once, and at what memory. A burst of jobs
 * is accepted through the real core while the simulator (in a child process, so its own memory
 * and CPU are not counted) lets every one of them run at the same time.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startChild } from './child.ts';
import { imagineOptions, requesterFor, startBenchApp } from './harness.ts';
import { fixed, mebibytes, printSection, printTable, spreadOf } from './report.ts';
import type { SimulatorSummary } from './simulator-process.ts';

export interface InFlightBenchOptions {
  readonly dir: string;
  readonly jobs: number;
  readonly pollIntervalMs: number;
  readonly generationMs: number;
  readonly outputScale: number;
}

const API_KEY = 'bench-key';
const SAMPLE_EVERY_MS = 50;
const COMMUNITIES = 5;
const USERS_PER_COMMUNITY = 10;

interface Sample {
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly inFlight: number;
}

export async function runInFlightBench(o: InFlightBenchOptions): Promise<void> {
  printSection('3. Jobs in flight in one process, and its memory', {
    jobs: o.jobs,
    requesters: `${COMMUNITIES} communities x ${USERS_PER_COMMUNITY} users`,
    RUNWAY_POLL_INTERVAL_MS: o.pollIntervalMs,
    simGenerationMs: o.generationMs,
    simMaxConcurrent: o.jobs * 2,
    outputPng: `${1280 * o.outputScale}x${720 * o.outputScale}`,
    simulator: 'child process',
  });
  const simulator = startChild('./simulator-process.ts', [
    JSON.stringify({ apiKey: API_KEY, generationMs: o.generationMs, pendingMs: 300, maxConcurrent: o.jobs * 2, maxDailyGenerations: 1_000_000, outputScale: o.outputScale, creditBalance: 100_000_000 }),
  ]);
  try {
    const { url } = await simulator.next<{ url: string }>();
    const { app, surface } = await startBenchApp({ simulatorUrl: url, apiKey: API_KEY, dir: o.dir, pollIntervalMs: o.pollIntervalMs, allowance: 100_000_000 });
    const countInFlight = async (): Promise<number> => (await app.db.value<number>(`select count(*) from jobs where state in ('submitted','running')`)) ?? 0;
    const baseline = process.memoryUsage();
    const samples: Sample[] = [];
    const sample = async (): Promise<void> => {
      const atMs = Date.now();
      const m = process.memoryUsage();
      samples.push({ atMs, rss: m.rss, heapUsed: m.heapUsed, external: m.external, inFlight: await countInFlight() });
    };
    // One sample at a time, in order; awaited before the database closes.
    let sampling = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = sampling.then(sample);
    }, SAMPLE_EVERY_MS);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // Where a stall comes from: how late a 10 ms timer fires, during the burst of acceptances and after it.
    const lateness: { atMs: number; lateMs: number }[] = [];
    let expected = performance.now() + 10;
    const lateSampler = setInterval(() => {
      const now = performance.now();
      lateness.push({ atMs: Date.now(), lateMs: Math.max(now - expected, 0) });
      expected = now + 10;
    }, 10);

    // Node's histogram records from its second sample on: let it take one before the burst, or a
    // stall during the burst would go unseen.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const startedAtMs = Date.now();
    const acceptedAtMs: number[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: o.jobs }, (_, i) =>
        app.core.imagine(requesterFor(i, COMMUNITIES, USERS_PER_COMMUNITY), imagineOptions(i, false), `placeholder-${i}`).then((outcome) => {
          acceptedAtMs.push(Date.now() - startedAtMs);
          return outcome;
        }),
      ),
    );
    const acceptMs = Date.now() - startedAtMs;
    const refused = outcomes.filter((x) => !x.ok).length;
    const allInFlight = waitFor(async () => (await countInFlight()) >= o.jobs - refused, 60_000);
    const allInFlightMs = (await allInFlight) ? Date.now() - startedAtMs : Number.NaN;
    await surface.finished(o.jobs - refused);
    const doneMs = Date.now() - startedAtMs;
    clearInterval(sampler);
    await sampling;
    await sample();
    loopDelay.disable();
    clearInterval(lateSampler);
    const acceptedBy = startedAtMs + acceptMs;
    const burstLate = spreadOf(lateness.filter((l) => l.atMs <= acceptedBy).map((l) => l.lateMs));
    const afterLate = spreadOf(lateness.filter((l) => l.atMs > acceptedBy).map((l) => l.lateMs));
    const p99 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.99 * values.length) - 1)] ?? Number.NaN;

    const jobs = await app.db.all<{ id: string; taskId: string | null; submittedAt: number | null }>(`select id, task_id as "taskId", submitted_at as "submittedAt" from jobs`);
    simulator.send('summary');
    const summary = await simulator.next<SimulatorSummary>();
    await app.stop();

    const taskById = new Map(summary.tasks.map((t) => [t.id, t]));
    const traces = jobs.flatMap((job) => {
      const task = job.taskId === null ? undefined : taskById.get(job.taskId);
      const delivered = surface.deliveries.get(job.id)?.deliveredAtMs;
      if (!task || task.finishedAtMs === null || delivered === undefined) return [];
      const finished = task.finishedAtMs;
      const successPollAtMs = task.pollsAtMs.find((at) => at >= finished) ?? Number.NaN;
      return [{ finished, successPollAtMs, outputAtMs: task.outputAtMs ?? Number.NaN, delivered }];
    });
    const peak = (pick: (s: Sample) => number): number => Math.max(...samples.map(pick));
    const peakInFlight = peak((s) => s.inFlight);
    const acceptSpread = spreadOf(acceptedAtMs);
    const submitSpread = spreadOf(jobs.flatMap((j) => (j.submittedAt === null ? [] : [j.submittedAt - startedAtMs])));

    printTable(
      `Timeline of a burst of ${o.jobs} /imagine requests (ms from the first call)`,
      ['milestone', 'ms'],
      [
        ['all accepted (imagine() resolved: stored, reserved, queued)', fixed(acceptMs)],
        ['  median job accepted at', fixed(acceptSpread.median)],
        ['all created at Runway (submitted_at, last)', fixed(submitSpread.max)],
        [`all ${o.jobs - refused} created and in flight together (sampled every ${SAMPLE_EVERY_MS} ms)`, fixed(allInFlightMs)],
        ['all delivered', fixed(doneMs)],
      ],
      [
        `refused: ${refused}; failed: ${surface.failures.length}; delivered: ${surface.deliveries.size}; peak jobs in flight: ${peakInFlight}.`,
        `event-loop delay over the run: p50 ${fixed(loopDelay.percentile(50) / 1e6)} ms, p99 ${fixed(loopDelay.percentile(99) / 1e6)} ms, max ${fixed(loopDelay.max / 1e6)} ms (Node's histogram counts its 10 ms sampling interval: an idle loop reads 10 ms; beyond it, p99 ${fixed(loopDelay.percentile(99) / 1e6 - 10)} ms).`,
        `  a 10 ms timer's lateness: during the burst of acceptances p99 ${fixed(p99(lateness.filter((l) => l.atMs <= acceptedBy).map((l) => l.lateMs)))} ms (max ${fixed(burstLate.max)}, ${burstLate.count} samples: the burst is one synchronous run of ${o.jobs} accepts), after it p99 ${fixed(p99(lateness.filter((l) => l.atMs > acceptedBy).map((l) => l.lateMs)))} ms (max ${fixed(afterLate.max)}).`,
      ],
    );
    printTable(
      'Memory of the bot process (process.memoryUsage(), MiB)',
      ['', 'rss', 'heapUsed', 'external'],
      [
        ['after start, before the burst', mebibytes(baseline.rss), mebibytes(baseline.heapUsed), mebibytes(baseline.external)],
        [`peak during the run (${samples.length} samples)`, mebibytes(peak((s) => s.rss)), mebibytes(peak((s) => s.heapUsed)), mebibytes(peak((s) => s.external))],
        ['peak minus baseline, per job in flight (KiB)', fixed((peak((s) => s.rss) - baseline.rss) / 1024 / Math.max(1, peakInFlight), 1), fixed((peak((s) => s.heapUsed) - baseline.heapUsed) / 1024 / Math.max(1, peakInFlight), 1), '-'],
      ],
      ['rss includes SQLite page cache and the output PNGs being delivered; heap peaks include garbage not yet collected.'],
    );
    const polls = summary.requests['GET /v1/tasks/:id'] ?? 0;
    const row = (label: string, values: number[]): string[] => {
      const s = spreadOf(values);
      return [label, fixed(s.median), fixed(s.p95), fixed(s.max)];
    };
    printTable(
      `Added latency with ${o.jobs} in flight (ms; ${fixed(polls / Math.max(1, summary.tasks.length), 2)} polls per task)`,
      ['part', 'median', 'p95', 'max'],
      [
        row('total: finishedAtMs -> delivered', traces.map((t) => t.delivered - t.finished)),
        row('  waiting for a poll: -> SUCCEEDED GET', traces.map((t) => t.successPollAtMs - t.finished)),
        row('  processing: SUCCEEDED GET -> delivered', traces.map((t) => t.delivered - t.successPollAtMs)),
        row('    GET -> output download requested', traces.map((t) => t.outputAtMs - t.successPollAtMs)),
        row('    output requested -> delivered', traces.map((t) => t.delivered - t.outputAtMs)),
      ],
      [`requests seen by the simulator: ${Object.entries(summary.requests).map(([k, v]) => `${k} ${v}`).join(', ')}.`],
    );
  } finally {
    await simulator.end();
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
