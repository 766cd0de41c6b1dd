/**
 * Two Slack bot processes on one PostgreSQL database, as behind a load balancer: each is a real
 * bot (`src/main.ts`, real Bolt, HTTP mode, its own PORT and HEALTH_PORT) against the fake Slack and
 * the Runway simulator. Slack (or the balancer) may hand a copy of one delivery to each process; the
 * delivery's key in the database (src/store/deliveries.ts: `event:<event_id>`, `trigger:<trigger_id>`)
 * decides which one works it, so a delivery sent to both makes one job, one Runway task, one
 * placeholder, one image and one charge. Deliveries that differ are each worked once, by the process
 * that received them.
 *
 * The copies are sent at once, not one after the other: each process acknowledges before it claims,
 * so either may claim first, and the test holds whichever wins.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePlaceholder } from '../adapters/slack/placeholder.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';
import { readPostgresJobs, readPostgresLedger, type LedgerEntry, type PostgresJobView } from './support/bot-database.ts';
import { PlatformBot } from './support/platform-bot.ts';
import { dropTestDatabases, freshPostgresUrl } from './support/test-database.ts';
import { waitFor } from './support/wait-for.ts';

const SECRET = 'two-processes-signing-secret';
const RUNWAY_KEY = 'key_two_processes';
const ALLOWANCE = 20;
/** Generous bounds for a whole job (accept, create, generate, download, upload) on a loaded 2-core machine. */
const JOB_DONE = { timeoutMs: 45_000, intervalMs: 50 };
const POLL = { intervalMs: 50 };

/** One of the two bot processes, with what the test needs to reach it and to tell its log apart. */
interface Process {
  readonly name: 'A' | 'B';
  readonly bot: PlatformBot;
  /** Signs and posts to this process's `/slack/events`. */
  readonly slack: SlackSender;
  readonly healthPort: number;
  /** The id it leases jobs under (`locked_by`), from its start line. */
  readonly instanceId: string;
}

interface World {
  readonly fake: FakeSlack;
  readonly sim: RunwaySimulator;
  readonly dir: string;
  readonly databaseUrl: string;
  readonly a: Process;
  readonly b: Process;
}

let world: World | undefined;

beforeAll(async () => {
  const fake = await startFakeSlack();
  const sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 600, pendingMs: 100 });
  const dir = mkdtempSync(join(tmpdir(), 'slack-two-processes-'));
  const databaseUrl = await freshPostgresUrl();
  const [portA, portB, healthA, healthB] = await fourFreePorts();
  const envFor = (port: number, healthPort: number) => ({
    SLACK_BOT_TOKEN: fake.botToken,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    PORT: String(port),
    HEALTH_PORT: String(healthPort),
    RUNWAYML_API_SECRET: RUNWAY_KEY,
    RUNWAYML_BASE_URL: sim.url,
    MEDIA_ORIGINS: sim.url,
    RUNWAY_POLL_INTERVAL_MS: '50',
    DATABASE_URL: databaseUrl,
    // Shared by both, as the README asks of processes on one database; kept out of the working tree.
    REFERENCE_DIR: join(dir, 'references'),
    DEFAULT_ALLOWANCE: String(ALLOWANCE),
    DEFAULT_PERIOD: 'none',
    // debug: a process that drops a copy says so, with the delivery's key.
    LOG_LEVEL: 'debug',
  });
  // Started together: both race to migrate the empty database (the migration takes an advisory lock).
  const starts = await Promise.allSettled([PlatformBot.started(envFor(portA, healthA)), PlatformBot.started(envFor(portB, healthB))]);
  const [botA, botB] = starts.map((start) => (start.status === 'fulfilled' ? start.value : undefined));
  if (botA === undefined || botB === undefined) {
    await Promise.all([botA?.kill(), botB?.kill()]);
    throw starts.find((start): start is PromiseRejectedResult => start.status === 'rejected')?.reason;
  }
  const processOf = (name: 'A' | 'B', bot: PlatformBot, port: number, healthPort: number): Process => ({
    name,
    bot,
    slack: createSlackSender(`http://127.0.0.1:${port}/slack/events`, SECRET),
    healthPort,
    instanceId: instanceIdOf(bot),
  });
  world = { fake, sim, dir, databaseUrl, a: processOf('A', botA, portA, healthA), b: processOf('B', botB, portB, healthB) };
}, 120_000);

afterAll(async () => {
  if (!world) return;
  const { fake, sim, dir, a, b } = world;
  await Promise.all([a.bot.stop(), b.bot.stop()]);
  expect(fake.specProblems()).toEqual([]);
  await fake.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
  await dropTestDatabases();
});

/** Four ports the OS has free now, no two alike: each process's PORT and HEALTH_PORT. */
async function fourFreePorts(): Promise<readonly [number, number, number, number]> {
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [a, b, c, d] = [...ports];
  if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error('fewer than four ports');
  return [a, b, c, d];
}

interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** A process's JSON log entries so far. */
function logEntries(bot: PlatformBot): LogEntry[] {
  return bot.lines.filter((line) => line.startsWith('{')).flatMap((line) => {
    try {
      return [JSON.parse(line) as LogEntry];
    } catch {
      return []; // the last line may still be arriving
    }
  });
}

function instanceIdOf(bot: PlatformBot): string {
  const started = logEntries(bot).find((entry) => entry.message === 'sharing the database with any other imagine-bot on it');
  const id = started?.instanceId;
  if (typeof id !== 'string') throw new Error(`no instanceId in the start log:\n${bot.tail()}`);
  return id;
}

let memberCount = 0;
/** A member no other test uses, known to users.info: jobs and balances are this test's alone. */
function newMember(fake: FakeSlack, name: string): string {
  const id = `U${String(++memberCount).padStart(3, '0')}${name.toUpperCase()}`;
  fake.addUser({ id, name });
  return id;
}

const sumOf = (entries: readonly LedgerEntry[]): number => entries.reduce((total, entry) => total + entry.delta, 0);

async function jobsOf(databaseUrl: string, userId: string): Promise<PostgresJobView[]> {
  return (await readPostgresJobs(databaseUrl)).filter((job) => job.userId === userId);
}

/** Wait (bounded) until the member's jobs are all delivered and their images shared in `channel`. */
async function deliveredTo(w: World, userId: string, channel: string, count: number): Promise<PostgresJobView[]> {
  return waitFor(
    `${count} image(s) of ${userId} delivered in ${channel}`,
    async () => {
      const jobs = await jobsOf(w.databaseUrl, userId);
      const shared = w.fake.sharedFiles().filter((upload) => upload.shares[0]?.channel === channel);
      // More than expected ends the wait at once: the assertions that follow say what doubled.
      if (jobs.length > count || shared.length > count) return jobs;
      return jobs.length === count && jobs.every((job) => job.state === 'delivered') && shared.length === count ? jobs : undefined;
    },
    JOB_DONE,
  ).catch(async (error: unknown) => {
    const jobs = await jobsOf(w.databaseUrl, userId);
    throw new Error(`${String(error)}\njobs: ${JSON.stringify(jobs.map((job) => [job.state, job.failureCode]))}\nA:\n${w.a.bot.tail(15)}\nB:\n${w.b.bot.tail(15)}`);
  });
}

/** Which processes logged that they dropped the delivery `key` as a copy. */
function droppedBy(w: World, key: string): string[] {
  return [w.a, w.b].filter((p) => logEntries(p.bot).some((entry) => entry.message === 'slack delivery seen before; ignored' && entry.key === key)).map((p) => p.name);
}

/** Which processes accepted the jobs `jobIds`, one name per acceptance. */
function acceptedBy(w: World, jobIds: readonly string[]): string[] {
  return [w.a, w.b].flatMap((p) =>
    logEntries(p.bot)
      .filter((entry) => entry.message === 'slack imagine accepted' && jobIds.includes(String(entry.jobId)))
      .map(() => p.name),
  );
}

/**
 * One delivery's whole footprint, for a member with a channel of their own: one job, one Runway
 * create for its prompt, one placeholder (turned to Done), one image shared, charged once what
 * Runway charged.
 */
async function expectWorkedOnce(w: World, member: string, channel: string, prompt: string): Promise<PostgresJobView> {
  const { fake, sim } = w;
  const [job] = await deliveredTo(w, member, channel, 1);
  expect(await jobsOf(w.databaseUrl, member)).toHaveLength(1);
  const creates = sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === prompt);
  expect(creates).toHaveLength(1);
  const task = sim.tasks().find((t) => t.id === job!.taskId);
  expect(task?.status).toBe('SUCCEEDED');
  expect(fake.calls('chat.postMessage').filter((r) => r.args.channel === channel)).toHaveLength(1);
  const shared = fake.sharedFiles().filter((upload) => upload.shares[0]?.channel === channel);
  expect(shared).toHaveLength(1);
  expect(shared[0]?.bytes).toEqual(sim.outputFor(task!.id));
  expect(fake.calls('files.completeUploadExternal').filter((r) => r.args.channel_id === channel && r.status === 200)).toHaveLength(1);
  expect(fake.message(channel, decodePlaceholder(job!.placeholder).ts)?.text).toContain('Done');
  // Charged once: one hold, one settlement, and the member's balance down by Runway's cost alone.
  const ledger = await readPostgresLedger(w.databaseUrl);
  const entries = ledger.filter((entry) => entry.job_id === job!.id);
  expect(entries.filter((entry) => entry.kind === 'reserve')).toHaveLength(1);
  expect(entries.filter((entry) => entry.kind === 'settle' || entry.kind === 'refund').length).toBeLessThanOrEqual(1);
  expect(sumOf(entries)).toBe(-task!.costCredits);
  expect(sumOf(ledger.filter((entry) => entry.user_id === member))).toBe(ALLOWANCE - task!.costCredits);
  // Nothing said privately: the copy got no answer, and the original needed none.
  expect(fake.ephemerals.filter((e) => e.channel === channel)).toEqual([]);
  await expectBothUp(w);
  return job!;
}

/** Both processes still serve (a process that crashed on a copy would refuse the connection). */
async function expectBothUp(w: World): Promise<void> {
  for (const p of [w.a, w.b]) {
    const response = await fetch(`http://127.0.0.1:${p.healthPort}/healthz`).catch((error: unknown) => ({ status: String(error) }));
    expect([p.name, response.status], p.bot.tail(15)).toEqual([p.name, 200]);
  }
}

describe('two Slack bot processes on one PostgreSQL database', () => {
  it('both are ready, on the same database', async () => {
    const w = world!;
    expect(w.a.instanceId).not.toBe(w.b.instanceId);
    for (const p of [w.a, w.b]) {
      const response = await fetch(`http://127.0.0.1:${p.healthPort}/readyz`);
      const body = (await response.json()) as { checks: Record<string, { ok: boolean }> };
      expect([p.name, response.status, body.checks.database?.ok, body.checks.slack?.ok]).toEqual([p.name, 200, true, true]);
    }
  });

  it('the same event sent to both (the second as a retry) makes one job, one Runway create, one placeholder, one image and one charge', async () => {
    const w = world!;
    const { fake } = w;
    const member = newMember(fake, 'dana');
    const prompt = 'a paper crane on a windowsill';
    const eventId = 'Ev0TWOPROC01';
    const mention = { type: 'app_mention', user: member, text: `<@${fake.botUserId}> ${prompt} --model muse_image`, ts: '1767225600.001100', channel: 'CEV01' };
    const answers = await Promise.all([
      w.a.slack.event(fake.teamId, mention, { eventId }),
      // What a balancer does with Slack's retry: it may land on the other process.
      w.b.slack.event(fake.teamId, mention, { eventId, retryNum: 1 }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);

    // One process works it and the other drops its copy, whichever claims first.
    const key = `event:${eventId}`;
    await waitFor('a copy to be dropped', () => droppedBy(w, key).length > 0, POLL);
    const job = await expectWorkedOnce(w, member, 'CEV01', prompt);
    const accepted = acceptedBy(w, [job.id]);
    expect(accepted).toHaveLength(1);
    expect(droppedBy(w, key)).toEqual([accepted[0] === 'A' ? 'B' : 'A']);
    expect(job.lockedBy).toBe(accepted[0] === 'A' ? w.a.instanceId : w.b.instanceId);
    // The image went into the mention's thread.
    expect(fake.sharedFiles().find((upload) => upload.shares[0]?.channel === 'CEV01')?.shares[0]?.threadTs).toBe(mention.ts);
  });

  it('the same slash command (same trigger_id) sent to both makes one job, one Runway create, one placeholder, one image and one charge', async () => {
    const w = world!;
    const { fake } = w;
    const member = newMember(fake, 'erin');
    const prompt = 'a paper boat on a pond';
    const fields = fake.commandFields('/imagine', `${prompt} --model muse_image`, member, 'CCMD01');
    const answers = await Promise.all([w.a.slack.command(fields), w.b.slack.command(fields)]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);

    const key = `trigger:${fields.trigger_id}`;
    await waitFor('a copy to be dropped', () => droppedBy(w, key).length > 0, POLL);
    const job = await expectWorkedOnce(w, member, 'CCMD01', prompt);
    const accepted = acceptedBy(w, [job.id]);
    expect(accepted).toHaveLength(1);
    expect(droppedBy(w, key)).toEqual([accepted[0] === 'A' ? 'B' : 'A']);
    // Neither process answered through the command's response_url (no refusal, no second acknowledgement).
    expect(fake.responses.filter((response) => fields.response_url.endsWith(`/${response.id}`))).toEqual([]);
  });

  it('a different event to each process makes two jobs, each delivered once by the process that received it', async () => {
    const w = world!;
    const { fake, sim } = w;
    const fay = newMember(fake, 'fay');
    const gus = newMember(fake, 'gus');
    const toA = { type: 'app_mention', user: fay, text: `<@${fake.botUserId}> a kite over the dunes --model muse_image`, ts: '1767225600.001200', channel: 'CEV02' };
    const toB = { type: 'app_mention', user: gus, text: `<@${fake.botUserId}> a kite over the sea --model muse_image`, ts: '1767225600.001300', channel: 'CEV03' };
    const answers = await Promise.all([w.a.slack.event(fake.teamId, toA, { eventId: 'Ev0TWOPROC02' }), w.b.slack.event(fake.teamId, toB, { eventId: 'Ev0TWOPROC03' })]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);

    const jobA = await expectWorkedOnce(w, fay, 'CEV02', 'a kite over the dunes');
    const jobB = await expectWorkedOnce(w, gus, 'CEV03', 'a kite over the sea');
    expect(acceptedBy(w, [jobA.id])).toEqual(['A']);
    expect(acceptedBy(w, [jobB.id])).toEqual(['B']);
    expect([jobA.lockedBy, jobB.lockedBy]).toEqual([w.a.instanceId, w.b.instanceId]);
    expect(droppedBy(w, 'event:Ev0TWOPROC02')).toEqual([]);
    expect(droppedBy(w, 'event:Ev0TWOPROC03')).toEqual([]);
    expect(new Set(sim.tasks().map((task) => task.id)).size).toBe(sim.tasks().length);
  });
});
