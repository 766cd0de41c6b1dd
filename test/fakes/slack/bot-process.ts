/**
 * The real bot (`src/main.ts`) as a child process, as an operator runs it: env in, logs out.
 * Readiness is the bot's own "imagine-bot is running" log line; killing is by the child's pid only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './http.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export interface BotProcess {
  readonly logs: string[];
  /** SIGKILL: nothing drains, nothing is flushed. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export async function startBot(env: Record<string, string>): Promise<BotProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', (code) => ((exitCode = code), resolve())));
  const collect = (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const waitExit = async () => {
    if (exitCode === undefined) await exited;
  };
  try {
    await waitFor(
      () => {
        if (exitCode !== undefined) throw new Error(`bot exited with ${exitCode}:\n${logs.join('\n')}`);
        return logs.some((l) => l.includes('imagine-bot is running'));
      },
      'the bot to start',
      30_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    logs,
    async kill() {
      if (exitCode === undefined) child.kill('SIGKILL');
      await waitExit();
    },
    async stop() {
      if (exitCode === undefined) child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await waitExit();
      clearTimeout(forced);
    },
  };
}
