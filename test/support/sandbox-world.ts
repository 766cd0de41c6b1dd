/**
 * What the sandbox-process tests (crash, failover, PostgreSQL restart) each set up before starting a
 * bot: a temp directory, the Runway simulator on a pausable clock, a small reference PNG, and the
 * environment every such bot shares. Each test adds its database and its own variables.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng, startRunwaySimulator, type RunwaySimulator, type SimulatorOptions } from '../../simulator/index.ts';
import { PausableClock } from './pausable-clock.ts';

/** Every sandbox-process test's member allowance, per-process `none` period. */
export const SANDBOX_ALLOWANCE = 100;
/** Short enough to keep the tests quick, long enough to hold a task in a state. */
export const SANDBOX_PENDING_MS = 100;
export const SANDBOX_GENERATION_MS = 400;

export interface SandboxWorld {
  readonly dir: string;
  readonly sim: RunwaySimulator;
  readonly clock: PausableClock;
  readonly referencePath: string;
  readonly outputDir: string;
  /** The variables every bot of the test shares (Runway, output, credits); the test adds its database. */
  readonly env: Readonly<Record<string, string>>;
}

/** A world under a new temp directory named `prefix…`; what it starts is handed to `cleanups`. */
export async function arrangeSandboxWorld(
  prefix: string,
  apiKey: string,
  cleanups: (() => Promise<void> | void)[],
  options: Partial<SimulatorOptions> = {},
): Promise<SandboxWorld> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new PausableClock();
  const sim = await startRunwaySimulator({ apiKey, clock, pendingMs: SANDBOX_PENDING_MS, generationMs: SANDBOX_GENERATION_MS, outputScale: 0.1, ...options });
  cleanups.push(() => sim.close());
  const referencePath = join(dir, 'reference.png');
  const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 251);
  writeFileSync(referencePath, encodePng(32, 32, rgb));
  const outputDir = join(dir, 'output');
  const env = {
    RUNWAYML_API_SECRET: apiKey,
    RUNWAYML_BASE_URL: sim.url,
    MEDIA_ORIGINS: sim.url,
    RUNWAY_POLL_INTERVAL_MS: '50',
    OUTPUT_DIR: outputDir,
    DEFAULT_ALLOWANCE: String(SANDBOX_ALLOWANCE),
    DEFAULT_PERIOD: 'none',
  };
  return { dir, sim, clock, referencePath, outputDir, env };
}
