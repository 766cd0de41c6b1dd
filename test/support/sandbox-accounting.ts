/**
 * The whole contract after sandbox bots were killed mid-flight and their jobs finished (by a
 * restart on SQLite, or by a surviving process on PostgreSQL): final states, one `done` line and
 * one file per delivered image with Runway's bytes, exactly one Runway task per delivered image, a
 * ledger that balances, and that nobody rewrote.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RunwaySimulator } from '../../simulator/index.ts';
import { requestNumberOf, type JobView, type LedgerEntry } from './bot-database.ts';

export type Outcome = 'delivered' | 'rejected' | 'failed';

export interface SandboxAftermath {
  readonly sim: RunwaySimulator;
  /** The simulator's API key, to read a task's output as any client would. */
  readonly apiKey: string;
  /** Every member's allowance (DEFAULT_ALLOWANCE, no period). */
  readonly allowance: number;
  /** The OUTPUT_DIR every process wrote to. */
  readonly outputDir: string;
  /** The jobs and the ledger now, every process done. */
  readonly jobs: readonly JobView[];
  readonly ledger: readonly LedgerEntry[];
  /** The ledger as it stood at the crash. */
  readonly ledgerAtCrash: readonly LedgerEntry[];
  /** Every process's stdout, one after the other. */
  readonly stdout: string;
  /**
   * What the ledger's ids promise. SQLite's rowid is max(id) + 1, so committed ids run 1..n with no
   * gap (`dense`). A PostgreSQL identity draws from a sequence, which is not transactional: a
   * transaction that inserted an entry and then rolled back (or whose process was killed before
   * its commit) leaves a gap for ever. There ids only strictly increase (`increasing`).
   */
  readonly ledgerIds: 'dense' | 'increasing';
}

/** Assert the contract for jobs expected to end as `outcomes`, by sandbox request number. */
export async function expectAccountedFor(after: SandboxAftermath, outcomes: Record<number, Outcome>): Promise<void> {
  const { jobs, ledger, sim } = after;
  const byRequest = new Map(jobs.map((job) => [requestNumberOf(job), job]));
  expect(Object.fromEntries([...byRequest].map(([n, job]) => [n, job.state]))).toEqual(outcomes);
  const delivered = jobs.filter((job) => job.state === 'delivered');

  // Each image reached the user once (one `done` line, one file named for its job); each failure was told once.
  const lines = after.stdout.split('\n');
  for (const [request, job] of byRequest) {
    const isDelivered = job.state === 'delivered';
    expect(lines.filter((line) => line.startsWith(`[#${request}] done: `)), `done lines for #${request}`).toHaveLength(isDelivered ? 1 : 0);
    expect(lines.filter((line) => line.startsWith(`[#${request}] failed (`)), `failure lines for #${request}`).toHaveLength(isDelivered ? 0 : 1);
  }
  expect(readdirSafe(after.outputDir).sort()).toEqual(delivered.map((job) => `${job.id}-1.png`).sort());

  // Runway made exactly one task per delivered image, and it is the one the job recorded.
  const tasks = sim.tasks();
  expect(tasks.map((task) => task.id).sort()).toEqual(delivered.map((job) => job.taskId).sort());
  for (const job of delivered) {
    const file = readFileSync(join(after.outputDir, `${job.id}-1.png`));
    expect(file.equals(await simulatorOutput(sim, after.apiKey, job.taskId ?? '')), `bytes of ${job.id}`).toBe(true);
  }

  // The ledger: a delivered job costs what Runway charged, anything else nothing; balances follow.
  const costOf = new Map(tasks.map((task) => [task.id, task.costCredits]));
  for (const job of jobs) {
    const net = ledger.filter((entry) => entry.job_id === job.id).reduce((sum, entry) => sum + entry.delta, 0);
    expect(net, `net ledger of ${job.state} job ${job.id}`).toBe(job.state === 'delivered' ? -(costOf.get(job.taskId ?? '') ?? NaN) : 0);
    // A rejected job held its price from acceptance and got it back in the rejection's transaction.
    if (job.state === 'rejected') expect(ledger.filter((entry) => entry.job_id === job.id).map((entry) => entry.kind)).toEqual(['reserve', 'refund']);
  }
  for (const user of new Set(ledger.map((entry) => entry.user_id))) {
    const balance = ledger.filter((entry) => entry.user_id === user).reduce((sum, entry) => sum + entry.delta, 0);
    const spent = delivered.filter((job) => job.userId === user).reduce((sum, job) => sum + (costOf.get(job.taskId ?? '') ?? NaN), 0);
    expect(balance, `balance of ${user}`).toBe(after.allowance - spent);
  }

  // Append-only: every entry written before the crash is still there, unchanged, and comes first.
  const ids = ledger.map((entry) => entry.id);
  if (after.ledgerIds === 'dense') expect(ids).toEqual(ledger.map((_, i) => i + 1));
  else expect(ids.every((id, i) => i === 0 || id > (ids[i - 1] ?? Infinity)), `ledger ids ${ids.join(',')} strictly increase`).toBe(true);
  expect(ledger.slice(0, after.ledgerAtCrash.length)).toEqual(after.ledgerAtCrash);
}

/** How many `POST /v1/text_to_image` reached the simulator, held or not. */
export const createCalls = (sim: RunwaySimulator): number => sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image').length;

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The PNG the simulator serves for a finished task, fetched over HTTP as any client would. */
async function simulatorOutput(sim: RunwaySimulator, apiKey: string, taskId: string): Promise<Buffer> {
  const response = await fetch(`${sim.url}/v1/tasks/${taskId}`, { headers: { authorization: `Bearer ${apiKey}`, 'x-runway-version': '2024-11-06' } });
  const task = (await response.json()) as { output?: string[] };
  const url = task.output?.[0];
  if (!url) throw new Error(`task ${taskId} has no output`);
  return Buffer.from(await (await fetch(url)).arrayBuffer());
}
