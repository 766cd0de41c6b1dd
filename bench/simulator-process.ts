/**
 * The Runway simulator in a child process, for the in-flight bench: its own CPU and memory (500
 * task records, recorded requests, rendered PNGs) then stay out of the bot's figures.
 * argv[2]: SimulatorOptions as JSON. Prints `{"url": …}`, then answers each "summary" line on stdin
 * with one JSON line; exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import { startRunwaySimulator, type SimulatorOptions } from '../simulator/index.ts';

/** What the parent learns about the run: request counts by route and each task's timing. */
export interface SimulatorSummary {
  readonly requests: Record<string, number>;
  readonly tasks: readonly { id: string; createdAtMs: number; finishedAtMs: number | null; status: string; pollsAtMs: number[]; outputAtMs: number | null }[];
}


const options = JSON.parse(process.argv[2] ?? '{}') as SimulatorOptions;
const simulator = await startRunwaySimulator(options);
process.stdout.write(`${JSON.stringify({ url: simulator.url })}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'summary') return;
  const requests: Record<string, number> = {};
  const pollsAtMs = new Map<string, number[]>();
  const outputAtMs = new Map<string, number>();
  for (const r of simulator.requests) {
    if (r.method === 'GET' && r.path.startsWith('/v1/tasks/')) {
      const id = r.path.slice('/v1/tasks/'.length);
      pollsAtMs.set(id, [...(pollsAtMs.get(id) ?? []), r.at]);
    }
    if (r.method === 'GET' && r.path.startsWith('/outputs/')) {
      const id = r.path.split('/')[2] ?? '';
      if (!outputAtMs.has(id)) outputAtMs.set(id, r.at);
    }
    const route = r.path.startsWith('/v1/tasks/') ? '/v1/tasks/:id' : r.path.startsWith('/storage/') ? '/storage/:id' : r.path.startsWith('/outputs/') ? '/outputs/…' : r.path;
    const key = `${r.method} ${route}`;
    requests[key] = (requests[key] ?? 0) + 1;
  }
  const tasks = simulator.tasks().map((t) => ({
    id: t.id,
    createdAtMs: t.createdAtMs,
    finishedAtMs: t.finishedAtMs ?? null,
    status: t.status,
    pollsAtMs: pollsAtMs.get(t.id) ?? [],
    outputAtMs: outputAtMs.get(t.id) ?? null,
  }));
  const summary: SimulatorSummary = { requests, tasks };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
});
lines.on('close', () => {
  void simulator.close().then(() => process.exit(0));
});
