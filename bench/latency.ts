/**
 * Measures 1 and 2: the bot's added latency from a task's success at Runway to the file being
 * delivered, and the Runway calls it makes per image. Jobs arrive one by one through the real core
 * (app.core.imagine) against the in-process simulator, whose recorded requests and task timings
 * (finishedAtMs) are the ground truth.
 */
import { startRunwaySimulator, type RecordedRequest, type RunwaySimulator } from '../simulator/index.ts';
import { imagineOptions, requesterFor, sleep, startBenchApp } from './harness.ts';
import { fixed, printSection, printTable, spreadOf } from './report.ts';

export interface LatencyBenchOptions {
  readonly dir: string;
  readonly jobs: number;
  readonly arrivalEveryMs: number;
  readonly pollIntervalMs: number;
  readonly generationMs: number;
  readonly pendingMs: number;
  readonly outputScale: number;
  /** Every n-th job carries one reference image. */
  readonly referenceEvery: number;
}

interface JobTrace {
  readonly order: number;
  readonly jobId: string;
  readonly withReference: boolean;
  readonly taskId: string;
  readonly createdAtMs: number;
  readonly finishedAtMs: number;
  readonly polls: readonly RecordedRequest[];
  readonly successPollAtMs: number;
  readonly outputRequestAtMs: number;
  readonly deliveredAtMs: number;
}

const API_KEY = 'bench-key';

export async function runLatencyBench(o: LatencyBenchOptions): Promise<void> {
  printSection('1+2. Added latency and Runway calls per image (real core, in-process simulator)', {
    jobs: o.jobs,
    arrivalEveryMs: o.arrivalEveryMs,
    RUNWAY_POLL_INTERVAL_MS: o.pollIntervalMs,
    simGenerationMs: o.generationMs,
    simPendingMs: o.pendingMs,
    withReference: `1 in ${o.referenceEvery}`,
    model: 'gen4_image 1280:720',
  });
  const simulator = await startRunwaySimulator({
    apiKey: API_KEY,
    generationMs: o.generationMs,
    pendingMs: o.pendingMs,
    maxConcurrent: 64,
    outputScale: o.outputScale,
    creditBalance: 1_000_000,
  });
  const { app, surface } = await startBenchApp({ simulatorUrl: simulator.url, apiKey: API_KEY, dir: o.dir, pollIntervalMs: o.pollIntervalMs, allowance: 1_000_000 });
  const startedAtMs = Date.now();
  const accepted: { order: number; jobId: string; withReference: boolean }[] = [];
  const acceptances: Promise<void>[] = [];
  for (let order = 0; order < o.jobs; order++) {
    const withReference = order % o.referenceEvery === o.referenceEvery - 1;
    acceptances.push(
      app.core.imagine(requesterFor(order, 3, 10), imagineOptions(order, withReference), `placeholder-${order}`).then((outcome) => {
        if (!outcome.ok) throw new Error(`bench job ${order} refused: ${outcome.code}`);
        accepted.push({ order, jobId: outcome.jobId, withReference });
      }),
    );
    await sleep(o.arrivalEveryMs);
  }
  await Promise.all(acceptances);
  await surface.finished(o.jobs);
  const wallMs = Date.now() - startedAtMs;
  const taskIds = new Map(
    (app.db.prepare('select id, task_id from jobs').all() as { id: string; task_id: string | null }[]).map((r) => [r.id, r.task_id]),
  );
  await app.stop();
  await simulator.close();

  const traces = accepted
    .sort((a, b) => a.order - b.order)
    .map((job) => traceOf(job, taskIds.get(job.jobId) ?? null, simulator, surface.deliveries.get(job.jobId)?.deliveredAtMs));
  printLatency(traces, o, surface.failures.length, wallMs);
  printCalls(traces, simulator.requests);
}

function traceOf(job: { order: number; jobId: string; withReference: boolean }, taskId: string | null, simulator: RunwaySimulator, deliveredAtMs: number | undefined): JobTrace {
  const task = taskId === null ? undefined : simulator.task(taskId);
  if (!taskId || !task || task.finishedAtMs === undefined || deliveredAtMs === undefined) throw new Error(`job ${job.order} did not finish`);
  const finishedAtMs = task.finishedAtMs;
  const polls = simulator.requests.filter((r) => r.method === 'GET' && r.path === `/v1/tasks/${taskId}`);
  // A task's state is a function of the clock, so the first GET at or after finishedAtMs is the one that saw SUCCEEDED.
  const successPoll = polls.find((r) => r.at >= finishedAtMs) ?? polls[polls.length - 1];
  const output = simulator.requests.find((r) => r.method === 'GET' && r.path.startsWith(`/outputs/${taskId}/`));
  return {
    ...job,
    taskId,
    createdAtMs: task.createdAtMs,
    finishedAtMs,
    polls,
    successPollAtMs: successPoll?.at ?? Number.NaN,
    outputRequestAtMs: output?.at ?? Number.NaN,
    deliveredAtMs,
  };
}

function printLatency(traces: readonly JobTrace[], o: LatencyBenchOptions, failures: number, wallMs: number): void {
  const row = (label: string, values: number[]): string[] => {
    const s = spreadOf(values);
    return [label, String(s.count), fixed(s.median), fixed(s.p95), fixed(s.max)];
  };
  printTable(
    `Added latency, task SUCCEEDED at Runway -> file delivered (ms; ${traces.length} delivered, ${failures} failed, ${(wallMs / 1000).toFixed(1)} s wall)`,
    ['part', 'n', 'median', 'p95', 'max'],
    [
      row('total: finishedAtMs -> delivered', traces.map((t) => t.deliveredAtMs - t.finishedAtMs)),
      row('  waiting for a poll: finishedAtMs -> SUCCEEDED GET', traces.map((t) => t.successPollAtMs - t.finishedAtMs)),
      row('  processing: SUCCEEDED GET -> delivered', traces.map((t) => t.deliveredAtMs - t.successPollAtMs)),
      row('    GET -> output download requested', traces.map((t) => t.outputRequestAtMs - t.successPollAtMs)),
      row('    output requested -> delivered*', traces.map((t) => t.deliveredAtMs - t.outputRequestAtMs)),
      row('first poll found it SUCCEEDED (jobs)', traces.filter((t) => t.polls[0] === undefined || t.polls[0].at >= t.finishedAtMs).map((t) => t.deliveredAtMs - t.finishedAtMs)),
      row('first poll found it still running (jobs)', traces.filter((t) => t.polls[0] !== undefined && t.polls[0].at < t.finishedAtMs).map((t) => t.deliveredAtMs - t.finishedAtMs)),
    ],
    [
      `* includes the simulator rendering the ${o.outputScale}x PNG on first download (same process) and the bot's sniff/size checks.`,
      `"n" of the last two rows: how many jobs fell in each case.`,
    ],
  );

  // The first poll is timed from the model's expected duration, learned from recent jobs: show how it evolves.
  const bands = chunk(traces, Math.max(1, Math.ceil(traces.length / 4)));
  printTable(
    `First-poll wait vs the task's real duration, by arrival order (ms; catalogue guess for gen4_image 20000, learned from recent jobs after that)`,
    ['jobs (arrival order)', 'real duration (median)', 'first poll after create (median)', 'polls/task (mean)', 'added latency (median)'],
    bands.map((band) => {
      const first = band[0]?.order ?? 0;
      const last = band[band.length - 1]?.order ?? 0;
      return [
        `${first + 1}-${last + 1}`,
        fixed(spreadOf(band.map((t) => t.finishedAtMs - t.createdAtMs)).median),
        fixed(spreadOf(band.map((t) => (t.polls[0]?.at ?? Number.NaN) - t.createdAtMs)).median),
        fixed(band.reduce((sum, t) => sum + t.polls.length, 0) / band.length, 2),
        fixed(spreadOf(band.map((t) => t.deliveredAtMs - t.finishedAtMs)).median),
      ];
    }),
    ['real duration = simulator pendingMs + generationMs (no Runway-side throttling: maxConcurrent 64).'],
  );
}

function printCalls(traces: readonly JobTrace[], requests: readonly RecordedRequest[]): void {
  const taskIds = new Set(traces.map((t) => t.taskId));
  const count = (test: (r: RecordedRequest) => boolean): number => requests.filter(test).length;
  const organization = count((r) => r.path === '/v1/organization');
  const uploads = count((r) => r.method === 'POST' && r.path === '/v1/uploads');
  const storagePosts = count((r) => r.method === 'POST' && r.path.startsWith('/storage/'));
  const unexplained = count(
    (r) =>
      r.path !== '/v1/organization' &&
      r.path !== '/v1/uploads' &&
      r.path !== '/v1/text_to_image' &&
      !r.path.startsWith('/storage/') &&
      !r.path.startsWith('/outputs/') &&
      !(r.path.startsWith('/v1/tasks/') && taskIds.has(r.path.slice('/v1/tasks/'.length))),
  );
  const rows = [false, true].map((withReference) => {
    const group = traces.filter((t) => t.withReference === withReference);
    const ids = new Set(group.map((t) => t.taskId));
    // A create carries referenceImages exactly when its job had one, so even a retried create is attributed right.
    const creates = count((r) => r.path === '/v1/text_to_image' && hasReferences(r.body) === withReference);
    const polls = group.reduce((sum, t) => sum + t.polls.length, 0);
    const outputs = count((r) => r.path.startsWith('/outputs/') && ids.has(r.path.split('/')[2] ?? ''));
    const refUploads = withReference ? uploads : 0;
    const refStorage = withReference ? storagePosts : 0;
    const n = group.length;
    const orgShare = organization / traces.length;
    const apiCalls = (creates + polls + refUploads) / n + orgShare;
    return [
      withReference ? 'with 1 reference image' : 'text only',
      String(n),
      fixed(creates / n, 2),
      fixed(polls / n, 2),
      fixed(refUploads / n, 2),
      fixed(orgShare, 3),
      fixed(apiCalls, 2),
      fixed(refStorage / n, 2),
      fixed(outputs / n, 2),
    ];
  });
  printTable(
    'Runway calls per delivered image (from the simulator\'s recorded requests)',
    ['jobs', 'images', 'creates', 'polls (GET task)', 'POST uploads', 'organization', '= API calls', '+ storage POST', '+ output GET'],
    rows,
    [
      `organization is read once per process start (${organization} call${organization === 1 ? '' : 's'}), shared over all ${traces.length} images.`,
      'storage POST (the presigned upload) and output GET (the signed PNG) go to Runway\'s storage, not its API.',
      ...(unexplained > 0 ? [`${unexplained} other request(s) recorded (not attributed above).`] : []),
    ],
  );
}

function hasReferences(body: unknown): boolean {
  const refs = (body as { referenceImages?: unknown } | undefined)?.referenceImages;
  return Array.isArray(refs) && refs.length > 0;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
