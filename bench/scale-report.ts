/** The scale section's tables (bench/scale.ts): throughput and delay per configuration, then where the time went. */
import { cpus } from 'node:os';
import { fixed, printTable, spreadOf } from './report.ts';
import type { ConfigurationResult } from './scale.ts';

/** Whether every job was delivered exactly once: one row delivered, one file, one `done` line each. Empty when so. */
function deliveryProblems(r: ConfigurationResult, jobs: number): string[] {
  const delivered = r.jobs.filter((j) => j.state === 'delivered');
  // Files are named `<job id>-<n>.png`: a job delivered twice (by two processes) leaves two.
  const filesPerJob = new Map<string, number>();
  for (const file of r.outputFiles) filesPerJob.set(file.slice(0, 36), (filesPerJob.get(file.slice(0, 36)) ?? 0) + 1);
  const problems: string[] = [];
  if (r.timedOut) problems.push('stopped at the timeout');
  if (r.jobs.length !== jobs) problems.push(`${r.jobs.length} jobs accepted of ${jobs}`);
  if (delivered.length !== jobs) problems.push(`${delivered.length} delivered of ${jobs} (${countBy(r.jobs.map((j) => j.state))})`);
  const notOnce = delivered.filter((j) => filesPerJob.get(j.id) !== 1).length;
  if (notOnce > 0 || r.outputFiles.length !== delivered.length) problems.push(`${r.outputFiles.length} output files for ${delivered.length} delivered jobs, ${notOnce} not exactly one`);
  if (r.doneLines !== delivered.length) problems.push(`${r.doneLines} "done" lines for ${delivered.length} delivered jobs`);
  if (r.simulator.tasks.length !== delivered.length) problems.push(`${r.simulator.tasks.length} Runway tasks for ${delivered.length} delivered jobs`);
  return problems;
}

function countBy(values: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}

interface Figures {
  readonly wallMs: number;
  readonly jobsPerMinute: number;
  readonly delay: ReturnType<typeof spreadOf>;
}

/** Wall time from the first acceptance to the last delivery, and the bot's success-to-image delay. */
function figuresOf(r: ConfigurationResult, jobs: number): Figures {
  const delivered = r.jobs.filter((j) => j.state === 'delivered' && j.deliveredAt !== null && j.finishedAt !== null);
  const wallMs = Math.max(...delivered.map((j) => j.deliveredAt ?? 0)) - Math.min(...r.jobs.map((j) => j.createdAt));
  return { wallMs, jobsPerMinute: (jobs / wallMs) * 60_000, delay: spreadOf(delivered.map((j) => (j.deliveredAt ?? 0) - (j.finishedAt ?? 0))) };
}

/** Print both tables; `jobs` is how many each configuration was given. */
export function printScaleResults(results: readonly ConfigurationResult[], jobs: number): void {
  const figures = results.map((r) => figuresOf(r, jobs));
  const base = figures[0];
  const ratio = (value: number, baseline: number | undefined): string => (baseline === undefined ? '-' : `${fixed(value / baseline, 2)}x`);
  printTable(
    `Throughput and delay, ${jobs} jobs per configuration (baseline: SQLite, 1 process)`,
    ['configuration', 'processes', 'jobs', 'wall s', 'jobs/min', 'vs base', 'delay p50 ms', 'delay p95 ms', 'p95 vs base'],
    results.map((r, i) => {
      const f = figures[i] ?? figuresOf(r, jobs);
      const delivered = r.jobs.filter((j) => j.state === 'delivered').length;
      return [r.name, String(r.processes), delivered === jobs ? String(jobs) : `${delivered}/${jobs}`, fixed(f.wallMs / 1000, 1), fixed(f.jobsPerMinute), ratio(f.jobsPerMinute, base?.jobsPerMinute), fixed(f.delay.median), fixed(f.delay.p95), ratio(f.delay.p95, base?.delay.p95)];
    }),
    [
      'wall = first acceptance (min created_at) to last delivery (max delivered_at); jobs/min = jobs / wall.',
      'delay = delivered_at - finished_at: Runway reporting success (the bot\'s estimate of its finish) to the image handed to the chat (the sandbox writing it).',
      ...results.flatMap((r) => {
        const problems = deliveryProblems(r, jobs);
        const label = `${r.name} x${r.processes}`;
        return problems.length === 0 ? [`${label}: every job delivered exactly once (${jobs} rows delivered, ${jobs} files, ${jobs} "done" lines, ${jobs} Runway tasks).`] : [`${label}: NOT every job delivered exactly once: ${problems.join('; ')}.`, ...r.problems.slice(0, 3).map((p) => `  ${p.slice(0, 300)}`)];
      }),
    ],
  );
  printTable(
    'Where the time went (ms unless said; the simulator\'s records are the ground truth)',
    ['configuration', 'accepting s', 'creates s', 'peak at Runway', 'polls/task', 'true delay p50/p95', 'poll wait p50/p95', 'processing p50/p95'],
    results.map((r) => {
      const traces = tracesOf(r);
      const pair = (values: readonly number[]): string => {
        const s = spreadOf(values);
        return `${fixed(s.median)}/${fixed(s.p95)}`;
      };
      const submitted = r.jobs.flatMap((j) => (j.submittedAt === null ? [] : [j.submittedAt]));
      const polls = r.simulator.requests['GET /v1/tasks/:id'] ?? 0;
      return [
        `${r.name} x${r.processes}`,
        fixed(span(r.jobs.map((j) => j.createdAt)) / 1000, 1),
        fixed(span(submitted) / 1000, 1),
        String(peakConcurrent(r.simulator.tasks)),
        fixed(polls / Math.max(1, r.simulator.tasks.length), 2),
        pair(traces.map((t) => t.deliveredAtMs - t.finishedAtMs)),
        pair(traces.map((t) => t.successPollAtMs - t.finishedAtMs)),
        pair(traces.map((t) => t.deliveredAtMs - t.successPollAtMs)),
      ];
    }),
    [
      'accepting = first to last acceptance (created_at); creates = first to last create at Runway (submitted_at); peak at Runway = most tasks between create and success at once.',
      'true delay = delivered_at - the simulator\'s finish time, = poll wait (finish -> the GET that saw SUCCEEDED) + processing (that GET -> delivered_at: database, download, writing the file).',
    ],
  );
  printTable(
    'What the machine did (from feeding the commands until the last bot exited; the bots\' start excluded)',
    ['configuration', 'window s', 'CPU s: bots', 'postgres', 'simulator', 'cores used', 'machine busy', 'write-lock waiters', 'contended'],
    results.map((r) => {
      const cpu = r.cpuSeconds.bots + r.cpuSeconds.postgres + r.cpuSeconds.simulator;
      return [
        `${r.name} x${r.processes}`,
        fixed(r.windowMs / 1000, 1),
        fixed(r.cpuSeconds.bots, 1),
        fixed(r.cpuSeconds.postgres, 1),
        fixed(r.cpuSeconds.simulator, 1),
        fixed(cpu / (r.windowMs / 1000), 2),
        `${fixed(r.machineBusy * 100)} %`,
        r.writeLock === null ? '-' : fixed(r.writeLock.meanWaiting, 2),
        r.writeLock === null ? '-' : `${fixed(r.writeLock.shareContended * 100)} %`,
      ];
    }),
    [
      `CPU read from /proc; cores used = the bots', PostgreSQL's and the simulator's CPU / the window, of ${cpus().length}. machine busy: every process on the machine, other work included.`,
      'write-lock waiters: connections waiting for the advisory lock every write transaction takes (src/store/postgres-sql.ts), mean over samples every 50 ms; contended: share of samples with one or more.',
    ],
  );
}

interface Trace {
  readonly finishedAtMs: number;
  readonly successPollAtMs: number;
  readonly deliveredAtMs: number;
}

/** Each delivered job against its task at the simulator: when it finished, and the first GET at or after that (the one that saw SUCCEEDED). */
function tracesOf(r: ConfigurationResult): Trace[] {
  const taskById = new Map(r.simulator.tasks.map((t) => [t.id, t]));
  return r.jobs.flatMap((j) => {
    const task = j.taskId === null ? undefined : taskById.get(j.taskId);
    if (!task || task.finishedAtMs === null || j.deliveredAt === null) return [];
    const finishedAtMs = task.finishedAtMs;
    const successPollAtMs = task.pollsAtMs.find((at) => at >= finishedAtMs) ?? Number.NaN;
    return [{ finishedAtMs, successPollAtMs, deliveredAtMs: j.deliveredAt }];
  });
}

const span = (values: readonly number[]): number => Math.max(...values) - Math.min(...values);

/** The most tasks at Runway at once (created, not yet succeeded). */
function peakConcurrent(tasks: readonly { createdAtMs: number; finishedAtMs: number | null }[]): number {
  const events = tasks.flatMap((t) => [{ atMs: t.createdAtMs, delta: 1 }, ...(t.finishedAtMs === null ? [] : [{ atMs: t.finishedAtMs, delta: -1 }])]);
  events.sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
  let now = 0;
  let peak = 0;
  for (const e of events) peak = Math.max(peak, (now += e.delta));
  return peak;
}
