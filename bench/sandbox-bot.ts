/**
 * The bot as a real process, as an operator runs it: `node --import tsx src/main.ts` with no chat
 * platform configured, i.e. the terminal sandbox, fed commands on stdin. When stdin closes the
 * sandbox waits for its jobs and exits.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface SandboxBot {
  readonly pid: number | undefined;
  /** Resolves once the sandbox has answered a command: its database is open and it reads stdin. */
  readonly ready: Promise<void>;
  /** Type these lines, then close stdin. */
  feed(lines: readonly string[]): void;
  /** Resolves with the exit code (null when killed) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** `[#n] done:` lines printed: one per delivery. */
  deliveries(): number;
  /** `[#n] failed` lines printed, and anything on stderr: what went wrong, for the report. */
  problems(): string[];
  kill(): void;
}

/** Start one sandbox bot with exactly this environment (plus PATH and HOME; no health server). */
export function startSandboxBot(env: Record<string, string>): SandboxBot {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', HEALTH_PORT: 'off', ...env },
    stdio: 'pipe',
  });
  // Only counts are kept: 400 jobs print a few thousand status lines.
  let pending = '';
  let deliveries = 0;
  let answered = false;
  const problems: string[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (/^\[#\d+\] done: /.test(line)) deliveries += 1;
      else if (/^\[#\d+\] failed /.test(line)) problems.push(line);
      else if (!answered && line.startsWith('Commands:')) {
        answered = true;
        markReady();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => problems.push(chunk.trim()));
  // A write racing an early exit must not crash the bench.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The sandbox answers in order: the help text comes back once everything before it has started.
  child.stdin.write('/help\n');
  return {
    pid: child.pid,
    ready: Promise.race([ready, exited.then((code) => Promise.reject(new Error(`the bot exited (${code}) before it was ready: ${problems.join('\n')}`)))]),
    feed: (lines) => {
      child.stdin.end(lines.map((line) => `${line}\n`).join(''));
    },
    exited,
    deliveries: () => deliveries,
    problems: () => problems,
    kill: () => void child.kill('SIGKILL'),
  };
}
