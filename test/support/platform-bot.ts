import { setTimeout as sleep } from 'node:timers/promises';
import { startBot, type BotProcess as ChildBot } from './bot-process.ts';
import { waitFor } from './wait-for.ts';

/**
 * The real bot (`src/main.ts`) with a chat platform configured, as an operator runs it: env in, JSON
 * log lines out, stdin closed (a platform bot does not read it). Spawning and killing are
 * bot-process.ts's; this adds the log, readiness and a graceful stop.
 */
export class PlatformBot {
  private constructor(private readonly child: ChildBot) {}

  /**
   * Start the bot with `env` on top of a minimal environment. Both platform tokens default to empty
   * so a developer's `.env` cannot start a platform the test did not ask for.
   */
  static start(env: Record<string, string>): PlatformBot {
    return new PlatformBot(startBot({ env: { NODE_ENV: 'test', DISCORD_TOKEN: '', SLACK_BOT_TOKEN: '', ...env }, input: 'closed' }));
  }

  /** Start it and wait until it says it is running (its adapters are up and recovery has begun). */
  static async started(env: Record<string, string>): Promise<PlatformBot> {
    const bot = PlatformBot.start(env);
    try {
      await bot.waitForLog('imagine-bot is running');
    } catch (error) {
      await bot.kill();
      throw error;
    }
    return bot;
  }

  /** Every line the bot printed so far, stdout then stderr (the JSON log). */
  get lines(): string[] {
    return `${this.child.stdout()}\n${this.child.stderr()}`.split('\n').filter((line) => line !== '');
  }

  /** Wait until the bot logged a line containing `text`; fails at once if the bot exits. */
  waitForLog(text: string, timeoutMs = 30_000): Promise<string> {
    return waitFor(
      `the bot to log "${text}"`,
      () => {
        this.child.assertAlive();
        return this.lines.find((line) => line.includes(text));
      },
      { timeoutMs, intervalMs: 50 },
    ).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${this.tail()}`);
    });
  }

  /** The last log lines, for failure messages. */
  tail(count = 30): string {
    return this.lines.slice(-count).join('\n');
  }

  /** SIGKILL: the crash case; nothing gets to clean up. */
  async kill(): Promise<void> {
    await this.child.kill();
  }

  /** SIGTERM and wait; SIGKILL if it does not drain in time. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const drained = await Promise.race([this.child.terminate().then(() => true), sleep(timeoutMs, false, { ref: false })]);
    if (!drained) await this.child.kill();
  }
}
