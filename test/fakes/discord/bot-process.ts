import { setTimeout as sleep } from 'node:timers/promises';
import { startBot, type BotProcess as ChildBot } from '../../support/bot-process.ts';
import { waitFor } from '../../support/wait-for.ts';

/**
 * The real bot (`src/main.ts`) as a child process, for end-to-end tests, started through
 * `test/support/bot-process.ts`: its log lines are kept for assertions and for the failure
 * message when something never happens.
 */
export class BotProcess {
  private constructor(private readonly child: ChildBot) {}

  /** Start the bot with `env` on top of a minimal environment (no platform tokens leak in from the host). */
  static start(env: Record<string, string>): BotProcess {
    // SLACK_BOT_TOKEN is set empty so a developer's .env cannot start Slack beside Discord.
    return new BotProcess(startBot({ env: { NODE_ENV: 'test', SLACK_BOT_TOKEN: '', ...env }, input: 'closed' }));
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
