/**
 * The real bot (`src/main.ts`) as a child process with a platform configured, as an operator runs
 * it: env in, logs out. Spawning and killing are test/support/bot-process.ts's; this adds what a
 * platform bot needs: readiness is its "imagine-bot is running" log line, and its log lines.
 */
import { startBot as spawnBot } from '../../support/bot-process.ts';
import { waitFor } from '../../support/wait-for.ts';

/** SIGTERM gets this long to drain before the process is killed. */
const STOP_GRACE_MS = 10_000;

export interface BotProcess {
  /** Every line the bot wrote so far, stdout and stderr (its JSON log lines go to stderr). */
  readonly logs: string[];
  /** SIGKILL: nothing drains, nothing is flushed. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
}

export async function startBot(env: Record<string, string>): Promise<BotProcess> {
  // Stdin closed at once, as under a process manager: a platform bot does not read it.
  const bot = spawnBot({ env, input: 'closed' });
  const lines = (): string[] => `${bot.stdout()}\n${bot.stderr()}`.split('\n').filter((line) => line !== '');
  try {
    await waitFor(
      'the bot to start',
      () => {
        bot.assertAlive();
        return lines().some((line) => line.includes('imagine-bot is running'));
      },
      { timeoutMs: 30_000 },
    );
  } catch (error) {
    await bot.kill();
    throw error;
  }
  return {
    get logs() {
      return lines();
    },
    async kill() {
      await bot.kill();
    },
    async stop() {
      const forced = setTimeout(() => void bot.kill(), STOP_GRACE_MS);
      await bot.terminate();
      clearTimeout(forced);
    },
  };
}
