/**
 * Socket Mode end to end: the real bot (`src/main.ts`) with SLACK_APP_TOKEN and no signing secret
 * connects to the fake Slack's WebSocket; slash commands and mentions arrive as envelopes, are
 * acked over the socket, and run against the Runway simulator. Assertions are on what crossed the
 * wire and on the ledger read back from the bot's own database. One bot process serves the
 * tests; each uses its own member and channel, and any of them passes run alone.
 * https://docs.slack.dev/apis/events-api/using-socket-mode
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePlaceholder } from '../adapters/slack/placeholder.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { PlatformBot, type PlatformBot as BotProcess } from './support/platform-bot.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { eventCallback } from './fakes/slack/sender.ts';
import type { LedgerEntry } from './support/bot-database.ts';
import { newBotStore, type BotStore } from './support/bot-store.ts';
import { noisePng } from './support/images.ts';

const RUNWAY_KEY = 'key_socket_mode';
const ALLOWANCE = 20;


/** Whether anything accepts a TCP connection on 127.0.0.1:port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('Slack in Socket Mode (one bot process, no HTTP endpoint)', () => {
  let fake: FakeSlack;
  let sim: RunwaySimulator;
  let bot: BotProcess | undefined;
  let dir: string;
  /** The bot's store, on the project's backend. */
  let store: BotStore;
  let port: number;

  const deliveredJob = async (userId: string) => (await store.readJobs()).find((job) => job.userId === userId && job.state === 'delivered');
  const sumOf = (entries: readonly LedgerEntry[]): number => entries.reduce((total, entry) => total + entry.delta, 0);
  const balanceOf = async (userId: string) => sumOf((await store.readLedger()).filter((entry) => entry.user_id === userId));
  const jobNet = async (jobId: string) => sumOf((await store.readLedger()).filter((entry) => entry.job_id === jobId));
  const sharedIn = (channel: string) => fake.sharedFiles().filter((u) => u.shares[0]?.channel === channel);
  /** Every envelope the tests have sent over the socket so far, in order. */
  const envelopes: string[] = [];
  const deliver = (...args: Parameters<FakeSlack['socketMode']['deliver']>): string => {
    const envelopeId = fake.socketMode.deliver(...args);
    envelopes.push(envelopeId);
    return envelopeId;
  };

  beforeAll(async () => {
    fake = await startFakeSlack();
    sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 300, pendingMs: 50 });
    dir = mkdtempSync(join(tmpdir(), 'slack-socket-'));
    store = await newBotStore(dir);
    // A port the bot is told about: in Socket Mode nothing may listen on it.
    port = await freePort();
    fake.addUser({ id: 'UALICE', name: 'alice' });
    fake.addUser({ id: 'UBOB', name: 'bob' });
    bot = await PlatformBot.started({
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_APP_TOKEN: fake.appToken,
      SLACK_API_URL: fake.apiUrl,
      PORT: String(port),
      RUNWAYML_API_SECRET: RUNWAY_KEY,
      RUNWAYML_BASE_URL: sim.url,
      ...store.env,
      MEDIA_ORIGINS: sim.url,
      RUNWAY_POLL_INTERVAL_MS: '50',
      DEFAULT_ALLOWANCE: String(ALLOWANCE),
      LOG_LEVEL: 'debug',
    });
  });
  afterAll(async () => {
    if (fake) expect(fake.specProblems()).toEqual([]);
    await bot?.stop();
    await fake?.close();
    await sim?.close();
    await store?.discard();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the app token alone and listens on no HTTP port', async () => {
    expect(fake.socketMode.isConnected).toBe(true);
    expect(await isListening(port)).toBe(false);
    const opens = fake.calls('apps.connections.open');
    expect(opens.map((r) => [r.authorization, r.status, r.error])).toEqual([[`Bearer ${fake.appToken}`, 200, undefined]]);
    // The app token is for the socket only; the bot token for everything else.
    expect(fake.requests.filter((r) => r.kind !== 'apps.connections.open' && r.authorization === `Bearer ${fake.appToken}`)).toEqual([]);
    expect(bot?.lines.some((l) => l.includes('slack adapter started') && l.includes('socket'))).toBe(true);
  });

  it('a /imagine over the socket is acked first, then the placeholder and the image appear in the channel and the ledger is debited', async () => {
    const envelopeId = deliver('slash_commands', fake.commandFields('/imagine', 'a koi pond at dawn', 'UALICE', 'C1'));
    const ack = await fake.socketMode.waitForAck(envelopeId);
    const [share] = await fake.waitFor(() => sharedIn('C1').length > 0 && sharedIn('C1'), 'the image in C1', 20_000);
    const job = await fake.waitFor(() => deliveredJob('UALICE'), 'the job delivered');

    // Acked with an empty payload, before the bot posted anything.
    expect(ack.payload).toEqual({});
    const placeholderPosts = fake.calls('chat.postMessage').filter((r) => r.args.channel === 'C1');
    expect(placeholderPosts).toHaveLength(1);
    // Order of arrival at the fake, not clock readings: the ack came in before the placeholder post.
    expect(ack.seq).toBeLessThan(placeholderPosts[0]!.seq);
    // The placeholder, finished; the simulator's picture uploaded and shared into the channel once.
    const task = sim.tasks().find((t) => t.id === job.taskId);
    const placeholder = fake.message('C1', decodePlaceholder(job.placeholder).ts);
    expect(placeholder?.history[0]).toContain('a koi pond at dawn');
    expect(placeholder?.text).toContain('Done');
    expect(share?.bytes).toEqual(sim.outputFor(task!.id));
    expect(share?.shares).toEqual([expect.objectContaining({ channel: 'C1', threadTs: undefined })]);
    expect(fake.calls('files.completeUploadExternal').filter((r) => r.args.channel_id === 'C1').map((r) => r.status)).toEqual([200]);
    expect(sharedIn('C1')).toHaveLength(1);
    // Ledger: charged the task's cost, nothing else.
    expect(await jobNet(job.id)).toBe(-task!.costCredits);
    expect(await balanceOf('UALICE')).toBe(ALLOWANCE - task!.costCredits);
  });

  it('an app_mention with an image over the socket is acked, sends the image to Runway and answers in the thread', async () => {
    const cat = noisePng(7);
    const file = fake.addUserFile('cat.png', cat);
    const ts = '1767225600.000300';
    const mention = { type: 'app_mention', user: 'UBOB', text: `<@${fake.botUserId}> @cat1 wearing a tiny hat --tags cat1`, ts, channel: 'C2', files: [file] };
    const envelopeId = deliver('events_api', eventCallback(fake.teamId, mention));
    const ack = await fake.socketMode.waitForAck(envelopeId);
    const [share] = await fake.waitFor(() => sharedIn('C2').length > 0 && sharedIn('C2'), 'the image in C2', 20_000);
    const job = await fake.waitFor(() => deliveredJob('UBOB'), 'the job delivered');

    expect(ack.payload).toEqual({});
    // The attachment: fetched from Slack's file host with the bot token, uploaded to Runway, used by tag.
    expect(fake.calls('file').filter((r) => r.path === new URL(file.url_private).pathname).map((r) => r.authorization)).toEqual([`Bearer ${fake.botToken}`]);
    const uploads = sim.uploads().filter((u) => u.bytes.equals(cat));
    expect(uploads).toHaveLength(1);
    const task = sim.tasks().find((t) => t.id === job.taskId);
    expect(task?.referenceImages).toEqual([{ uri: uploads[0]!.uri, tag: 'cat1' }]);
    // The result in the mention's thread; the placeholder finished.
    expect(share?.bytes).toEqual(sim.outputFor(task!.id));
    expect(share?.shares).toEqual([expect.objectContaining({ channel: 'C2', threadTs: ts })]);
    expect(fake.message('C2', decodePlaceholder(job.placeholder).ts)?.text).toContain('Done');
    expect(await jobNet(job.id)).toBe(-task!.costCredits);
    expect(await balanceOf('UBOB')).toBe(ALLOWANCE - task!.costCredits);
  });

  it('an event Slack redelivers in a new envelope (retry_attempt 1) makes one job, one Runway create and one image', async () => {
    fake.addUser({ id: 'UCAROL', name: 'carol' });
    const mention = { type: 'app_mention', user: 'UCAROL', text: `<@${fake.botUserId}> a paper lantern --model muse_image`, ts: '1767225600.000400', channel: 'C3' };
    const payload = eventCallback(fake.teamId, mention);
    const first = deliver('events_api', payload);
    await fake.socketMode.waitForAck(first);
    // The ack came late, as far as Slack knows: the same payload again, in an envelope of its own.
    const again = deliver('events_api', payload, { retryAttempt: 1 });
    expect(again).not.toBe(first);
    await fake.socketMode.waitForAck(again);
    await bot!.waitForLog(`"key":"event:${String(payload.event_id)}"`);
    const job = await fake.waitFor(() => deliveredJob('UCAROL'), 'the job delivered', 20_000);
    expect((await store.readJobs()).filter((j) => j.userId === 'UCAROL')).toHaveLength(1);
    expect(sim.requests.filter((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === 'a paper lantern')).toHaveLength(1);
    expect(fake.calls('chat.postMessage').filter((r) => r.args.channel === 'C3')).toHaveLength(1);
    expect(sharedIn('C3')).toHaveLength(1);
    expect(await jobNet(job.id)).toBe(-1);
    expect(await balanceOf('UCAROL')).toBe(ALLOWANCE - 1);
  });

  it('keeps one healthy connection: pings both ways are answered and nothing but acks comes back', async () => {
    let isPonged = false;
    void fake.socketMode.ping().then(() => (isPonged = true));
    await fake.waitFor(() => isPonged, "the bot's pong");
    // The client pings every clientPingTimeout/3 and reconnects when pongs stop; the fake pongs each ping it counts.
    await fake.waitFor(() => fake.socketMode.clientPingCount > 0, 'a ping from the bot', 10_000);
    expect(fake.socketMode.connectionCount).toBe(1);
    expect(fake.socketMode.isConnected).toBe(true);
    expect(fake.socketMode.strayFrames).toEqual([]);
    // One ack for each envelope sent so far (by whichever tests ran), and nothing else.
    expect(fake.socketMode.acks.map((ack) => ack.envelopeId)).toEqual(envelopes);
  });
});
