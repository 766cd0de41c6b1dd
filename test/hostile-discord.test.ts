/**
 * Hostile and careless input on Discord: the real discord.js adapter and the real core (store,
 * ledger, SDK, runner) in this process, against the fake Discord and the Runway simulator. Each
 * test sends something a user (or a misbehaving client) could send and checks that the bot stays
 * up, answers privately in plain words, charges nothing, reaches no forbidden host, never lets a
 * caption ping @everyone or a role, and never writes a token or a signed query into its logs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../adapters/discord/index.ts';
import { createApp, type App } from '../src/app.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { noisePng } from './support/images.ts';
import { FakeDiscord, snowflake, waitFor, type FakeInteraction, type FakeUser, type UploadedAttachment } from './fakes/discord/index.ts';

const TOKEN = 'hostile-discord-bot-token-Zq8';
const RUNWAY_KEY = 'key_hostile_discord_runway';

let fake: FakeDiscord;
let sim: RunwaySimulator;
let app: App;
let adapter: DiscordAdapter;
let dir: string;
let trap: Server;
let trapConnections = 0;
const logLines: string[] = [];
const issuedTokens: string[] = [];
let userCount = 0;

/** A fresh member per test, so the ledger checks see only that test's requests. */
const newUser = (): FakeUser => ({ id: snowflake(), username: `user${++userCount}` });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagine-hostile-discord-'));
  trap = createServer();
  trap.on('connection', (socket) => {
    trapConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', () => resolve()));
  fake = await FakeDiscord.start({ token: TOKEN });
  sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 150, pendingMs: 30, outputScale: 0.1 });
  const config = loadConfig({
    DATABASE_PATH: join(dir, 'bot.db'),
    MEDIA_ORIGINS: `${fake.cdnOrigin} ${sim.url}`,
    RUNWAY_POLL_INTERVAL_MS: '50',
    DEFAULT_ALLOWANCE: '50',
  });
  const log = createLogger('debug', (line) => logLines.push(line));
  app = await createApp({ config, runway: { apiKey: RUNWAY_KEY, baseUrl: sim.url }, clock: systemClock, log });
  adapter = await startDiscordAdapter({
    token: TOKEN,
    apiUrl: fake.apiUrl,
    guildIds: [fake.defaultGuild.id],
    mediaOrigins: config.mediaOrigins,
    core: app.core,
    log,
    clock: systemClock,
  });
  app.registerSurface(adapter.surface);
  await app.start();
});

afterAll(async () => {
  await adapter?.stop();
  await app?.stop();
  await fake?.close();
  await sim?.close();
  trap?.closeAllConnections();
  await new Promise<void>((resolve) => (trap ? trap.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function send(invocation: Parameters<FakeDiscord['sendCommand']>[0]): FakeInteraction {
  const interaction = fake.sendCommand(invocation);
  issuedTokens.push(interaction.token);
  return interaction;
}

/** What the user alone saw: an ephemeral reply (callback type 4, flag 64) or an ephemeral follow-up. */
async function privateReplyTo(interaction: FakeInteraction): Promise<string> {
  return waitFor(
    () => {
      const callback = fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`), 'POST')[0];
      const data = (callback?.json as { type?: number; data?: { content?: string; flags?: number } } | undefined)?.data;
      if (data?.content !== undefined && ((data.flags ?? 0) & 64) !== 0) return data.content;
      const followUp = fake.followUps(interaction).find((m) => (m.flags & 64) !== 0);
      return followUp?.content;
    },
    { what: `a private answer to ${interaction.id}`, timeoutMs: 10_000 },
  );
}

/**
 * Credits a member's requests took, net of refunds: a request refused after acceptance held its
 * price and got it back in the same transaction, so 0 means it cost nothing.
 */
const chargesOf = (user: FakeUser): number =>
  app.db.prepare("select coalesce(-sum(delta), 0) from ledger where user_id = ? and kind <> 'allowance'").pluck().get(user.id) as number;

/** The public "thinking…" placeholder of a refused request must not stay behind. */
const publicLeftovers = (interaction: FakeInteraction) => fake.channelMessages().filter((m) => m.interactionToken === interaction.token && (m.flags & 64) === 0);

/** Whether @original now carries the delivered image (waitFor treats 0 as a value, so say true/false). */
const hasImage = (interaction: FakeInteraction): boolean => (fake.original(interaction)?.attachments.length ?? 0) > 0;

function foreignAttachment(url: string, overrides: Partial<UploadedAttachment> = {}): UploadedAttachment {
  return { id: snowflake(), filename: 'cat.png', size: 2048, url, proxy_url: url, content_type: 'image/png', ...overrides };
}

describe('attachments that are not what they claim', () => {
  it.each([
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['a loopback port that is not in MEDIA_ORIGINS', () => `http://127.0.0.1:${(trap.address() as AddressInfo).port}/attachments/1/2/cat.png?ex=1&is=2&hm=3`],
    ['an https host that is not Discord', () => 'https://evil.example/cat.png'],
  ])('an attachment on %s is never fetched, and costs nothing', async (_name, url) => {
    const user = newUser();
    const uploadsBefore = sim.uploads().length;
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a cat' }, attachments: { image1: foreignAttachment(url()) } });
    expect(await privateReplyTo(interaction)).toMatch(/only download files uploaded to this chat/);
    expect(trapConnections).toBe(0);
    expect(sim.uploads()).toHaveLength(uploadsBefore);
    expect(chargesOf(user)).toBe(0);
    await waitFor(() => publicLeftovers(interaction).length === 0, { what: 'the public placeholder to go' });
  });

  it.each([
    ['an HTML page', Buffer.from(`<!DOCTYPE html><html><body>${'x'.repeat(800)}</body></html>`), /That file is not a PNG, JPEG or WebP image\. Please attach/],
    ['a GIF', Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(800, 7)]), /GIFs are not supported/],
  ])('an attachment labelled image/png that is really %s is refused by its bytes', async (_name, bytes, message) => {
    const user = newUser();
    const uploadsBefore = sim.uploads().length;
    const lying = fake.addAttachment('cat.png', bytes, 'image/png');
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a cat' }, attachments: { image1: lying } });
    expect(await privateReplyTo(interaction)).toMatch(message);
    expect(sim.uploads()).toHaveLength(uploadsBefore);
    expect(chargesOf(user)).toBe(0);
  });

  it('a 30 MB attachment is refused on its declared size, before any download', async () => {
    const user = newUser();
    const real = fake.addAttachment('huge.png', noisePng(1), 'image/png');
    const huge = { ...real, size: 30 * 1024 * 1024 };
    const cdnBefore = fake.cdnRequests.length;
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a cat' }, attachments: { image1: huge } });
    expect(await privateReplyTo(interaction)).toMatch(/`huge\.png` is larger than the 20 MB limit/);
    expect(fake.cdnRequests.length).toBe(cdnBefore);
    expect(chargesOf(user)).toBe(0);
  });
});

describe('option values no Discord client would send', () => {
  it.each([
    ['a prompt of the wrong type', { prompt: 12345 }],
    ['no prompt at all', { model: 'gen4_image' }],
    ['an unknown model', { prompt: 'a cat', model: 'gen9_ultra' }],
    ['a seed far past the range', { prompt: 'a cat', seed: 1e20 }],
    ['a fractional seed', { prompt: 'a cat', seed: 1.5 }],
    ['a 5 000-character tags string', { prompt: 'a cat', tags: 'tag '.repeat(1250) }],
    ['a 10 000-character prompt', { prompt: 'a'.repeat(10_000) }],
    ['a prompt of only whitespace and control characters', { prompt: ' \u0000\u0007\u001b \t ' }],
    ['a ratio that is not a ratio', { prompt: 'a cat', ratio: "1'; drop table jobs;--" }],
  ])('%s gets a private, readable answer and costs nothing', async (_name, options) => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options });
    const reply = await privateReplyTo(interaction);
    expect(reply.length).toBeGreaterThan(10);
    expect(reply.length).toBeLessThanOrEqual(2000);
    expect(reply).not.toMatch(/Error:|at .*\.ts:\d+|undefined|\[object/);
    expect(chargesOf(user)).toBe(0);
  });

  it('unknown option names are ignored and a seed of 1e309 (Infinity, sent as null) does no harm', async () => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a quiet harbour', bogus: 'x', seed: 1e309 } });
    await waitFor(() => hasImage(interaction), { what: 'the image', timeoutMs: 15_000 });
  });
});

describe('buttons and autocomplete with made-up ids', () => {
  let resultMessageId: string;
  beforeAll(async () => {
    const interaction = send({ name: 'imagine', user: newUser(), options: { prompt: 'a red kite' } });
    const original = await waitFor(() => (hasImage(interaction) ? fake.original(interaction) : undefined), {
      what: 'a result to click on',
      timeoutMs: 15_000,
    });
    resultMessageId = original.id;
  });

  it.each([
    ['an unknown custom_id', 'evil:payload:' + 'x'.repeat(80), /no longer in use/],
    ['reroll of a job that does not exist', 'imagine:reroll:00000000-dead-beef-0000-000000000000', /no longer known/],
    ['delete of a job that does not exist', 'imagine:delete:nope', /Only the person who asked/],
  ])('%s: a private answer, nothing charged, nothing deleted', async (_name, customId, message) => {
    const user = newUser();
    const click = fake.clickButton({ user, messageId: resultMessageId, customId });
    issuedTokens.push(click.token);
    expect(await privateReplyTo(click)).toMatch(message);
    expect(chargesOf(user)).toBe(0);
    expect(fake.rest.messages.get(resultMessageId)?.deleted).toBe(false);
  });

  it('autocomplete for an unknown model offers the default model\'s ratios', async () => {
    const interaction = fake.sendAutocomplete({ name: 'imagine', user: newUser(), options: { model: 'no_such_model' }, focused: { name: 'ratio', value: '' } });
    issuedTokens.push(interaction.token);
    const choices = await waitFor(() => fake.interaction(interaction.token)?.choices, { what: 'autocomplete choices' });
    expect(choices.length).toBeGreaterThan(0);
    expect(JSON.stringify(choices)).toContain('1920:1080');
  });
});

describe('mentions in a prompt', () => {
  /** Every body the bot sent to Discord whose content could ping someone. */
  const bodiesWithMentions = () =>
    fake.requests
      .map((request) => (request.json as { data?: Record<string, unknown> } & Record<string, unknown>) ?? {})
      .map((json) => (typeof json.data === 'object' && json.data !== null ? json.data : json))
      .filter((body) => typeof body.content === 'string' && /@everyone|@here|<@&/.test(body.content));

  const expectNoMassPing = () => {
    const bodies = bodiesWithMentions();
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      const allowed = body.allowed_mentions as { parse?: string[]; roles?: string[] } | undefined;
      expect(allowed, `allowed_mentions on ${JSON.stringify(body.content)}`).toBeDefined();
      expect(allowed?.parse ?? []).not.toContain('everyone');
      expect(allowed?.parse ?? []).not.toContain('roles');
      expect(allowed?.roles ?? []).toEqual([]);
    }
  };

  it('@everyone and @here in a prompt are refused as unknown tags, privately, without pinging anyone', async () => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options: { prompt: '@everyone @here look at this cat' } });
    expect(await privateReplyTo(interaction)).toContain('@everyone');
    expect(chargesOf(user)).toBe(0);
    expectNoMassPing();
  });

  it('a role mention in a prompt is drawn, and the caption cannot ping the role', async () => {
    const interaction = send({ name: 'imagine', user: newUser(), options: { prompt: `<@&${snowflake()}> look at this cat` } });
    await waitFor(() => hasImage(interaction), { what: 'the image', timeoutMs: 15_000 });
    expect(fake.original(interaction)?.content).toContain('<@&');
    expectNoMassPing();
  });
});

describe('after all of the above', () => {
  it('the bot is still up and answers a normal request', async () => {
    const interaction = send({ name: 'imagine', user: newUser(), options: { prompt: 'a lighthouse', ratio: '16:9' } });
    await waitFor(() => hasImage(interaction), { what: 'the image', timeoutMs: 15_000 });
  });

  it('no log line holds the bot token, the Runway key, an interaction token or a signed query', () => {
    const secrets = [TOKEN, RUNWAY_KEY, ...issuedTokens];
    for (const line of logLines) {
      for (const secret of secrets) expect(line.includes(secret), `a secret in: ${line}`).toBe(false);
      expect(line, 'a signed query in a log line').not.toMatch(/[?&](sig|expires|ex|is|hm)=/);
    }
    expect(logLines.length).toBeGreaterThan(0);
  });
});
