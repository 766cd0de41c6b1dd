/**
 * The container image end to end (run by scripts/test-container.sh, not by vitest): the fake Slack
 * runs here on the host, the image runs with `--network host` against it and against its own
 * built-in Runway simulator. Waits for /readyz, runs one /imagine over Socket Mode, stops the
 * container with SIGTERM (`podman stop`), and reads the database from the volume: one job,
 * delivered once, its credits settled, nothing left unfinished.
 *
 *   tsx test/container/e2e.ts <image> <data-dir>
 *
 * Prints what it measured as one JSON line (`container-e2e {...}`) and exits 1 on any failure.
 */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeSlack } from '../fakes/slack/index.ts';
import { freePort } from '../fakes/slack/ports.ts';

const image = process.argv[2] ?? '';
const dataDir = process.argv[3] ?? '';
if (image === '' || dataDir === '') {
  process.stderr.write('usage: tsx test/container/e2e.ts <image> <data-dir>\n');
  process.exit(2);
}

const name = `imagine-bot-e2e-${process.pid}`;
const ALLOWANCE = 50;

function podman(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('podman', args, { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`container e2e: ${what}`);
}

async function main(): Promise<Record<string, unknown>> {
  const fake = await startFakeSlack();
  fake.addUser({ id: 'UALICE', name: 'alice' });
  const healthPort = await freePort();
  const health = `http://127.0.0.1:${healthPort}`;
  let output = '';
  const startedAt = performance.now();
  // Foreground, so the container's exit code is this child's. No Runway key: the built-in simulator.
  const child = spawn('podman', [
    'run', '--name', name, '--network', 'host', '--volume', `${dataDir}:/data`,
    '--env', `SLACK_BOT_TOKEN=${fake.botToken}`,
    '--env', `SLACK_APP_TOKEN=${fake.appToken}`,
    '--env', `SLACK_API_URL=${fake.apiUrl}`,
    '--env', `HEALTH_PORT=${healthPort}`,
    '--env', `DEFAULT_ALLOWANCE=${ALLOWANCE}`,
    '--env', 'LOG_LEVEL=info',
    image,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  try {
    const ready = await pollReady(health, () => exitCode !== undefined, () => output);
    const readyMs = Math.round(performance.now() - startedAt);
    // The image's own HEALTHCHECK (node asking /readyz), run once by hand: podman schedules it with systemd, absent here.
    const healthcheck = podman(['healthcheck', 'run', name]);
    check(healthcheck.status === 0, `the HEALTHCHECK says unhealthy: ${healthcheck.stdout}${healthcheck.stderr}`);

    const envelope = fake.socketMode.deliver('slash_commands', fake.commandFields('/imagine', 'a koi pond at dawn --ratio 16:9', 'UALICE', 'C0GENERAL'));
    await fake.socketMode.waitForAck(envelope, 30_000);
    await fake.waitFor(() => fake.sharedFiles().length > 0, 'the image in the channel', 120_000);
    // The file is in the channel a moment before the job's row says delivered.
    await until('the delivered job in /metrics', 30_000, async () => (await (await fetch(`${health}/metrics`)).text()).includes('\nimagine_jobs{state="delivered"} 1\n'));

    const stopAt = performance.now();
    const stop = podman(['stop', '--time', '60', name]);
    check(stop.status === 0, `podman stop failed: ${stop.stderr}`);
    const code = await exited;
    const stopMs = Math.round(performance.now() - stopAt);
    check(code === 0, `the bot exited with ${code} after SIGTERM`);
    check(output.includes('"message":"draining before exit","signal":"SIGTERM"'), 'the bot did not drain on SIGTERM (did the signal reach Node?)');

    // What the volume holds, read from the host.
    const db = new Database(join(dataDir, 'imagine-bot.db'), { readonly: true });
    const jobs = db.prepare<[], { id: string; state: string; cost_credits: number }>('select id, state, cost_credits from jobs').all();
    const ledger = db.prepare<[], { job_id: string | null; kind: string; delta: number }>('select job_id, kind, delta from ledger order by id').all();
    db.close();
    check(jobs.length === 1 && jobs[0]?.state === 'delivered', `expected one delivered job, found ${JSON.stringify(jobs)}`);
    const job = jobs[0];
    const jobNet = ledger.filter((e) => e.job_id === job?.id).reduce((sum, e) => sum + e.delta, 0);
    const balance = ledger.reduce((sum, e) => sum + e.delta, 0);
    check(jobNet === -(job?.cost_credits ?? NaN), `the job's ledger entries sum to ${jobNet}, not -${job?.cost_credits}`);
    check(balance === ALLOWANCE - (job?.cost_credits ?? NaN), `alice's balance is ${balance}, not ${ALLOWANCE} - ${job?.cost_credits}`);
    check(fake.sharedFiles().length === 1, `the image was shared ${fake.sharedFiles().length} times`);
    check(ledger.filter((e) => e.kind === 'settle').length === 1 && !ledger.some((e) => e.kind === 'refund'), `the ledger is not one settled job: ${JSON.stringify(ledger)}`);
    const backups = existsSync(join(dataDir, 'backups')) ? readdirSync(join(dataDir, 'backups')) : [];
    check(backups.length === 1, `expected the start-up backup in /data/backups, found ${JSON.stringify(backups)}`);
    return { ready, readyMs, stopMs, exitCode: code, job: { state: job?.state, cost: job?.cost_credits }, balance, backups };
  } catch (error) {
    process.stderr.write(`--- container output ---\n${output.slice(-6_000)}\n------------------------\n`);
    throw error;
  } finally {
    podman(['rm', '--force', '--ignore', name]);
    await fake.close();
  }
}

/** Poll an asynchronous condition (another process's state) until it holds, within `timeoutMs`. */
async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`container e2e: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Poll /readyz until it answers 200; fails at once if the container exits. */
async function pollReady(health: string, hasExited: () => boolean, output: () => string): Promise<unknown> {
  const deadline = performance.now() + 180_000;
  for (;;) {
    if (hasExited()) throw new Error(`the container exited before it was ready:\n${output().slice(-4_000)}`);
    try {
      const response = await fetch(`${health}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return (await response.json()) as unknown;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) throw new Error(`not ready after 180 s:\n${output().slice(-4_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

main().then(
  (summary) => {
    process.stdout.write(`container-e2e ${JSON.stringify(summary)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
