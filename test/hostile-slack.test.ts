/**
 * Hostile and careless input on Slack: the real Bolt adapter (HTTP mode, signed requests) and the
 * real core in this process, against the fake Slack and the Runway simulator. The bot must stay up,
 * answer privately with the exact refusal (its code, read from the bot's log line for that member,
 * and the text its builder writes, escaped as Slack shows it), charge nothing, fetch nothing off
 * Slack's file host, never post a live `<!channel>`, and never log a token, the signing secret or a
 * signed query. Every test uses its own members and asserts only on what they did.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackAdapter, UNREADABLE_MENTION, type SlackAdapter } from '../adapters/slack/index.ts';
import { fileAccessDenied, fileNotOnSlack } from '../adapters/slack/references.ts';
import { escapeMrkdwn } from '../adapters/slack/texts.ts';
import { quotaUsage, unknownSubcommand, unknownUser } from '../src/commands/quota-text.ts';
import { invalidAmount } from '../src/credits/amount.ts';
import { createApp, type App } from '../src/app.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import type { ErrorCode, Failure } from '../src/errors.ts';
import { imagineHelpText } from '../src/imagine/help.ts';
import { tooManyReferences } from '../src/imagine/references.ts';
import { promptTooLong } from '../src/imagine/request.ts';
import { invalidSeed } from '../src/imagine/seed.ts';
import { flagMissingValue } from '../src/imagine/text-command.ts';
import { createLogger } from '../src/log.ts';
import { mediaNotAnImage } from '../src/media/errors.ts';
import { DEFAULT_MODEL_ID, findModel } from '../src/models.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { noisePng } from './support/images.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';
import { newTestStore, type TestStore } from './support/test-database.ts';

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
/** The bot's store, on the project's backend. */
let store: TestStore | undefined;
const logLines: string[] = [];
let userCount = 0;
let tsCount = 0;

/** A fresh member per test, so the ledger checks see only that test's requests. */
function newUser(name?: string, isAdmin = false): string {
  const id = `UH${String(++userCount).padStart(6, '0')}`;
  fake.addUser({ id, name: name ?? `user${userCount}`, isAdmin });
  return id;
}

const DEFAULT_MODEL = findModel(DEFAULT_MODEL_ID)!;

const nextTs = (): string => `1767225${String(++tsCount).padStart(3, '0')}.000100`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagine-hostile-slack-'));
  store = await newTestStore(dir);
  fake = await startFakeSlack(BOT_TOKEN);
  sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 150, pendingMs: 30, outputScale: 0.1 });
  const port = await freePort();
  const config = loadConfig({
    ...store.env,
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
    deliveries: app.deliveryDedupe('slack'),
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
  for (const line of lines) {
    for (const secret of [BOT_TOKEN, SECRET, RUNWAY_KEY]) expect(line.includes(secret), `a secret in: ${line}`).toBe(false);
    expect(line, 'a signed query in a log line').not.toMatch(/[?&](sig|expires)=/);
  }
}

/**
 * The codes logged for a member's requests: the adapter's `slack request refused` and the core's
 * `quota answered` / `credits answered` (a Slack reply carries no code on the wire).
 */
function codesFor(user: string): ErrorCode[] {
  return logLines
    .map((line) => JSON.parse(line) as { message: string; user?: string; code?: ErrorCode })
    .filter((entry) => entry.user === user && entry.code !== undefined && (entry.message === 'slack request refused' || entry.message.endsWith(' answered')))
    .map((entry) => entry.code!);
}

/** What Slack shows for a failure's text: the adapter escapes every reply (`&`, `<`, `>`). */
const shown = (failure: Failure): string => escapeMrkdwn(failure.userMessage);

/** A refusal as a table row expects it: the text shown and the one code logged. */
const refusal = (failure: Failure): { text: string; codes: ErrorCode[] } => ({ text: shown(failure), codes: [failure.code] });

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
const chargesOf = async (user: string): Promise<number> =>
  (await app.db.value<number>("select coalesce(-sum(delta), 0) from ledger where user_id = ? and kind <> 'allowance'", [user]))!;

/** The member's one job (each test's member asks once), and the Runway task it made. */
const jobOf = (user: string) => app.db.get<{ id: string; state: string; taskId: string | null }>('select id, state, task_id as "taskId" from jobs where user_id = ?', [user]);
/** The member's job once it is delivered (undefined until then), for `waitFor`. */
const deliveredJobOf = async (user: string) => {
  const job = await jobOf(user);
  return job?.state === 'delivered' ? job : undefined;
};

/** Files shared with the member's result comment (`<@U…>: *prompt*`): this member's images only. */
const sharedTo = (user: string) => fake.sharedFiles().filter((upload) => upload.shares.some((share) => share.initialComment?.startsWith(`<@${user}>`)));

/** Every text the bot put where others can see it: messages (all versions), shared comments, in-channel replies. */
const publicTexts = (): string[] => [
  ...fake.messages.flatMap((m) => m.history),
  ...[...fake.uploads.values()].flatMap((u) => u.shares.map((s) => s.initialComment ?? '')),
  ...fake.responses.filter((r) => r.body.response_type === 'in_channel').map((r) => String(r.body.text)),
];

const LIVE_MASS_MENTION = /<!(channel|everyone|here)(\|[^>]*)?>|<!subteam\^/;

describe('slash commands with odd text', () => {
  it.each([
    // No prompt at all is a request for help, not a failure: the help text, and no code.
    ['empty text', '', { text: escapeMrkdwn(imagineHelpText()), codes: [] }],
    ['only spaces', '     ', { text: escapeMrkdwn(imagineHelpText()), codes: [] }],
    ['20 000 characters', 'a'.repeat(20_000), refusal(promptTooLong(DEFAULT_MODEL, 20_000))],
    ['an unterminated quote and flags without values', '"a cat --ratio --seed --model', refusal(flagMissingValue('ratio'))],
    ['a seed of 1e309', 'a cat --seed 1e309', refusal(invalidSeed('1e309'))],
  ])('/imagine with %s: a private, readable answer and nothing charged', async (_name, text, expected) => {
    const user = newUser();
    const replies = await command('/imagine', text, user);
    const reply = await fake.waitFor(replies.privateText, 'the private answer', 10_000);
    expect(reply).toBe(expected.text);
    expect(codesFor(user)).toEqual(expected.codes);
    expect(reply).not.toMatch(/Error:|at .*\.ts:\d+|undefined|\[object/);
    expect(await chargesOf(user)).toBe(0);
  });

  it('/imagine with odd unicode (bidi override, zero-width, emoji) is drawn like any prompt', async () => {
    const user = newUser();
    await command('/imagine', 'a \u202Egnp.tac\u202C \u200B🐟 in a bowl', user);
    const [image] = await fake.waitFor(() => sharedTo(user).length > 0 && sharedTo(user), 'the image', 15_000);
    expect(codesFor(user)).toEqual([]);
    // The prompt reached Runway as typed, every invisible character included.
    const job = await fake.waitFor(() => deliveredJobOf(user), 'the job delivered');
    expect(sim.tasks().find((task) => task.id === job.taskId)?.promptText).toBe('a \u202Egnp.tac\u202C \u200B🐟 in a bowl');
    expect(image?.bytes).toEqual(sim.outputFor(job.taskId!));
  });

  it.each([
    ["set '; drop table ledger;-- 5", quotaUsage('set')],
    ["set ';drop_table_ledger;-- 5", unknownUser("';drop_table_ledger;--", 'set', '5')],
    ['grant <@UNOBODY1|x> 1e309', invalidAmount({ kind: 'not_a_number', raw: '1e309' })],
    ['cap 10 fortnight; rm -rf /', quotaUsage('cap')],
    ['`whoami` <!channel>', unknownSubcommand('`whoami`')],
  ])('/quota %s from a moderator: refused privately, the ledger intact', async (text, failure) => {
    const admin = newUser('ada', true);
    const entriesBefore = await app.db.value<number>('select count(*) from ledger');
    const replies = await command('/quota', text, admin);
    const reply = await fake.waitFor(replies.privateText, 'the private answer', 10_000);
    expect(reply).toBe(shown(failure));
    expect(codesFor(admin)).toEqual([failure.code]);
    expect(reply).not.toMatch(LIVE_MASS_MENTION);
    expect(await app.db.value('select count(*) from ledger')).toBe(entriesBefore);
  });
});

describe('mentions with files that are not what they claim', () => {
  it('a file whose url_private is on another host is never fetched', async () => {
    const user = newUser();
    const elsewhere = { id: 'FEVIL01', name: 'cat.png', mimetype: 'image/png', size: 900, url_private: `${fake.elsewhereOrigin}/cat.png` };
    await mention(user, 'a cat', { files: [elsewhere] });
    expect(await ephemeralTo(user)).toBe(shown(fileNotOnSlack(elsewhere)));
    expect(codesFor(user)).toEqual(['slack.file_not_on_slack']);
    expect(fake.calls('elsewhere')).toHaveLength(0);
    expect(await chargesOf(user)).toBe(0);
  });

  it.each([
    // Judged by the core (src/jobs/references.ts), which names the file.
    ['a GIF', Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(800, 7)]), () => mediaNotAnImage(true, '`cat.png`')],
    // An HTML page from Slack's file host is its sign-in page: the token was refused, not a bad image.
    ['an HTML page', Buffer.from(`<!DOCTYPE html><html>${' '.repeat(800)}</html>`), (file: { id: string; name: string }) => fileAccessDenied(file)],
  ])('a file with mimetype image/png that is really %s is refused by its bytes', async (_name, bytes, failureFor) => {
    const user = newUser();
    const uploadsBefore = sim.uploads().length;
    const file = fake.addUserFile('cat.png', bytes, 'image/png');
    await mention(user, 'a cat', { files: [file] });
    const failure = failureFor(file);
    expect(await ephemeralTo(user)).toBe(shown(failure));
    expect(codesFor(user)).toEqual([failure.code]);
    expect(sim.uploads()).toHaveLength(uploadsBefore);
    expect(await chargesOf(user)).toBe(0);
  });

  it('four files: refused before any download', async () => {
    const user = newUser();
    const files = [1, 2, 3, 4].map((n) => fake.addUserFile(`ref${n}.png`, noisePng(n)));
    const downloadsBefore = fake.calls('file').length;
    await mention(user, 'four cats', { files });
    const failure = tooManyReferences(DEFAULT_MODEL, 4);
    expect(await ephemeralTo(user)).toBe(shown(failure));
    expect(codesFor(user)).toEqual([failure.code]);
    expect(fake.calls('file')).toHaveLength(downloadsBefore);
    expect(await chargesOf(user)).toBe(0);
  });

  it.each([
    ['a string', 'not-a-list'],
    ['objects without ids', [{}, { name: 42 }]],
    ['a number', 7],
  ])('a files field that is %s: the person is told, nothing is fetched or charged', async (_name, files) => {
    const user = newUser();
    const downloadsBefore = fake.calls('file').length;
    await mention(user, 'a cat', { files });
    // The adapter's own answer to a payload it cannot read: no code in ERROR_CODES, so the exact text and no refusal code.
    expect(await ephemeralTo(user)).toBe(escapeMrkdwn(UNREADABLE_MENTION));
    expect(codesFor(user)).toEqual([]);
    expect(fake.calls('file')).toHaveLength(downloadsBefore);
    expect(await chargesOf(user)).toBe(0);
  });
});

describe('mass mentions', () => {
  it('<!channel>, <!everyone>, <!here> and a user group in a mention\'s prompt are drawn but never posted live', async () => {
    const user = newUser();
    await mention(user, '<!channel> <!everyone> <!here|here> <!subteam^S0123> a cat & a dog');
    await fake.waitFor(() => sharedTo(user).length > 0, 'the image', 15_000);
    expect(codesFor(user)).toEqual([]);
    const texts = publicTexts();
    expect(texts.some((text) => text.includes('a cat &amp; a dog'))).toBe(true);
    for (const text of texts) expect(text).not.toMatch(LIVE_MASS_MENTION);
    // Slack's own escaping is undone on the way in: Runway gets "&", not "&amp;".
    const job = await fake.waitFor(() => deliveredJobOf(user), 'the job delivered');
    const promptText = sim.tasks().find((task) => task.id === job.taskId)?.promptText;
    expect(promptText).toContain('a cat & a dog');
    expect(promptText).not.toContain('&amp;');
  });

  it("a moderator whose display name is <!channel> cannot make the bot's public /quota answer ping the channel", async () => {
    const admin = newUser('<!channel>', true);
    const member = newUser('bob');
    const replies = await command('/quota', `grant <@${member}|bob> 5`, admin);
    const text = await fake.waitFor(replies.publicText, 'the public answer', 10_000);
    expect(codesFor(admin)).toEqual(['quota.granted']);
    expect(text).toBe('&lt;!channel&gt; granted 5 credits to bob: balance now `55`.');
    expect(text).not.toMatch(LIVE_MASS_MENTION);
  });
});

describe('after all of the above', () => {
  it('the bot is still up and draws a normal request', async () => {
    const user = newUser();
    await command('/imagine', 'a lighthouse --ratio 16:9', user);
    const [image] = await fake.waitFor(() => sharedTo(user).length > 0 && sharedTo(user), 'the image', 15_000);
    expect(codesFor(user)).toEqual([]);
    const job = await fake.waitFor(() => deliveredJobOf(user), 'the job delivered');
    expect(image?.bytes).toEqual(sim.outputFor(job.taskId!));
  });

  it('no log line holds the bot token, the signing secret, the Runway key or a signed query', () => {
    // Each test checked its own lines; this sweeps everything, start-up and late job lines included.
    expect(logLines.some((line) => line.includes('"message":"slack adapter started"'))).toBe(true);
    expectNoSecrets(logLines);
  });
});
