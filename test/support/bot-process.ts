/**
 * The bot as a real child process (`node --import tsx src/main.ts`, the terminal sandbox), so a
 * test can SIGKILL it mid-flight and start it again on the same database.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface BotExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface BotProcess {
  /** Everything the bot printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Type one line at the sandbox prompt. */
  send(line: string): void;
  /** End the input of an `open` bot, as a script's pipe ends: the sandbox finishes every unfinished job and exits. */
  endInput(): void;
  /** Wait until stdout matches (bounded); fails early if the bot exits. */
  waitForOutput(pattern: RegExp, what: string): Promise<RegExpMatchArray>;
  /** Throws (with the bot's stderr) when the process is gone. */
  assertAlive(): void;
  /** SIGKILL: no handler runs, nothing is flushed or drained. Resolves once the process is gone. */
  kill(): Promise<BotExit>;
  /** SIGTERM: what an orchestrator sends first; the bot drains and exits. Resolves once it is gone. */
  terminate(): Promise<BotExit>;
  readonly exited: Promise<BotExit>;
}

export interface StartBotOptions {
  /** The bot's whole environment (nothing is inherited but PATH and HOME). */
  readonly env: Record<string, string>;
  /** `open`: the test types commands. `closed`: stdin ends at once, so the sandbox recovers, finishes what is unfinished and exits. */
  readonly input: 'open' | 'closed';
}

export function startBot({ env, input }: StartBotOptions): BotProcess {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    // No health server unless a test asks for one: parallel test files would all want port 8080.
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', HEALTH_PORT: 'off', ...env },
    stdio: 'pipe',
  });
  let out = '';
  let err = '';
  let exit: BotExit | null = null;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  // A write racing a kill must not crash the test runner.
  child.stdin.on('error', () => {});
  const exited = new Promise<BotExit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  if (input === 'closed') child.stdin.end();

  const assertAlive = () => {
    if (exit) throw new Error(`the bot exited (${exit.code ?? exit.signal}) early.\nstdout:\n${out}\nstderr:\n${err}`);
  };
  return {
    stdout: () => out,
    stderr: () => err,
    send: (line) => void child.stdin.write(`${line}\n`),
    endInput: () => void child.stdin.end(),
    assertAlive,
    waitForOutput: (pattern, what) =>
      waitFor(what, () => {
        assertAlive();
        return pattern.exec(out) ?? undefined;
      }),
    kill: () => {
      if (!exit) child.kill('SIGKILL');
      return exited;
    },
    terminate: () => {
      if (!exit) child.kill('SIGTERM');
      return exited;
    },
    exited,
  };
}
