/**
 * The real core (createApp) pointed at a Runway simulator on loopback, with a chat surface that
 * only records when each delivery completed. No chat platform, no network beyond 127.0.0.1.
 */
import { join } from 'node:path';
import { createApp, type App } from '../src/app.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import type { ChatSurface, Delivery, ImagineOptionsInput, ReferenceSource, Requester } from '../src/ports.ts';
import { renderPicture } from '../simulator/picture.ts';

export const BENCH_PLATFORM = 'bench';

/** What the bench surface saw of one job, by job id. */
export interface DeliveryRecord {
  readonly jobId: string;
  readonly deliveredAtMs: number;
  readonly bytes: number;
}

/** A ChatSurface that keeps no images: it notes the time each `deliver` completes. */
export class RecordingSurface implements ChatSurface {
  readonly platform = BENCH_PLATFORM;
  readonly notices: { placeholder: string; text: string }[] = [];
  readonly deliveries = new Map<string, DeliveryRecord>();
  readonly failures: string[] = [];
  statusUpdates = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  async showStatus(): Promise<void> {
    this.statusUpdates += 1;
  }

  async deliver(_placeholder: string, delivery: Delivery): Promise<void> {
    const bytes = delivery.files.reduce((sum, f) => sum + f.bytes.byteLength, 0);
    this.deliveries.set(delivery.jobId, { jobId: delivery.jobId, deliveredAtMs: Date.now(), bytes });
    this.settleWaiters();
  }

  async notifyModerators(placeholder: string, text: string): Promise<void> {
    this.notices.push({ placeholder, text });
  }
  async showFailure(_placeholder: string, failure: { code: string }): Promise<void> {
    this.failures.push(failure.code);
    this.settleWaiters();
  }

  /** Resolves once `count` jobs have been delivered or have failed. */
  finished(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve });
      this.settleWaiters();
    });
  }

  private settleWaiters(): void {
    const done = this.deliveries.size + this.failures.length;
    this.waiters = this.waiters.filter((w) => (done >= w.count ? (w.resolve(), false) : true));
  }
}

export interface BenchAppOptions {
  readonly simulatorUrl: string;
  readonly apiKey: string;
  readonly dir: string;
  readonly pollIntervalMs: number;
  readonly allowance: number;
}

/** createApp as src/main.ts does with a Runway key (here the simulator's), configured through loadConfig, with the bench surface registered. */
export async function startBenchApp(options: BenchAppOptions): Promise<{ app: App; surface: RecordingSurface }> {
  const config = loadConfig({
    MEDIA_ORIGINS: options.simulatorUrl,
    DATABASE_PATH: join(options.dir, 'bot.db'),
    OUTPUT_DIR: join(options.dir, 'output'),
    // The bench loads the engine, not the operator's bounds: a few members carry hundreds of jobs at once.
    MAX_JOBS_PER_MEMBER: '1000000',
    OPERATOR_BUDGET: 'off',
    COMMUNITY_BUDGET: 'off',
    DEFAULT_ALLOWANCE: String(options.allowance),
    DEFAULT_PERIOD: 'none',
    RUNWAY_POLL_INTERVAL_MS: String(options.pollIntervalMs),
    LOG_LEVEL: 'silent',
  });
  const app = await createApp({ config, runway: { apiKey: options.apiKey, baseUrl: options.simulatorUrl }, clock: systemClock, log: silentLogger });
  const surface = new RecordingSurface();
  app.registerSurface(surface);
  await app.start();
  return { app, surface };
}

export function requesterFor(index: number, communities: number, usersPerCommunity: number): Requester {
  const community = index % communities;
  const user = Math.floor(index / communities) % usersPerCommunity;
  return { platform: BENCH_PLATFORM, communityId: `community-${community}`, userId: `user-${community}-${user}`, displayName: `User ${user}`, isModerator: false };
}

/** A 256×256 PNG held in memory, "attached" in the chat. */
export function referenceImage(): ReferenceSource {
  const bytes = renderPicture('bench reference', 7, 256, 256);
  return { filename: 'reference.png', declaredSizeBytes: bytes.length, download: async () => new Uint8Array(bytes) };
}

export function imagineOptions(index: number, withReference: boolean): ImagineOptionsInput {
  return {
    prompt: withReference ? `a lighthouse in the style of @image1, variation ${index}` : `a lighthouse at dusk, variation ${index}`,
    model: 'gen4_image',
    ratio: '1280:720',
    references: withReference ? [referenceImage()] : [],
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
