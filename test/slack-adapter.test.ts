/**
 * The Slack adapter (real Bolt, real WebClient) against the fake Slack, with a BotCore double of
 * our own: acknowledgement, placeholders, downloads with the token, delivery exactly once,
 * rate limits, moderators. The end-to-end tests with the real core are in slack-e2e.test.ts.
 * No test here waits on or measures the wall clock: the adapter gets a manual clock and a sleep that
 * records its waits; what only WebClient waits out (a 429 on a Web API call) is checked by what
 * crossed the wire and what the adapter logged, not by timing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSlackAdapter, type SlackAdapter } from '../adapters/slack/index.ts';
import { decodePlaceholder } from '../adapters/slack/placeholder.ts';
import { slackReference } from '../adapters/slack/references.ts';
import { STATUS_MIN_INTERVAL_MS } from '../adapters/slack/surface.ts';
import { ManualClock } from '../src/clock.ts';
import { createLogger } from '../src/log.ts';
import type { Delivery, DeliveryCheckpoint } from '../src/ports.ts';
import { encodePng } from '../simulator/png.ts';
import { CoreDouble } from './fakes/slack/core-double.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';
import { slackDeliveriesOn } from './support/deliveries.ts';
import { memoryCheckpoint } from './support/images.ts';
import { openSharedTestDb, type SharedTestDatabase } from './support/test-database.ts';

const SECRET = 'signing-secret-for-tests';
const CHANNEL = 'C0GENERAL';
const png = (shade: number): Buffer => encodePng(2, 2, new Uint8Array(12).fill(shade));

let fake: FakeSlack;
let adapter: SlackAdapter;
let core: CoreDouble;
let slack: SlackSender;
let clock: ManualClock;
/** The waits the adapter's own retries asked for (the upload's), in order; none is slept. */
let sleeps: number[];
let logLines: string[];
/** The bot's database (on the project's backend), where the adapter records the deliveries it worked. */
let database: SharedTestDatabase;

beforeEach(async () => {
  fake = await startFakeSlack();
  fake.addUser({ id: 'UALICE', name: 'alice' });
  fake.addUser({ id: 'UADMIN', name: 'ada', isAdmin: true });
  fake.addUser({ id: 'UCONF', name: 'carl' });
  core = new CoreDouble();
  clock = new ManualClock();
  sleeps = [];
  logLines = [];
  database = await openSharedTestDb();
  const port = await freePort();
  adapter = await startSlackAdapter({
    botToken: fake.botToken,
    signingSecret: SECRET,
    apiUrl: fake.apiUrl,
    moderators: ['UCONF'],
    port,
    host: '127.0.0.1',
    mediaOrigins: [],
    core,
    deliveries: slackDeliveriesOn(database.db, clock),
    log: createLogger('debug', (line) => logLines.push(line)),
    clock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  slack = createSlackSender(`http://127.0.0.1:${port}/slack/events`, SECRET);
});
afterEach(async () => {
  await adapter.stop();
  await fake.close();
  await database.close();
  expect(fake.specProblems()).toEqual([]);
});

const command = (name: string, text: string, user = 'UALICE'): Record<string, string> => fake.commandFields(name, text, user, CHANNEL);

const delivery = (bytes: Uint8Array): Delivery => ({
  jobId: 'job-1',
  requester: { userId: 'UALICE', displayName: 'alice' },
  files: [{ filename: 'imagine-job-1.png', contentType: 'image/png', bytes }],
  prompt: 'a koi pond <!channel>',
  model: 'gen4_image',
  modelLabel: 'Gen-4 Image',
  ratio: '1920:1080',
  seed: 7,
  costCredits: 8,
  caption: 'Gen-4 Image · 1920:1080 · seed 7 · 8 credits',
});

describe('slash commands', () => {
  it('/imagine is acknowledged at once, shows a placeholder in the channel and hands the request to the core', async () => {
    // The core stays busy until released: the acknowledgement must come back all the same.
    const release = core.holdImagine();
    let sent: { status: number } | undefined;
    void slack.command(command('/imagine', 'a koi pond --ratio 16:9 --seed 7')).then((answer) => (sent = answer));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    const acknowledged = await fake.waitFor(() => sent, 'the acknowledgement while the core is busy');
    expect(acknowledged.status).toBe(200);
    expect(call.isAnswered).toBe(false);
    release();
    await fake.waitFor(() => call.isAnswered, 'the core to answer');
    expect(call.options).toMatchObject({ prompt: 'a koi pond', ratio: '16:9', seed: '7', references: [] });
    expect(call.requester).toMatchObject({ platform: 'slack', communityId: fake.teamId, userId: 'UALICE', displayName: 'alice', isModerator: false });
    const placeholder = decodePlaceholder(call.placeholder);
    const message = fake.message(CHANNEL, placeholder.ts);
    expect(message?.text).toContain('Queued');
    expect(message?.threadTs).toBeUndefined();
  });

  it('/imagine help answers privately with the syntax and charges nothing', async () => {
    await slack.command(command('/imagine', 'help'));
    const response = await fake.waitFor(() => fake.responses[0], 'a response_url post');
    expect(response.body.response_type).toBe('ephemeral');
    expect(String(response.body.text)).toContain('--ratio');
    expect(core.imagineCalls).toHaveLength(0);
    expect(fake.calls('chat.postMessage')).toHaveLength(0);
  });

  it('a rejected /imagine removes its placeholder and tells only the requester why', async () => {
    core.balances.set(`${fake.teamId}:UALICE`, 2);
    await slack.command(command('/imagine', 'a koi pond'));
    const response = await fake.waitFor(() => fake.responses[0], 'a response_url post');
    expect(response.body).toMatchObject({ response_type: 'ephemeral', text: 'Not enough credits: balance 2, price 5.' });
    // The placeholder was posted, then deleted once the core said no.
    expect(fake.calls('chat.postMessage').map((c) => [c.args.channel, c.status])).toEqual([[CHANNEL, 200]]);
    expect(fake.messages.map((m) => m.isDeleted)).toEqual([true]);
  });

  it('/quota is refused to a member, allowed to a workspace admin and to a configured moderator, checked with users.info', async () => {
    await slack.command(command('/quota', 'grant <@UALICE|alice> 10', 'UALICE'));
    await slack.command(command('/quota', 'grant <@UALICE|alice> 10', 'UADMIN'));
    await slack.command(command('/quota', 'report', 'UCONF'));
    await fake.waitFor(() => core.quotaCalls.length === 3 && fake.responses.length === 3, 'three quota answers');
    const byUser = new Map(core.quotaCalls.map((c) => [c.requester.userId, c]));
    expect(byUser.get('UALICE')?.requester.isModerator).toBe(false);
    expect(byUser.get('UADMIN')?.requester.isModerator).toBe(true);
    expect(byUser.get('UCONF')?.requester.isModerator).toBe(true);
    expect(byUser.get('UADMIN')?.command).toEqual({ action: 'grant', userId: 'UALICE', userName: 'alice', amount: '10' });
    const texts = fake.responses.map((r) => [r.body.response_type, r.body.text]);
    expect(texts).toContainEqual(['ephemeral', 'Only moderators can use /quota.']);
    expect(texts).toContainEqual(['in_channel', 'quota grant done']);
    expect(fake.calls('users.info').map((c) => c.args.user).sort()).toEqual(['UADMIN', 'UALICE', 'UCONF']);
  });

  it('/credits @user asks the core about that user', async () => {
    await slack.command(command('/credits', '<@UADMIN|ada>'));
    const response = await fake.waitFor(() => fake.responses[0], 'a response_url post');
    expect(core.creditsCalls[0]?.subject).toEqual({ userId: 'UADMIN', displayName: 'ada' });
    expect(response.body.text).toBe('ada has 50 credits.');
  });

  it('/credits with something that is not a mention says how to name someone, without looking anyone up', async () => {
    await slack.command(command('/credits', 'bob smith'));
    const response = await fake.waitFor(() => fake.responses[0], 'a response_url post');
    expect(response.body).toMatchObject({ response_type: 'ephemeral' });
    expect(String(response.body.text)).toContain('`/credits @name`');
    expect(core.creditsCalls).toHaveLength(0);
    expect(fake.calls('users.info')).toHaveLength(0);
  });

  it("a user's roles are looked up once per five minutes: repeated commands reuse them, a demoted admin loses /quota after that", async () => {
    await slack.command(command('/quota', 'report', 'UADMIN'));
    await slack.command(command('/credits', '', 'UADMIN'));
    await fake.waitFor(() => core.quotaCalls.length === 1 && core.creditsCalls.length === 1, 'both answers');
    expect(fake.calls('users.info')).toHaveLength(1);
    fake.addUser({ id: 'UADMIN', name: 'ada', isAdmin: false });
    clock.advance(5 * 60_000 + 1);
    await slack.command(command('/quota', 'report', 'UADMIN'));
    await fake.waitFor(() => core.quotaCalls.length === 2, 'the second /quota');
    expect(fake.calls('users.info')).toHaveLength(2);
    expect(core.quotaCalls.map((c) => c.requester.isModerator)).toEqual([true, false]);
  });

  it('a spent response_url still reaches the requester, by chat.postEphemeral', async () => {
    await slack.command({ ...command('/imagine', 'help'), response_url: `${fake.origin}/expired-response-url` });
    const ephemeral = await fake.waitFor(() => fake.ephemerals[0], 'an ephemeral message');
    expect(ephemeral).toMatchObject({ channel: CHANNEL, user: 'UALICE' });
    expect(ephemeral.text).toContain('--ratio');
  });

  it('/imagine in a channel the bot is not in asks to invite it, and charges nothing', async () => {
    fake.inject('chat.postMessage', { kind: 'error', error: 'not_in_channel' });
    await slack.command(command('/imagine', 'a koi pond'));
    const response = await fake.waitFor(() => fake.responses[0], 'a response_url post');
    expect(response.body.response_type).toBe('ephemeral');
    expect(String(response.body.text)).toContain('/invite @imagine-bot');
    expect(String(response.body.text)).toContain('Nothing was charged');
    expect(core.imagineCalls).toHaveLength(0);
  });

  it('requests with a bad signature or an old timestamp are refused and reach no one', async () => {
    const bad = await slack.command(command('/imagine', 'a koi pond'), { isBadSignature: true });
    const old = await slack.command(command('/imagine', 'a koi pond'), { timestampSec: Math.floor(Date.now() / 1000) - 6 * 60 });
    const oldEvent = await slack.event(fake.teamId, { type: 'app_mention', user: 'UALICE', text: `<@${fake.botUserId}> hi`, ts: '1.1', channel: CHANNEL }, { timestampSec: 1 });
    expect([bad.status, old.status, oldEvent.status]).toEqual([401, 401, 401]);
    expect(core.imagineCalls).toHaveLength(0);
    expect(fake.requests.filter((r) => r.kind !== 'auth.test')).toHaveLength(0);
  });
});

describe('mentions with images', () => {
  it('downloads every attached image from Slack with the bot token and answers in the thread', async () => {
    const cat = fake.addUserFile('cat.png', png(10));
    const dog = fake.addUserFile('dog.png', png(200));
    const sent = await slack.event(fake.teamId, {
      type: 'app_mention',
      user: 'UALICE',
      text: `<@${fake.botUserId}> @cat1 meets @dog2 --tags cat1 dog2`,
      ts: '1767225000.000100',
      channel: CHANNEL,
      files: [cat, dog],
    });
    expect(sent.status).toBe(200);
    const call = await fake.waitFor(() => core.imagineCalls[0]?.downloaded.length === 2 && core.imagineCalls[0], 'both downloads');
    expect(call.options).toMatchObject({ prompt: '@cat1 meets @dog2', tags: ['cat1', 'dog2'] });
    expect(call.downloaded.map((b) => Buffer.from(b))).toEqual([png(10), png(200)]);
    const fileRequests = fake.calls('file');
    expect(fileRequests.map((r) => r.authorization)).toEqual([`Bearer ${fake.botToken}`, `Bearer ${fake.botToken}`]);
    const placeholder = decodePlaceholder(call.placeholder);
    expect(placeholder.thread).toBe('1767225000.000100');
    expect(fake.message(CHANNEL, placeholder.ts)?.threadTs).toBe('1767225000.000100');
  });

  it('a file hosted anywhere but Slack is never fetched, gets no token, and the user is told why', async () => {
    const elsewhere = { id: 'FEVIL', name: 'evil.png', mimetype: 'image/png', size: 10, url_private: `${fake.elsewhereOrigin}/evil.png` };
    await slack.event(fake.teamId, { type: 'app_mention', user: 'UALICE', text: `<@${fake.botUserId}> a cat`, ts: '1767225000.000200', channel: CHANNEL, files: [elsewhere] });
    const ephemeral = await fake.waitFor(() => fake.ephemerals[0], 'an ephemeral message');
    expect(ephemeral).toMatchObject({ channel: CHANNEL, user: 'UALICE' });
    expect(ephemeral.text).toContain("isn't stored on Slack's file host");
    expect(fake.calls('elsewhere')).toHaveLength(0);
    expect(core.imagineCalls).toHaveLength(0);
    expect(fake.calls('chat.postMessage')).toHaveLength(0);
  });

  it("the bot's own messages (and other bots') mentioning it are ignored", async () => {
    await slack.event(fake.teamId, { type: 'app_mention', user: 'UALICE', bot_id: 'BOTHER01', text: `<@${fake.botUserId}> a koi pond`, ts: '1767225000.000170', channel: CHANNEL });
    await slack.event(fake.teamId, { type: 'app_mention', user: 'UALICE', text: `<@${fake.botUserId}> a real request`, ts: '1767225000.000180', channel: CHANNEL });
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    expect(call.options.prompt).toBe('a real request');
    expect(core.imagineCalls).toHaveLength(1);
  });

  it('an HTML login page instead of the image (the token was refused) is reported as such, not as a bad image', async () => {
    const file = fake.addUserFile('cat.png', png(10));
    const reference = slackReference(file, { botToken: 'xoxb-revoked', fileOrigins: [fake.origin], redirectOrigins: [] });
    await expect(reference.download({ maxBytes: 1_000_000, signal: new AbortController().signal })).rejects.toMatchObject({
      code: 'slack.file_access_denied',
    });
    expect(fake.calls('file')[0]?.status).toBe(200);
  });
});

/** The delivery keys a log shows as dropped because they were seen before, in order. */
const droppedRepeats = (lines: readonly string[]): string[] =>
  lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { message: string; key?: string })
    .filter((entry) => entry.message === 'slack delivery seen before; ignored')
    .map((entry) => entry.key ?? '');

describe('deliveries Slack sends twice', () => {
  const mention = (ts: string) => ({ type: 'app_mention', user: 'UALICE', text: `<@${fake.botUserId}> a koi pond`, ts, channel: CHANNEL });

  it('an event retried with X-Slack-Retry-Num starts one request, not two', async () => {
    const first = await slack.event(fake.teamId, mention('1767225000.000150'), { eventId: 'Ev0REDELIVER' });
    const again = await slack.event(fake.teamId, mention('1767225000.000150'), { eventId: 'Ev0REDELIVER', retryNum: 1 });
    expect([first.status, again.status]).toEqual([200, 200]);
    // Both decided: the first handed to the core and answered, the retry dropped.
    await fake.waitFor(() => core.imagineCalls[0]?.isAnswered && droppedRepeats(logLines).length === 1, 'the first handled and the retry dropped');
    expect(droppedRepeats(logLines)).toEqual(['event:Ev0REDELIVER']);
    expect(core.imagineCalls).toHaveLength(1);
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
    expect(fake.ephemerals).toEqual([]);
  });

  it('a slash command posted twice (same trigger_id) is run once, and the copy gets no answer', async () => {
    const fields = command('/imagine', 'a koi pond');
    const answers = [await slack.command(fields), await slack.command(fields)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    await fake.waitFor(() => core.imagineCalls[0]?.isAnswered && droppedRepeats(logLines).length === 1, 'the first handled and the copy dropped');
    expect(droppedRepeats(logLines)).toEqual([`trigger:${fields.trigger_id}`]);
    expect(core.imagineCalls).toHaveLength(1);
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
    expect(fake.calls('users.info')).toHaveLength(1);
  });

  it('an Upscale click delivered twice upscales once', async () => {
    const click = {
      type: 'block_actions',
      team: { id: fake.teamId },
      user: { id: 'UALICE', name: 'alice' },
      api_app_id: fake.appId,
      token: 'legacy',
      trigger_id: fake.triggerId(),
      channel: { id: CHANNEL },
      container: { type: 'message', message_ts: '1767225000.000400', channel_id: CHANNEL },
      message: { ts: '1767225000.000400', type: 'message', text: 'Done' },
      response_url: fake.responseUrl(),
      actions: [{ type: 'button', action_id: 'imagine:upscale2', block_id: 'b', value: 'job-7', action_ts: '1767225001.000100' }],
    };
    const answers = [await slack.interaction(click), await slack.interaction(click)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    await fake.waitFor(() => core.actionCalls.length === 1 && droppedRepeats(logLines).length === 1, 'the first click handled and the copy dropped');
    expect(droppedRepeats(logLines)).toEqual([`trigger:${click.trigger_id}`]);
    expect(core.actionCalls).toEqual([{ action: 'upscale', jobId: 'job-7', detail: 2 }]);
    expect(fake.calls('chat.postMessage')).toHaveLength(1);
  });

  it('two bot processes on one database, each sent the same event: one request between them', async () => {
    // The second process: its own Bolt app, port, core and connection to the same database.
    const other = slackDeliveriesOn(await database.connect(), clock);
    const otherCore = new CoreDouble();
    const otherLines: string[] = [];
    const otherPort = await freePort();
    const second = await startSlackAdapter({
      botToken: fake.botToken,
      signingSecret: SECRET,
      apiUrl: fake.apiUrl,
      moderators: [],
      port: otherPort,
      host: '127.0.0.1',
      mediaOrigins: [],
      core: otherCore,
      deliveries: other,
      log: createLogger('debug', (line) => otherLines.push(line)),
      clock,
    });
    try {
      const toSecond = createSlackSender(`http://127.0.0.1:${otherPort}/slack/events`, SECRET);
      // Slack's first try reaches one process behind the load balancer, its retry the other, at once.
      const answers = await Promise.all([
        slack.event(fake.teamId, mention('1767225000.000500'), { eventId: 'Ev0SHARED' }),
        toSecond.event(fake.teamId, mention('1767225000.000500'), { eventId: 'Ev0SHARED', retryNum: 1 }),
      ]);
      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      const calls = () => [...core.imagineCalls, ...otherCore.imagineCalls];
      const dropped = () => droppedRepeats([...logLines, ...otherLines]);
      await fake.waitFor(() => calls()[0]?.isAnswered && dropped().length === 1, 'one process handling it and the other dropping it');
      expect(calls()).toHaveLength(1);
      expect(dropped()).toEqual(['event:Ev0SHARED']);
      expect(fake.calls('chat.postMessage')).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});

describe('delivery', () => {
  it('uploads the image into the same channel or thread with the prompt and settings, then marks the placeholder done', async () => {
    await slack.event(fake.teamId, { type: 'app_mention', user: 'UALICE', text: `<@${fake.botUserId}> a koi pond`, ts: '1767225000.000300', channel: CHANNEL });
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    const checkpoint = memoryCheckpoint();
    await adapter.surface.deliver(call.placeholder, delivery(png(42)), checkpoint);

    const [shared] = fake.sharedFiles();
    expect(Buffer.from(shared?.bytes ?? [])).toEqual(png(42));
    expect(shared?.shares).toEqual([expect.objectContaining({ channel: CHANNEL, threadTs: '1767225000.000300' })]);
    const comment = shared?.shares[0]?.initialComment ?? '';
    expect(comment).toContain('a koi pond &lt;!channel&gt;');
    expect(comment).toContain('seed 7');
    const placeholder = decodePlaceholder(call.placeholder);
    expect(fake.message(CHANNEL, placeholder.ts)?.text).toContain('Done');
    // Delivered again (a restart after everything was done): still one image.
    await adapter.surface.deliver(call.placeholder, delivery(png(42)), checkpoint);
    expect(fake.sharedFiles()).toHaveLength(1);
    expect(fake.calls('files.completeUploadExternal')).toHaveLength(1);
  });

  it('a crash between sharing the file and recording it never shows the image twice', async () => {
    await slack.command(command('/imagine', 'a koi pond'));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    // The process "dies" right after completeUploadExternal: the 'shared' checkpoint is never written.
    const saved: string[] = [];
    const dying: DeliveryCheckpoint = {
      load: async () => saved.at(-1) ?? null,
      save: async (value) => {
        if (value.includes('"shared"')) throw new Error('killed');
        saved.push(value);
      },
    };
    await expect(adapter.surface.deliver(call.placeholder, delivery(png(9)), dying)).rejects.toThrow('killed');
    expect(fake.sharedFiles()).toHaveLength(1);
    // After the restart: same row, same checkpoint ('uploaded'); files.info shows it shared already.
    const restarted = memoryCheckpoint();
    restarted.value = saved.at(-1) ?? null;
    await adapter.surface.deliver(call.placeholder, delivery(png(9)), restarted);
    expect(fake.sharedFiles()).toHaveLength(1);
    expect(fake.calls('files.completeUploadExternal')).toHaveLength(1);
    // Asked once before the share that "crashed", once after the restart, which found it shared, and
    // once for where it was shared (the link /history shows).
    expect(fake.calls('files.info')).toHaveLength(3);
    expect(fake.calls('chat.getPermalink')).toHaveLength(1);
    expect(fake.message(CHANNEL, decodePlaceholder(call.placeholder).ts)?.text).toContain('Done');
  });

  it('rides out rate limits on chat.update and the upload, waiting as long as Retry-After says', async () => {
    await slack.command(command('/imagine', 'a koi pond'));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    fake.inject('upload', { kind: 'ratelimited', retryAfterSec: 1 });
    fake.inject('chat.update', { kind: 'ratelimited', retryAfterSec: 1 });
    fake.inject('files.completeUploadExternal', { kind: 'status', status: 503 });
    await adapter.surface.deliver(call.placeholder, delivery(png(77)), memoryCheckpoint());
    expect(Buffer.from(fake.sharedFiles()[0]?.bytes ?? [])).toEqual(png(77));
    // On the wire: one 429 (Retry-After: 1), then the same call again, answered.
    expect(fake.calls('upload').map((c) => c.status)).toEqual([429, 200]);
    expect(fake.calls('chat.update').map((c) => [c.status, c.args.text?.split('\n')[1]])).toEqual([
      [429, 'Done: the image is below.'],
      [200, 'Done: the image is below.'],
    ]);
    expect(fake.calls('files.completeUploadExternal').map((c) => c.status)).toEqual([503, 200]);
    // The waits, as asked for rather than as measured: the upload's retry waited Retry-After (1 s),
    // and WebClient, which waits out a Web API 429 itself, said it would wait 1 s on chat.update.
    expect(sleeps).toEqual([1_000]);
    const rateLimited = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.message === 'slack: rate limited, waiting');
    expect(rateLimited.map(({ method, retryAfterSec }) => ({ method, retryAfterSec }))).toEqual([{ method: 'chat.update', retryAfterSec: 1 }]);
  });

  it('status updates are throttled per placeholder, but a new stage always shows', async () => {
    await slack.command(command('/imagine', 'a koi pond'));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    await adapter.surface.showStatus(call.placeholder, { kind: 'running', progress: 0.1 });
    await adapter.surface.showStatus(call.placeholder, { kind: 'running', progress: 0.2 });
    clock.advance(STATUS_MIN_INTERVAL_MS + 500);
    await adapter.surface.showStatus(call.placeholder, { kind: 'running', progress: 0.5 });
    await adapter.surface.showStatus(call.placeholder, { kind: 'delivering' });
    const message = fake.message(CHANNEL, decodePlaceholder(call.placeholder).ts);
    expect(message?.history.slice(1).map((t) => t.split('\n')[1])).toEqual([
      'Generating… ▰▱▱▱▱▱▱▱▱▱ 10%',
      'Generating… ▰▰▰▰▰▱▱▱▱▱ 50%',
      'Uploading the result…',
    ]);
  });

  it('a failure replaces the placeholder with the reason', async () => {
    await slack.command(command('/imagine', 'a koi pond'));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    await adapter.surface.showFailure(call.placeholder, { code: 'runway.safety_input', userMessage: 'Runway declined this prompt. Your 5 credits were refunded.' });
    expect(fake.message(CHANNEL, decodePlaceholder(call.placeholder).ts)?.text).toContain('Your 5 credits were refunded.');
  });

  it('a failure on a placeholder someone deleted reaches the requester privately', async () => {
    await slack.command(command('/imagine', 'a koi pond'));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    const placeholder = decodePlaceholder(call.placeholder);
    fake.message(CHANNEL, placeholder.ts)!.isDeleted = true;
    await adapter.surface.showFailure(call.placeholder, { code: 'runway.safety_input', userMessage: 'Runway declined this prompt. Your 5 credits were refunded.' });
    expect(fake.ephemerals).toEqual([expect.objectContaining({ channel: CHANNEL, user: 'UALICE', text: expect.stringContaining('Your 5 credits were refunded.') })]);
  });

  it('an upload that expired before it was shared is uploaded again, and the image still shows once', async () => {
    await slack.command(command('/imagine', 'a koi pond'));
    const call = await fake.waitFor(() => core.imagineCalls[0], 'core.imagine');
    fake.inject('files.completeUploadExternal', { kind: 'error', error: 'file_not_found' });
    await adapter.surface.deliver(call.placeholder, delivery(png(5)), memoryCheckpoint());
    expect(fake.calls('files.getUploadURLExternal')).toHaveLength(2);
    expect(fake.sharedFiles()).toHaveLength(1);
    expect(Buffer.from(fake.sharedFiles()[0]?.bytes ?? [])).toEqual(png(5));
  });
});
