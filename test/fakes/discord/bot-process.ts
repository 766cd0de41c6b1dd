import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.ts';

/**
 * The real bot (`src/main.ts`) as a child process, for end-to-end tests: its stderr log lines are
 * kept for assertions and for the failure message when something never happens.
 */
export class BotProcess {
  readonly lines: string[] = [];
  private exitCode: number | null | undefined = undefined;

  private constructor(private readonly child: ChildProcess) {
    const collect = (chunk: Buffer) => this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('exit', (code) => (this.exitCode = code));
  }

  /** Start the bot with `env` on top of a minimal environment (no platform tokens leak in from the host). */
  static start(env: Record<string, string>): BotProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('../../../', import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', SLACK_BOT_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new BotProcess(child);
  }

  get hasExited(): boolean {
    return this.exitCode !== undefined;
  }

  /** Wait until the bot logged a line containing `text`. */
  async waitForLog(text: string, timeoutMs = 30_000): Promise<string> {
    return waitFor(
      () => {
        if (this.hasExited) throw new Error(`the bot exited (${this.exitCode}) before logging "${text}":\n${this.tail()}`);
        return this.lines.find((line) => line.includes(text));
      },
      { what: `the bot to log "${text}"\n${this.tail()}`, timeoutMs, intervalMs: 50 },
    );
  }

  tail(count = 30): string {
    return this.lines.slice(-count).join('\n');
  }

  /** SIGKILL: the crash case; nothing gets to clean up. */
  async kill(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGKILL');
    await waitFor(() => this.hasExited, { what: 'the bot to die', timeoutMs: 10_000 });
  }

  /** SIGTERM and wait; SIGKILL if it does not drain in time. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    try {
      await waitFor(() => this.hasExited, { what: 'the bot to exit', timeoutMs });
    } catch {
      await this.kill();
    }
  }
}
