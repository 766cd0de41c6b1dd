/**
 * Hostile and careless input on Discord: the real discord.js adapter and the real core (store,
 * ledger, SDK, runner) in this process, against the fake Discord and the Runway simulator. Each
 * test sends something a user (or a misbehaving client) could send and checks that the bot stays
 * up, answers privately with the exact refusal (its code, read from the bot's log line for that
 * interaction, and the text its builder writes), charges nothing, reaches no forbidden host, never
 * lets a caption ping @everyone or a role, and never writes a token or a signed query into its logs.
 * Every test uses its own member and its own interactions, and asserts only on those.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter } from '../adapters/discord/index.ts';
import { NOT_YOURS, UNKNOWN_BUTTON } from '../adapters/discord/interactions.ts';
import { clipContent } from '../adapters/discord/messages.ts';
import { ratioChoices } from '../adapters/discord/ratios.ts';
import { createApp, type App } from '../src/app.ts';
import { REROLL_UNKNOWN_JOB } from '../src/imagine/acceptance-failures.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { unexpectedFailure, type ErrorCode, type Failure } from '../src/errors.ts';
import { unknownModel } from '../src/imagine/model-choice.ts';
import { ratioNotOffered } from '../src/imagine/ratios.ts';
import { PROMPT_EMPTY, promptTooLong } from '../src/imagine/request.ts';
import { invalidSeed } from '../src/imagine/seed.ts';
import { tooManyTags, unknownPromptTag } from '../src/imagine/tags.ts';
import { MAX_REFERENCE_BYTES } from '../src/jobs/references.ts';
import { createLogger } from '../src/log.ts';
import { mediaNotAnImage, mediaTooLarge, ORIGIN_NOT_ALLOWED } from '../src/media/errors.ts';
import { DEFAULT_MODEL_ID, findModel } from '../src/models.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { noisePng } from './support/images.ts';
import { FakeDiscord, snowflake, waitFor, type FakeInteraction, type FakeUser, type UploadedAttachment } from './fakes/discord/index.ts';
import { newTestStore, type TestStore } from './support/test-database.ts';

const TOKEN = 'hostile-discord-bot-token-Zq8';
const RUNWAY_KEY = 'key_hostile_discord_runway';

let fake: FakeDiscord;
let sim: RunwaySimulator;
let app: App;
let adapter: DiscordAdapter;
let dir: string;
/** The bot's store, on the project's backend. */
let store: TestStore | undefined;
let trap: Server;
let trapConnections = 0;
const logLines: string[] = [];
const issuedTokens: string[] = [];
let userCount = 0;

/** A fresh member per test, so the ledger checks see only that test's requests. */
const newUser = (): FakeUser => ({ id: snowflake(), username: `user${++userCount}` });

const DEFAULT_MODEL = findModel(DEFAULT_MODEL_ID)!;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagine-hostile-discord-'));
  store = await newTestStore(dir);
  trap = createServer();
  trap.on('connection', (socket) => {
    trapConnections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', () => resolve()));
  fake = await FakeDiscord.start({ token: TOKEN });
  sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 150, pendingMs: 30, outputScale: 0.1 });
  const config = loadConfig({
    ...store.env,
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
  await store?.discard();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Each test checks the log lines written while it ran, so no test leans on another to look. */
let firstLineOfTest = 0;
beforeEach(() => {
  firstLineOfTest = logLines.length;
});
afterEach(() => {
  expectNoSecrets(logLines.slice(firstLineOfTest));
});

function expectNoSecrets(lines: readonly string[]): void {
  const secrets = [TOKEN, RUNWAY_KEY, ...issuedTokens];
  for (const line of lines) {
    for (const secret of secrets) expect(line.includes(secret), `a secret in: ${line}`).toBe(false);
    expect(line, 'a signed query in a log line').not.toMatch(/[?&](sig|expires|ex|is|hm)=/);
  }
}

/**
 * The codes the adapter logged for one interaction: `discord: request refused` (the core's refusal)
 * or `discord: interaction failed` (the adapter's own). The reply on the wire carries no code.
 */
function refusalCodes(interaction: FakeInteraction): ErrorCode[] {
  return logLines
    .map((line) => JSON.parse(line) as { interactionId?: string; code?: ErrorCode })
    .filter((entry) => entry.interactionId === interaction.id && entry.code !== undefined)
    .map((entry) => entry.code!);
}

/** The refusal, exactly: one logged code, and the text of that code's builder as the private reply. */
async function expectRefusal(interaction: FakeInteraction, failure: Failure): Promise<void> {
  expect(await privateReplyTo(interaction)).toBe(clipContent(failure.userMessage));
  expect(refusalCodes(interaction)).toEqual([failure.code]);
}

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
const chargesOf = async (user: FakeUser): Promise<number> =>
  (await app.db.value<number>("select coalesce(-sum(delta), 0) from ledger where user_id = ? and kind <> 'allowance'", [user.id]))!;

/** The member's one job row (each test's member asks once). */
const jobOf = (user: FakeUser) => app.db.get<{ id: string; state: string }>('select id, state from jobs where user_id = ?', [user.id]);

/** What the member's jobs cost them, net of refunds. */
const chargedTo = async (user: FakeUser): Promise<number> =>
  (await app.db.value<number>("select coalesce(sum(delta), 0) from ledger where user_id = ? and kind <> 'allowance'", [user.id]))!;

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
    await expectRefusal(interaction, ORIGIN_NOT_ALLOWED);
    expect(trapConnections).toBe(0);
    expect(sim.uploads()).toHaveLength(uploadsBefore);
    expect(await chargesOf(user)).toBe(0);
    await waitFor(() => publicLeftovers(interaction).length === 0, { what: 'the public placeholder to go' });
  });

  it.each([
    // Judged by the downloader (src/media/download.ts), which does not know the file's name.
    ['an HTML page', Buffer.from(`<!DOCTYPE html><html><body>${'x'.repeat(800)}</body></html>`), mediaNotAnImage(false)],
    ['a GIF', Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(800, 7)]), mediaNotAnImage(true)],
  ])('an attachment labelled image/png that is really %s is refused by its bytes', async (_name, bytes, failure) => {
    const user = newUser();
    const uploadsBefore = sim.uploads().length;
    const lying = fake.addAttachment('cat.png', bytes, 'image/png');
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a cat' }, attachments: { image1: lying } });
    await expectRefusal(interaction, failure);
    expect(sim.uploads()).toHaveLength(uploadsBefore);
    expect(await chargesOf(user)).toBe(0);
  });

  it('a 30 MB attachment is refused on its declared size, before any download', async () => {
    const user = newUser();
    const real = fake.addAttachment('huge.png', noisePng(1), 'image/png');
    const huge = { ...real, size: 30 * 1024 * 1024 };
    const cdnBefore = fake.cdnRequests.length;
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a cat' }, attachments: { image1: huge } });
    await expectRefusal(interaction, mediaTooLarge(MAX_REFERENCE_BYTES, '`huge.png`'));
    expect(fake.cdnRequests.length).toBe(cdnBefore);
    expect(await chargesOf(user)).toBe(0);
  });
});

describe('option values no Discord client would send', () => {
  it.each([
    // discord.js itself throws on these (wrong option type, required option missing): the adapter's own failure.
    ['a prompt of the wrong type', { prompt: 12345 }, unexpectedFailure('discord.interaction_failed')],
    ['no prompt at all', { model: 'gen4_image' }, unexpectedFailure('discord.interaction_failed')],
    ['an unknown model', { prompt: 'a cat', model: 'gen9_ultra' }, unknownModel('gen9_ultra')],
    ['a seed far past the range', { prompt: 'a cat', seed: 1e20 }, invalidSeed(String(1e20))],
    ['a fractional seed', { prompt: 'a cat', seed: 1.5 }, invalidSeed('1.5')],
    ['a 5 000-character tags string', { prompt: 'a cat', tags: 'tag '.repeat(1250) }, tooManyTags(1250, 0)],
    ['a 10 000-character prompt', { prompt: 'a'.repeat(10_000) }, promptTooLong(DEFAULT_MODEL, 10_000)],
    ['a prompt of only whitespace and control characters', { prompt: ' \u0000\u0007\u001b \t ' }, PROMPT_EMPTY],
    ['a ratio that is not a ratio', { prompt: 'a cat', ratio: "1'; drop table jobs;--" }, ratioNotOffered(DEFAULT_MODEL, "1'; drop table jobs;--")],
  ])('%s gets a private, readable answer and costs nothing', async (_name, options, failure) => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options });
    const reply = await privateReplyTo(interaction);
    expect(reply).toBe(clipContent(failure.userMessage));
    expect(refusalCodes(interaction)).toEqual([failure.code]);
    expect(reply.length).toBeLessThanOrEqual(2000);
    expect(reply).not.toMatch(/Error:|at .*\.ts:\d+|undefined|\[object/);
    expect(await chargesOf(user)).toBe(0);
  });

  it('unknown option names are ignored and a seed of 1e309 (Infinity, sent as null) does no harm', async () => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a quiet harbour', bogus: 'x', seed: 1e309 } });
    await waitFor(() => hasImage(interaction), { what: 'the image', timeoutMs: 15_000 });
    expect(refusalCodes(interaction)).toEqual([]);
    expect(fake.original(interaction)?.attachments).toHaveLength(1);
    // Drawn as if no seed had been given: the task exists, and the member paid what Runway charged for it.
    const task = sim.tasks().find((t) => t.promptText === 'a quiet harbour');
    expect(task?.status).toBe('SUCCEEDED');
    await waitFor(async () => (await jobOf(user))?.state === 'delivered', { what: 'the job delivered' });
    expect(await chargedTo(user)).toBe(-task!.costCredits);
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
    // The adapter's own answers for buttons it does not know carry no code (none is in ERROR_CODES): the text is exact.
    ['an unknown custom_id', 'evil:payload:' + 'x'.repeat(80), { text: UNKNOWN_BUTTON, codes: [] }],
    ['reroll of a job that does not exist', 'imagine:reroll:00000000-dead-beef-0000-000000000000', { text: REROLL_UNKNOWN_JOB.userMessage, codes: [REROLL_UNKNOWN_JOB.code] }],
    ['delete of a job that does not exist', 'imagine:delete:nope', { text: NOT_YOURS, codes: [] }],
  ])('%s: a private answer, nothing charged, nothing deleted', async (_name, customId, expected) => {
    const user = newUser();
    const click = fake.clickButton({ user, messageId: resultMessageId, customId });
    issuedTokens.push(click.token);
    expect(await privateReplyTo(click)).toBe(expected.text);
    expect(refusalCodes(click)).toEqual(expected.codes);
    expect(await chargesOf(user)).toBe(0);
    expect(fake.rest.messages.get(resultMessageId)?.deleted).toBe(false);
  });

  it('autocomplete for an unknown model offers the default model\'s ratios', async () => {
    const interaction = fake.sendAutocomplete({ name: 'imagine', user: newUser(), options: { model: 'no_such_model' }, focused: { name: 'ratio', value: '' } });
    issuedTokens.push(interaction.token);
    const choices = await waitFor(() => fake.interaction(interaction.token)?.choices, { what: 'autocomplete choices' });
    expect(choices).toEqual(ratioChoices(DEFAULT_MODEL_ID, ''));
    expect(JSON.stringify(choices)).toContain('1920:1080');
  });
});

describe('mentions in a prompt', () => {
  /** Every body the bot sent to Discord for this interaction whose content could ping someone. */
  const bodiesWithMentions = (interaction: FakeInteraction) =>
    fake.requests
      .filter((request) => request.path.includes(interaction.token) || request.path.includes(`/interactions/${interaction.id}/`))
      .map((request) => (request.json as { data?: Record<string, unknown> } & Record<string, unknown>) ?? {})
      .map((json) => (typeof json.data === 'object' && json.data !== null ? json.data : json))
      .filter((body) => typeof body.content === 'string' && /@everyone|@here|<@&/.test(body.content));

  /** Bodies that carry the mentions each say `allowed_mentions: { parse: [] }`: no one is pinged. */
  const expectNoMassPing = (interaction: FakeInteraction) => {
    const bodies = bodiesWithMentions(interaction);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      expect(body.allowed_mentions, `allowed_mentions on ${JSON.stringify(body.content)}`).toEqual({ parse: [] });
    }
  };

  it('@everyone and @here in a prompt are refused as unknown tags, privately, without pinging anyone', async () => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options: { prompt: '@everyone @here look at this cat' } });
    await expectRefusal(interaction, unknownPromptTag(['everyone', 'here'], []));
    expect(await chargesOf(user)).toBe(0);
    expectNoMassPing(interaction);
  });

  it('a role mention in a prompt is drawn, and the caption cannot ping the role', async () => {
    const interaction = send({ name: 'imagine', user: newUser(), options: { prompt: `<@&${snowflake()}> look at this cat` } });
    await waitFor(() => hasImage(interaction), { what: 'the image', timeoutMs: 15_000 });
    expect(refusalCodes(interaction)).toEqual([]);
    expect(fake.original(interaction)?.content).toContain('<@&');
    expectNoMassPing(interaction);
  });
});

describe('after all of the above', () => {
  it('the bot is still up and answers a normal request', async () => {
    const user = newUser();
    const interaction = send({ name: 'imagine', user, options: { prompt: 'a lighthouse', ratio: '16:9' } });
    await waitFor(() => hasImage(interaction), { what: 'the image', timeoutMs: 15_000 });
    expect(refusalCodes(interaction)).toEqual([]);
    expect(fake.original(interaction)?.attachments).toHaveLength(1);
    await waitFor(async () => (await jobOf(user))?.state === 'delivered', { what: 'the job delivered' });
  });

  it('no log line holds the bot token, the Runway key, an interaction token or a signed query', () => {
    // Each test checked its own lines; this sweeps everything, start-up and late job lines included.
    expect(logLines.some((line) => line.includes('"message":"discord: ready"'))).toBe(true);
    expectNoSecrets(logLines);
  });
});
