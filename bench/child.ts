/** Child processes for the bench: `node --import tsx <script>`, talking in JSON lines. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';

export interface JsonLineChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** The next JSON line the child prints. */
  next<T>(): Promise<T>;
  send(line: string): void;
  /** Close its stdin and wait for it to exit. */
  end(): Promise<void>;
}

/** Start a bench script (a path relative to this folder) under tsx. */
export function startChild(script: string, args: readonly string[]): JsonLineChild {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines: Interface = createInterface({ input: child.stdout });
  const queued: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  lines.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter.resolve(line);
    else queued.push(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`${script} exited (${code}) before answering: ${stderr.slice(-2000)}`));
  });
  return {
    process: child,
    next: <T>() =>
      new Promise<T>((resolve, reject) => {
        const parse = (line: string): void => resolve(JSON.parse(line) as T);
        const line = queued.shift();
        if (line !== undefined) parse(line);
        else waiting.push({ resolve: parse, reject });
      }),
    send: (line) => void child.stdin.write(`${line}\n`),
    end: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
