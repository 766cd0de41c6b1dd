/**
 * Hostile and careless input on Slack: the real Bolt adapter (HTTP mode, signed requests) and the
 * real core in this process, against the fake Slack and the Runway simulator. The bot must stay up,
 * answer privately in plain words, charge nothing, fetch nothing off Slack's file host, never post
 * a live `<!channel>`, and never log a token, the signing secret or a signed query.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackAdapter, type SlackAdapter } from '../adapters/slack/index.ts';
import { createApp, type App } from '../src/app.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { noisePng } from './support/images.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';

const BOT_TOKEN = 'xoxb-hostile-slack-token-7Hq';
const SECRET = 'hostile-slack-signing-secret-P4x';
const RUNWAY_KEY = 'key_hostile_slack_runway';
const CHANNEL = 'C0HOSTILE';

let fake: FakeSlack;
let sim: RunwaySimulator;
let app: App;
let adapter: SlackAdapter;
let slack: SlackSender;
let dir: string;
const logLines: string[] = [];
let userCount = 0;
let tsCount = 0;

/** A fresh member per test, so the ledger checks see only that test's requests. */
function newUser(name?: string, isAdmin = false): string {
  const id = `UH${String(++userCount).padStart(6, '0')}`;
  fake.addUser({ id, name: name ?? `user${userCount}`, isAdmin });
  return id;
}

const nextTs = (): string => `1767225${String(++tsCount).padStart(3, '0')}.000100`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagine-hostile-slack-'));
  fake = await startFakeSlack(BOT_TOKEN);
  sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 150, pendingMs: 30, outputScale: 0.1 });
  const port = await freePort();
  const config = loadConfig({
    DATABASE_PATH: join(dir, 'bot.db'),
    // The elsewhere host is allowed for downloads in general: the Slack adapter must still refuse it.
    MEDIA_ORIGINS: `${fake.elsewhereOrigin} ${sim.url}`,
    RUNWAY_POLL_INTERVAL_MS: '50',
    DEFAULT_ALLOWANCE: '50',
  });
  const log = createLogger('debug', (line) => logLines.push(line));
  app = await createApp({ config, runway: { apiKey: RUNWAY_KEY, baseUrl: sim.url }, clock: systemClock, log });
  adapter = await startSlackAdapter({
    botToken: BOT_TOKEN,
    signingSecret: SECRET,
    apiUrl: fake.apiUrl,
    moderators: [],
    port,
    host: '127.0.0.1',
    mediaOrigins: config.mediaOrigins,
    core: app.core,
    log,
    clock: systemClock,
  });
  app.registerSurface(adapter.surface);
  await app.start();
  slack = createSlackSender(`http://127.0.0.1:${port}/slack/events`, SECRET);
});

afterAll(async () => {
  await adapter?.stop();
  await app?.stop();
  await fake?.close();
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Send a slash command; resolves with what the user alone saw on its response_url. */
async function command(name: string, text: string, user: string): Promise<{ privateText: () => string | undefined; publicText: () => string | undefined }> {
  const fields = fake.commandFields(name, text, user, CHANNEL);
  const id = fields.response_url.slice(fields.response_url.lastIndexOf('/') + 1);
  const sent = await slack.command(fields);
  expect(sent.status).toBe(200);
  const bodies = () => fake.responses.filter((r) => r.id === id).map((r) => r.body);
  return {
    privateText: () => bodies().find((b) => b.response_type === 'ephemeral')?.text as string | undefined,
    publicText: () => bodies().find((b) => b.response_type === 'in_channel')?.text as string | undefined,
  };
}

async function mention(user: string, text: string, extra: Record<string, unknown> = {}): Promise<void> {
  const sent = await slack.event(fake.teamId, { type: 'app_mention', user, text: `<@${fake.botUserId}> ${text}`, ts: nextTs(), channel: CHANNEL, ...extra });
  expect(sent.status).toBe(200);
}

const ephemeralTo = (user: string) => fake.waitFor(() => fake.ephemerals.find((e) => e.user === user)?.text, `an ephemeral message to ${user}`, 10_000);

/** Credits a member's requests took, net of refunds (a request refused after acceptance got its hold back): 0 means it cost nothing. */
const chargesOf = (user: string): number =>
  app.db.prepare("select coalesce(-sum(delta), 0) from ledger where user_id = ? and kind <> 'allowance'").pluck().get(user) as number;

/** Every text the bot put where others can see it: messages (all versions), shared comments, in-channel replies. */
const publicTexts = (): string[] => [
  ...fake.messages.flatMap((m) => m.history),
  ...[...fake.uploads.values()].flatMap((u) => u.shares.map((s) => s.initialComment ?? '')),
  ...fake.responses.filter((r) => r.body.response_type === 'in_channel').map((r) => String(r.body.text)),
];

const LIVE_MASS_MENTION = /<!(channel|everyone|here)(\|[^>]*)?>|<!subteam\^/;

describe('slash commands with odd text', () => {
  it.each([
    ['empty text', ''],
    ['only spaces', '     '],
    ['20 000 characters', 'a'.repeat(20_000)],
    ['an unterminated quote and flags without values', '"a cat --ratio --seed --model'],
    ['a seed of 1e309', 'a cat --seed 1e309'],
  ])('/imagine with %s: a private, readable answer and nothing charged', async (_name, text) => {
    const user = newUser();
    const replies = await command('/imagine', text, user);
    const reply = await fake.waitFor(replies.privateText, 'the private answer', 10_000);
    expect(reply.length).toBeGreaterThan(10);
    expect(reply).not.toMatch(/Error:|at .*\.ts:\d+|undefined|\[object/);
    expect(chargesOf(user)).toBe(0);
  });

  it('/imagine with odd unicode (bidi override, zero-width, emoji) is drawn like any prompt', async () => {
    const user = newUser();
    const before = fake.sharedFiles().length;
    await command('/imagine', 'a \u202Egnp.tac\u202C \u200B🐟 in a bowl', user);
    await fake.waitFor(() => fake.sharedFiles().length > before, 'the image', 15_000);
  });

  it.each([
    ["set '; drop table ledger;-- 5", /Usage/],
    ["set ';drop_table_ledger;-- 5", /can't tell who/],
    ['grant <@UNOBODY1|x> 1e309', /`1e309` is not an amount/],
    ['cap 10 fortnight; rm -rf /', /Usage|not a period/],
    ['`whoami` <!channel>', /not a \/quota command/],
  ])('/quota %s from a moderator: refused privately, the ledger intact', async (text, message) => {
    const admin = newUser('ada', true);
    const entriesBefore = app.db.prepare('select count(*) from ledger').pluck().get() as number;
    const replies = await command('/quota', text, admin);
    const reply = await fake.waitFor(replies.privateText, 'the private answer', 10_000);
    expect(reply).toMatch(message);
    expect(reply).not.toMatch(LIVE_MASS_MENTION);
    expect(app.db.prepare('select count(*) from ledger').pluck().get()).toBe(entriesBefore);
  });
});

describe('mentions with files that are not what they claim', () => {
  it('a file whose url_private is on another host is never fetched', async () => {
    const user = newUser();
    const elsewhere = { id: 'FEVIL01', name: 'cat.png', mimetype: 'image/png', size: 900, url_private: `${fake.elsewhereOrigin}/cat.png` };
    await mention(user, 'a cat', { files: [elsewhere] });
    expect(await ephemeralTo(user)).toMatch(/isn't stored on Slack's file host/);
    expect(fake.calls('elsewhere')).toHaveLength(0);
    expect(chargesOf(user)).toBe(0);
  });

  it.each([
    ['a GIF', Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(800, 7)]), /GIF/],
    ['an HTML page', Buffer.from(`<!DOCTYPE html><html>${' '.repeat(800)}</html>`), /files:read|attach the image again/],
  ])('a file with mimetype image/png that is really %s is refused by its bytes', async (_name, bytes, message) => {
    const user = newUser();
    const uploadsBefore = sim.uploads().length;
    await mention(user, 'a cat', { files: [fake.addUserFile('cat.png', bytes, 'image/png')] });
    expect(await ephemeralTo(user)).toMatch(message);
    expect(sim.uploads()).toHaveLength(uploadsBefore);
    expect(chargesOf(user)).toBe(0);
  });

  it('four files: refused before any download', async () => {
    const user = newUser();
    const files = [1, 2, 3, 4].map((n) => fake.addUserFile(`ref${n}.png`, noisePng(n)));
    const downloadsBefore = fake.calls('file').length;
    await mention(user, 'four cats', { files });
    expect(await ephemeralTo(user)).toMatch(/3/);
    expect(fake.calls('file')).toHaveLength(downloadsBefore);
    expect(chargesOf(user)).toBe(0);
  });

  it.each([
    ['a string', 'not-a-list'],
    ['objects without ids', [{}, { name: 42 }]],
    ['a number', 7],
  ])('a files field that is %s: the person is told, nothing is fetched or charged', async (_name, files) => {
    const user = newUser();
    const downloadsBefore = fake.calls('file').length;
    await mention(user, 'a cat', { files });
    expect(await ephemeralTo(user)).toMatch(/couldn't read the files/);
    expect(fake.calls('file')).toHaveLength(downloadsBefore);
    expect(chargesOf(user)).toBe(0);
  });
});

describe('mass mentions', () => {
  it('<!channel>, <!everyone>, <!here> and a user group in a mention\'s prompt are drawn but never posted live', async () => {
    const user = newUser();
    const before = fake.sharedFiles().length;
    await mention(user, '<!channel> <!everyone> <!here|here> <!subteam^S0123> a cat & a dog');
    await fake.waitFor(() => fake.sharedFiles().length > before, 'the image', 15_000);
    for (const text of publicTexts()) expect(text).not.toMatch(LIVE_MASS_MENTION);
    // Slack's own escaping is undone on the way in: Runway gets "&", not "&amp;".
    const create = sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image').at(-1);
    expect((create?.body as { promptText: string }).promptText).toContain('a cat & a dog');
  });

  it("a moderator whose display name is <!channel> cannot make the bot's public /quota answer ping the channel", async () => {
    const admin = newUser('<!channel>', true);
    const member = newUser('bob');
    const replies = await command('/quota', `grant <@${member}|bob> 5`, admin);
    const text = await fake.waitFor(replies.publicText, 'the public answer', 10_000);
    expect(text).toContain('granted');
    expect(text).not.toMatch(LIVE_MASS_MENTION);
  });
});

describe('after all of the above', () => {
  it('the bot is still up and draws a normal request', async () => {
    const before = fake.sharedFiles().length;
    await command('/imagine', 'a lighthouse --ratio 16:9', newUser());
    await fake.waitFor(() => fake.sharedFiles().length > before, 'the image', 15_000);
  });

  it('no log line holds the bot token, the signing secret, the Runway key or a signed query', () => {
    for (const line of logLines) {
      for (const secret of [BOT_TOKEN, SECRET, RUNWAY_KEY]) expect(line.includes(secret), `a secret in: ${line}`).toBe(false);
      expect(line, 'a signed query in a log line').not.toMatch(/[?&](sig|expires)=/);
    }
    expect(logLines.length).toBeGreaterThan(0);
  });
});
