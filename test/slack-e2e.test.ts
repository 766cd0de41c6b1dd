/**
 * Issue 4's end-to-end scenarios: the real bot (`src/main.ts`, real Bolt, real core, the real store: SQLite, or PostgreSQL in the postgres project)
 * against the fake Slack and the Runway simulator. Assertions are on what crossed the wire and
 * on the ledger read back from the bot's own database. The tests of the first block share one bot
 * process, but each has members and a channel of its own and asserts only on those: any of them
 * passes run alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePlaceholder } from '../adapters/slack/placeholder.ts';
import { fileNotOnSlack } from '../adapters/slack/references.ts';
import { escapeMrkdwn, failureText, placeholderHead } from '../adapters/slack/texts.ts';
import { NOT_MODERATOR } from '../src/commands/credits-command.ts';
import { explainFailureCode } from '../src/runway/failure-codes.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { PlatformBot, type PlatformBot as BotProcess } from './support/platform-bot.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';
import type { LedgerEntry } from './support/bot-database.ts';
import { newBotStore, type BotStore } from './support/bot-store.ts';
import { noisePng } from './support/images.ts';

const SECRET = 'e2e-signing-secret';
const RUNWAY_KEY = 'key_e2e';
const ALLOWANCE = 20;

interface World {
  fake: FakeSlack;
  sim: RunwaySimulator;
  dir: string;
  /** The bot's store, on the project's backend. */
  store: BotStore;
  port: number;
  slack: SlackSender;
  env: Record<string, string>;
}

async function createWorld(generationMs: number): Promise<World> {
  const fake = await startFakeSlack();
  const sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs, pendingMs: 100 });
  const dir = mkdtempSync(join(tmpdir(), 'slack-e2e-'));
  const store = await newBotStore(dir);
  const port = await freePort();
  fake.addUser({ id: 'UALICE', name: 'alice' });
  fake.addUser({ id: 'UBOB', name: 'bob' });
  fake.addUser({ id: 'UADMIN', name: 'ada', isAdmin: true });
  return {
    fake,
    sim,
    dir,
    store,
    port,
    slack: createSlackSender(`http://127.0.0.1:${port}/slack/events`, SECRET),
    env: {
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      PORT: String(port),
      RUNWAYML_API_SECRET: RUNWAY_KEY,
      RUNWAYML_BASE_URL: sim.url,
      ...store.env,
      // The elsewhere host is allowed for downloads in general: the Slack adapter must still refuse it.
      MEDIA_ORIGINS: `${fake.elsewhereOrigin} ${sim.url}`,
      RUNWAY_POLL_INTERVAL_MS: '50',
      DEFAULT_ALLOWANCE: String(ALLOWANCE),
      LOG_LEVEL: 'debug',
    },
  };
}

async function destroyWorld(world: World | undefined, bot: BotProcess | undefined): Promise<void> {
  await bot?.stop();
  await world?.fake.close();
  await world?.sim.close();
  await world?.store.discard();
  if (world) rmSync(world.dir, { recursive: true, force: true });
}

/** What Runway's moderation failure (the simulator's `sim:safety`) is shown as. */
// What `sim:internal` fails with: a failure Runway does not bill.
const BAD_OUTPUT = explainFailureCode('INTERNAL.BAD_OUTPUT.CODE01');

let memberCount = 0;
/** A member no other test uses (known to users.info), so balances and jobs are this test's alone. */
function newMember(world: World, name: string, isAdmin = false): string {
  const id = `U${String(++memberCount).padStart(3, '0')}${name.toUpperCase()}`;
  world.fake.addUser({ id, name, isAdmin });
  return id;
}

/** The codes the bot logged for a member: its refusals, and its /credits and /quota answers. */
function codesFor(bot: BotProcess, userId: string): string[] {
  return bot.lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { message: string; user?: string; code?: string })
    .filter((entry) => entry.user === userId && entry.code !== undefined && (entry.message === 'slack request refused' || entry.message.endsWith(' answered')))
    .map((entry) => entry.code!);
}

const jobsOf = async (world: World, userId: string) => (await world.store.readJobs()).filter((job) => job.userId === userId);
const sumOf = (entries: readonly LedgerEntry[]): number => entries.reduce((total, entry) => total + entry.delta, 0);
const balanceOf = async (world: World, userId: string) => sumOf((await world.store.readLedger()).filter((entry) => entry.user_id === userId));
const jobNet = async (world: World, jobId: string) => sumOf((await world.store.readLedger()).filter((entry) => entry.job_id === jobId));
/** The member's jobs once exactly one of them is delivered; false until then. */
const oneDelivered = async (world: World, userId: string) => {
  const jobs = await jobsOf(world, userId);
  return jobs.filter((j) => j.state === 'delivered').length === 1 && jobs;
};


describe('Slack end to end (one bot process)', () => {
  let world: World;
  let bot: BotProcess;

  beforeAll(async () => {
    world = await createWorld(800);
    bot = await PlatformBot.started(world.env);
  });
  afterAll(async () => {
    if (world) expect(world.fake.specProblems()).toEqual([]);
    await destroyWorld(world, bot);
  });

  it('1. a mention with two images and --tags: downloaded with the token, sent to Runway as uploads, the result in the thread, the ledger debited', async () => {
    const { fake, sim, slack } = world;
    const alice = newMember(world, 'alice');
    const cat = noisePng(1);
    const dog = noisePng(2);
    const files = [fake.addUserFile('cat.png', cat), fake.addUserFile('dog.jpg', dog, 'image/jpeg')];
    const ts = '1767225600.000100';
    const sent = await slack.event(fake.teamId, { type: 'app_mention', user: alice, text: `<@${fake.botUserId}> @cat1 and @dog2 at the beach --tags cat1 dog2`, ts, channel: 'C1', files });
    expect(sent.status).toBe(200);

    const [share] = await fake.waitFor(() => fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C1').length === 1 && fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C1'), 'the result in C1', 30_000);
    const [job] = await fake.waitFor(() => oneDelivered(world, alice), 'the job delivered');

    // Downloads: both files, from Slack's file host, with the bot token; the token went nowhere else.
    const paths = files.map((file) => new URL(file.url_private).pathname);
    expect(fake.calls('file').filter((r) => paths.includes(r.path)).map((r) => r.authorization)).toEqual([`Bearer ${fake.botToken}`, `Bearer ${fake.botToken}`]);
    expect(sim.requests.some((r) => JSON.stringify(r.headers).includes(fake.botToken))).toBe(false);
    expect(fake.calls('elsewhere')).toHaveLength(0);
    // Runway: two uploads carrying those bytes, then a create that names them by runway:// URI and tag.
    const task = sim.tasks().find((t) => t.id === job!.taskId);
    const uploadOf = (uri: string | undefined) => sim.uploads().find((u) => u.uri === uri);
    expect(task?.referenceImages.map((r) => r.tag)).toEqual(['cat1', 'dog2']);
    expect(task?.referenceImages.map((r) => uploadOf(r.uri)?.bytes)).toEqual([cat, dog]);
    expect(task?.referenceImages.map((r) => r.uri.slice(0, 'runway://'.length))).toEqual(['runway://', 'runway://']);
    // Slack: the simulator's PNG, shared once into the mention's thread, with the prompt; placeholder done.
    expect(share?.bytes).toEqual(sim.outputFor(task!.id));
    expect(share?.shares).toEqual([expect.objectContaining({ channel: 'C1', threadTs: ts })]);
    expect(share?.shares[0]?.initialComment).toContain('@cat1 and @dog2 at the beach');
    const placeholder = decodePlaceholder(job!.placeholder);
    expect(fake.message('C1', placeholder.ts)?.text).toContain('Done');
    // Ledger: charged the task's final cost, nothing else.
    expect(await jobNet(world, job!.id)).toBe(-task!.costCredits);
    expect(await balanceOf(world, alice)).toBe(ALLOWANCE - task!.costCredits);
    expect(codesFor(bot, alice)).toEqual([]);
  });

  it('2. a url_private on another host is never fetched, the token never goes there, and the user is told', async () => {
    const { fake, slack } = world;
    const bob = newMember(world, 'bob');
    const foreign = { id: 'FEVIL01', name: 'cat.png', mimetype: 'image/png', size: 2000, url_private: `${fake.elsewhereOrigin}/files-pri/T-F/cat.png` };
    await slack.event(fake.teamId, { type: 'app_mention', user: bob, text: `<@${fake.botUserId}> a cat`, ts: '1767225600.000200', channel: 'C2', files: [foreign] });
    const notice = await fake.waitFor(() => fake.ephemerals.find((e) => e.channel === 'C2'), 'an ephemeral notice');
    expect(notice.user).toBe(bob);
    expect(notice.text).toBe(escapeMrkdwn(fileNotOnSlack(foreign).userMessage));
    expect(codesFor(bot, bob)).toEqual(['slack.file_not_on_slack']);
    expect(fake.calls('elsewhere')).toHaveLength(0);
    // Refused by the adapter before the core: no job, so nothing could reach Runway for it.
    expect(await jobsOf(world, bob)).toEqual([]);
    expect(fake.messages.filter((m) => m.channel === 'C2')).toEqual([]);
  });

  it('3. a request with a bad signature or an old timestamp is rejected and nothing happens', async () => {
    const { fake, slack } = world;
    const bob = newMember(world, 'bob');
    const apiCallsBefore = fake.requests.length;
    const bad = await slack.command(fake.commandFields('/imagine', 'a forged cat', bob, 'C3'), { isBadSignature: true });
    const stale = await slack.command(fake.commandFields('/imagine', 'a replayed cat', bob, 'C3'), { timestampSec: Math.floor(Date.now() / 1000) - 600 });
    const staleEvent = await slack.event(fake.teamId, { type: 'app_mention', user: bob, text: `<@${fake.botUserId}> a cat`, ts: '1.2', channel: 'C3' }, { isBadSignature: true });
    expect([bad.status, stale.status, staleEvent.status]).toEqual([401, 401, 401]);
    // Give a wrongly accepted request every chance to show up: a signed request after them must be the only one seen.
    await slack.command(fake.commandFields('/credits', '', bob, 'C3'));
    await fake.waitFor(() => fake.requests.slice(apiCallsBefore).some((r) => r.kind === 'respond'), 'the /credits answer');
    expect(codesFor(bot, bob)).toEqual(['credits.view']);
    expect(fake.requests.slice(apiCallsBefore).filter((r) => r.kind === 'chat.postMessage')).toEqual([]);
    expect(await jobsOf(world, bob)).toEqual([]);
  });

  it('4. not enough credits costs nothing; a Runway failure is refunded; a member cannot use /quota', async () => {
    const { fake, sim, slack } = world;
    const bob = newMember(world, 'bob');
    const alice = newMember(world, 'alice');
    const admin = newMember(world, 'ada', true);
    // A member's /quota is refused, privately, and moves nothing.
    const refusedFields = fake.commandFields('/quota', `set <@${bob}|bob> 1000`, bob, 'C4');
    await slack.command(refusedFields);
    const refusal = await fake.waitFor(() => fake.responses.find((r) => refusedFields.response_url.endsWith(`/${r.id}`)), 'the refusal');
    expect(refusal.body).toMatchObject({ response_type: 'ephemeral', text: escapeMrkdwn(NOT_MODERATOR.userMessage) });
    expect(codesFor(bot, bob)).toEqual([NOT_MODERATOR.code]);
    expect((await world.store.readLedger()).filter((entry) => entry.user_id === bob && (entry.kind === 'set' || entry.kind === 'grant'))).toHaveLength(0);

    // A workspace admin (from users.info) sets Bob to 3 credits; an /imagine costing more is refused.
    await slack.command(fake.commandFields('/quota', `set <@${bob}|bob> 3`, admin, 'C4'));
    await fake.waitFor(async () => (await balanceOf(world, bob)) === 3, 'Bob at 3 credits');
    expect(codesFor(bot, admin)).toEqual(['quota.set']);
    const imagineFields = fake.commandFields('/imagine', 'a koi pond', bob, 'C4');
    await slack.command(imagineFields);
    const broke = await fake.waitFor(() => fake.responses.find((r) => imagineFields.response_url.endsWith(`/${r.id}`) && r.body.response_type === 'ephemeral'), 'the not-enough-credits answer');
    expect(String(broke.body.text)).toMatch(/credit/i);
    expect(String(broke.body.text)).toContain('3');
    expect(codesFor(bot, bob)).toEqual([NOT_MODERATOR.code, 'credits.insufficient']);
    expect(await jobsOf(world, bob)).toEqual([]);
    expect(await balanceOf(world, bob)).toBe(3);
    expect(fake.messages.filter((m) => m.channel === 'C4' && !m.isDeleted)).toEqual([]);

    // A generation Runway fails: the placeholder explains it and the reservation comes back.
    await slack.command(fake.commandFields('/imagine', 'a koi pond sim:internal', alice, 'C4'));
    const failed = await fake.waitFor(async () => (await jobsOf(world, alice)).find((j) => j.state === 'failed'), 'the failed job', 20_000);
    expect(failed.failureCode).toBe(BAD_OUTPUT.code);
    expect(await jobNet(world, failed.id)).toBe(0);
    expect(await balanceOf(world, alice)).toBe(ALLOWANCE);
    expect(sim.tasks().find((t) => t.id === failed.taskId)?.status).toBe('FAILED');
    const placeholder = fake.message('C4', decodePlaceholder(failed.placeholder).ts);
    await fake.waitFor(() => placeholder?.text.includes(':warning:'), 'the failure on the placeholder');
    expect(placeholder?.text).toBe(failureText(placeholderHead(alice, 'a koi pond sim:internal'), BAD_OUTPUT.userMessage));
    expect(fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C4')).toEqual([]);
  });

  it('7. --count 4 on muse_image: one task with outputCount 4, four files in one completeUploadExternal, charged per image; --count on gen4_image refused at no cost', async () => {
    const { fake, sim, slack } = world;
    const alice = newMember(world, 'alice');
    await slack.command(fake.commandFields('/imagine', 'four koi in a row --model muse_image --count 4', alice, 'C7'));
    const [job] = await fake.waitFor(() => oneDelivered(world, alice), 'the job delivered', 30_000);
    const create = sim.requests.find((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === 'four koi in a row');
    expect((create?.body as { outputCount?: number }).outputCount).toBe(4);
    const completes = fake.calls('files.completeUploadExternal').filter((r) => r.args.channel_id === 'C7');
    expect(completes).toHaveLength(1);
    expect((JSON.parse(completes[0]!.args.files!) as unknown[]).length).toBe(4);
    const shared = fake.messages.filter((m) => m.channel === 'C7' && m.fileIds.length > 0);
    expect(shared.map((m) => m.fileIds.length)).toEqual([4]);
    const task = sim.tasks().find((t) => t.id === job!.taskId);
    expect(task?.costCredits).toBe(4);
    expect(await jobNet(world, job!.id)).toBe(-4);

    const refused = fake.commandFields('/imagine', 'koi --model gen4_image --count 4', alice, 'C7');
    await slack.command(refused);
    const answer = await fake.waitFor(() => fake.responses.find((r) => refused.response_url.endsWith(`/${r.id}`)), 'the refusal');
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(answer.body.text)).toContain('makes one image per request');
    expect(codesFor(bot, alice)).toEqual(['request.count_not_supported']);
    expect(await balanceOf(world, alice)).toBe(ALLOWANCE - 4);
  });

  it('8. /imagine history: private, the last results with a permalink to the message holding each image', async () => {
    const { fake, slack } = world;
    const carol = newMember(world, 'carol');
    await slack.command(fake.commandFields('/imagine', 'a <b>koi</b> & friends --model muse_image', carol, 'C8'));
    await fake.waitFor(async () => (await jobsOf(world, carol)).some((j) => j.state === 'delivered'), 'the job delivered', 30_000);
    const shared = fake.messages.find((m) => m.channel === 'C8' && m.fileIds.length > 0);
    const asked = fake.commandFields('/imagine', 'history', carol, 'C8');
    await slack.command(asked);
    const answer = await fake.waitFor(() => fake.responses.find((r) => asked.response_url.endsWith(`/${r.id}`)), 'the history');
    expect(answer.body).toMatchObject({ response_type: 'ephemeral' });
    const lines = String(answer.body.text).split('\n');
    expect(lines[0]).toBe('Your last image in this workspace:');
    expect(lines[1]?.replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^>]+>/, '<!date>')).toBe(
      `1. “a &lt;b&gt;koi&lt;/b&gt; &amp; friends” · Muse Image · 1 credit · <!date> · <https://fake.slack.com/archives/C8/p${shared!.ts.replace('.', '')}|open>`,
    );
  });

  it('6. rate limits on chat.update and on the upload are ridden out: the image still arrives, once', async () => {
    const { fake, sim, slack } = world;
    const carol = newMember(world, 'carol');
    // Requests from here on are this test's: the earlier tests waited for all of their own work.
    const firstRequest = fake.requests.length;
    fake.inject('chat.update', { kind: 'ratelimited', retryAfterSec: 1 }, 2);
    fake.inject('upload', { kind: 'ratelimited', retryAfterSec: 1 });
    fake.inject('files.getUploadURLExternal', { kind: 'status', status: 503 });
    await slack.command(fake.commandFields('/imagine', 'a lighthouse at dusk --ratio 1280:720', carol, 'C6'));
    const [share] = await fake.waitFor(() => fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C6').length > 0 && fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C6'), 'the result in C6', 30_000);
    const job = await fake.waitFor(async () => (await jobsOf(world, carol)).find((j) => j.state === 'delivered'), 'the job delivered');
    expect(fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C6')).toHaveLength(1);
    expect(share?.bytes).toEqual(sim.outputFor(job.taskId!));
    // Each fault was answered once and the call made again until it went through (no timing measured).
    const statuses = (kind: string) => fake.requests.slice(firstRequest).filter((r) => r.kind === kind).map((c) => c.status);
    expect(statuses('upload')).toEqual([429, 200]);
    expect(statuses('files.getUploadURLExternal')).toEqual([503, 200]);
    expect(statuses('chat.update').filter((s) => s === 429)).toHaveLength(2);
    expect(statuses('chat.update').at(-1)).toBe(200);
    expect(fake.message('C6', decodePlaceholder(job.placeholder).ts)?.text).toContain('Done');
    expect(codesFor(bot, carol)).toEqual([]);
  });

  it('9. an event Slack retries (X-Slack-Retry-Num: 1) makes one job, one Runway create and one image', async () => {
    const { fake, sim, slack } = world;
    const dana = newMember(world, 'dana');
    const mention = { type: 'app_mention', user: dana, text: `<@${fake.botUserId}> a paper crane --model muse_image`, ts: '1767225600.000900', channel: 'C9' };
    const first = await slack.event(fake.teamId, mention, { eventId: 'Ev0E2ERETRY' });
    const retry = await slack.event(fake.teamId, mention, { eventId: 'Ev0E2ERETRY', retryNum: 1 });
    expect([first.status, retry.status]).toEqual([200, 200]);
    // Both copies decided: the retry dropped, the first delivered.
    await bot.waitForLog('"key":"event:Ev0E2ERETRY"');
    const [job] = await fake.waitFor(() => oneDelivered(world, dana), 'the job delivered', 30_000);
    expect(await jobsOf(world, dana)).toHaveLength(1);
    expect(sim.requests.filter((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === 'a paper crane')).toHaveLength(1);
    expect(fake.calls('chat.postMessage').filter((r) => r.args.channel === 'C9')).toHaveLength(1);
    expect(fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C9')).toHaveLength(1);
    expect(await jobNet(world, job!.id)).toBe(-1);
    expect(await balanceOf(world, dana)).toBe(ALLOWANCE - 1);
  });

  it('10. a slash command posted twice (same trigger_id) makes one job, one Runway create and one image', async () => {
    const { fake, sim, slack } = world;
    const erin = newMember(world, 'erin');
    const fields = fake.commandFields('/imagine', 'a paper boat --model muse_image', erin, 'C10');
    const answers = [await slack.command(fields), await slack.command(fields)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    await bot.waitForLog(`"key":"trigger:${fields.trigger_id}"`);
    const [job] = await fake.waitFor(() => oneDelivered(world, erin), 'the job delivered', 30_000);
    expect(await jobsOf(world, erin)).toHaveLength(1);
    expect(sim.requests.filter((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === 'a paper boat')).toHaveLength(1);
    expect(fake.calls('chat.postMessage').filter((r) => r.args.channel === 'C10')).toHaveLength(1);
    expect(fake.sharedFiles().filter((u) => u.shares[0]?.channel === 'C10')).toHaveLength(1);
    expect(await jobNet(world, job!.id)).toBe(-1);
    expect(await balanceOf(world, erin)).toBe(ALLOWANCE - 1);
  });
});

describe('Slack end to end (crash)', () => {
  let world: World;
  let bot: BotProcess | undefined;

  beforeAll(async () => {
    world = await createWorld(2_500);
  });
  afterAll(async () => {
    await destroyWorld(world, bot);
  });

  it('5. killed mid-generation and restarted: the image arrives once and the ledger balances', async () => {
    const { fake, sim, slack } = world;
    const env = { ...world.env, ...world.store.crashEnv };
    bot = await PlatformBot.started(env);
    await slack.command(fake.commandFields('/imagine', 'a koi pond at dawn', 'UALICE', 'C5'));
    await fake.waitFor(() => sim.tasks()[0]?.status === 'RUNNING', 'the task running', 20_000);
    // Killed before the bot has stored the task id, the job is rightly refunded, not resumed: wait for it.
    await fake.waitFor(async () => (await jobsOf(world, 'UALICE')).some((j) => j.state === 'submitted' || j.state === 'running'), 'the task id stored', 20_000);
    await bot.kill();
    expect(fake.sharedFiles()).toEqual([]);

    bot = await PlatformBot.started(env);
    const [share] = await fake.waitFor(() => fake.sharedFiles().length > 0 && fake.sharedFiles(), 'the result after the restart', 30_000);
    const [job] = await fake.waitFor(() => oneDelivered(world, 'UALICE'), 'the job delivered');
    const task = sim.tasks()[0]!;
    expect(sim.tasks()).toHaveLength(1);
    expect(share?.bytes).toEqual(sim.outputFor(task.id));
    expect(fake.sharedFiles()).toHaveLength(1);
    expect(fake.calls('files.completeUploadExternal').filter((c) => c.status === 200)).toHaveLength(1);
    expect(fake.message('C5', decodePlaceholder(job!.placeholder).ts)?.text).toContain('Done');
    expect(await jobNet(world, job!.id)).toBe(-task.costCredits);
    expect(await balanceOf(world, 'UALICE')).toBe(ALLOWANCE - task.costCredits);
  });
});
