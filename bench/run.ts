/**
 * `npm run bench`: the figures design §9 asks for, measured on loopback against the Runway
 * simulator. Prints tables; asserts nothing about speed. Sections can be picked by name:
 * `npm run bench -- model latency inflight ledger scale`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInFlightBench } from './in-flight.ts';
import { runLatencyBench } from './latency.ts';
import { runLedgerBench } from './ledger.ts';
import { runScaleBench } from './scale.ts';
import { runScheduleModel } from './schedule-model.ts';

const SECTIONS = ['model', 'latency', 'inflight', 'ledger', 'scale'] as const;
type Section = (typeof SECTIONS)[number];

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a): a is Section => (SECTIONS as readonly string[]).includes(a));
  const sections = asked.length > 0 ? asked : [...SECTIONS];
  const root = mkdtempSync(join(tmpdir(), 'imagine-bench-'));
  const startedAtMs = Date.now();
  console.log(`imagine-bot bench: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), sections: ${sections.join(', ')}`);
  try {
    for (const section of sections) {
      const dir = mkdtempSync(join(root, `${section}-`));
      if (section === 'model') {
        runScheduleModel({ tasks: 3_000, pollIntervalMs: 5_000, seed: 11 });
      } else if (section === 'latency') {
        await runLatencyBench({
          dir,
          jobs: 30,
          arrivalEveryMs: 1_000,
          pollIntervalMs: 5_000,
          generationMs: { minMs: 5_000, maxMs: 15_000 },
          pendingMs: { minMs: 200, maxMs: 600 },
          progress: { slowStartMs: 800, noise: 0.08 },
          outputScale: 0.5,
        });
      } else if (section === 'inflight') {
        await runInFlightBench({ dir, jobs: 1_000, pollIntervalMs: 5_000, generationMs: 20_000, outputScale: 0.25 });
      } else if (section === 'scale') {
        await runScaleBench({
          dir,
          jobs: 400,
          postgresProcesses: [1, 2, 4],
          members: 20,
          // The bot's own pace against its built-in simulator (src/app.ts): Runway's 5 s rule would make the delay the interval.
          pollIntervalMs: 1_000,
          generationMs: 2_000,
          pendingMs: 200,
          maxConcurrent: 200,
          outputScale: 0.25,
          timeoutMs: 120_000,
        });
      } else {
        await runLedgerBench({ dir, seconds: 2, users: 50, processes: 4, attemptsPerProcess: 1_500, price: 5, sharedBudget: 10_000 });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  console.log(`\nbench finished in ${((Date.now() - startedAtMs) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
