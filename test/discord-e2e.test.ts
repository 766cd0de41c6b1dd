import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { PlatformBot as BotProcess } from './support/platform-bot.ts';
import { NOT_MODERATOR } from '../src/commands/credits-command.ts';
import { explainFailureCode } from '../src/runway/failure-codes.ts';
import { FakeDiscord, PERMISSIONS, snowflake, waitFor, type CommandInvocation, type FakeGuild, type FakeInteraction, type FakeMessage, type FakeUser } from './fakes/discord/index.ts';
import { specProblems } from './fakes/discord/openapi.ts';
import type { LedgerEntry } from './support/bot-database.ts';
import { newBotStore, type BotStore } from './support/bot-store.ts';
import { noisePng } from './support/images.ts';

/**
 * Issue 3's end-to-end scenarios: the real bot process (src/main.ts, discord.js, @runwayml/sdk,
 * the store: SQLite, or PostgreSQL in the postgres project) against the fake Discord and the Runway simulator. Assertions are on what crossed the
 * wire and on the ledger. One bot process serves every test, but each test has a server (guild),
 * channel and members of its own, and asserts only on those: any test passes run alone.
 */

const OUTPUT_SCALE = 0.25;
const ALLOWANCE = 50;
const alice: FakeUser = { id: snowflake(), username: 'alice', global_name: 'Alice' };

/** What Runway's moderation failure (the simulator's `sim:safety`) is shown as. */
// The gen4_image default (1920:1080) costs 8: what the simulator bills for a declined generation.
const SAFETY = explainFailureCode('SAFETY.INPUT', 8);

function botEnv(fake: FakeDiscord, sim: RunwaySimulator, store: BotStore): Record<string, string> {
  return {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    DISCORD_GUILD_IDS: fake.guilds.map((guild) => guild.id).join(','),
    RUNWAYML_API_SECRET: 'key',
    RUNWAYML_BASE_URL: sim.url,
    ...store.env,
    MEDIA_ORIGINS: `${fake.cdnOrigin} ${sim.url}`,
    RUNWAY_POLL_INTERVAL_MS: '50',
    DEFAULT_ALLOWANCE: String(ALLOWANCE),
    LOG_LEVEL: 'debug',
  };
}

/** The sum of the ledger entries that `keep` selects. */
async function ledgerSum(store: BotStore, keep: (entry: LedgerEntry) => boolean): Promise<number> {
  return (await store.readLedger())
    .filter(keep)
    .reduce((total, entry) => total + entry.delta, 0);
}

/** Whether a job's reservation has been settled or refunded (its money is final). */
async function isJobFinished(store: BotStore, jobId: string): Promise<boolean> {
  return (await store.readLedger()).some((entry) => entry.job_id === jobId && (entry.kind === 'settle' || entry.kind === 'refund'));
}

const ofJob = (jobId: string) => (entry: LedgerEntry) => entry.job_id === jobId;
const ofUser = (userId: string, kind?: string) => (entry: LedgerEntry) => entry.user_id === userId && (kind === undefined || entry.kind === kind);


const jobIdOf = (message: FakeMessage): string => {
  const match = /imagine:reroll:([^"]+)/.exec(JSON.stringify(message.components));
  if (!match?.[1]) throw new Error(`no reroll button on message ${message.id}`);
  return match[1];
};

/** The codes the bot logged for an interaction (`discord: request refused`, keyed by its id). */
function refusalCodes(bot: BotProcess, interaction: FakeInteraction): string[] {
  return jsonLines(bot)
    .filter((entry) => entry.message === 'discord: request refused' && entry.interactionId === interaction.id)
    .map((entry) => String(entry.code));
}

/** The codes of a member's /credits and /quota answers (the core logs them at debug: a Reply carries none). */
function commandCodes(bot: BotProcess, user: FakeUser): string[] {
  return jsonLines(bot)
    .filter((entry) => (entry.message === 'quota answered' || entry.message === 'credits answered') && entry.user === user.id)
    .map((entry) => String(entry.code));
}

function jsonLines(bot: BotProcess): Record<string, unknown>[] {
  return bot.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A server of its own per test (listed in DISCORD_GUILD_IDS): more than there are tests. */
const GUILDS: FakeGuild[] = Array.from({ length: 10 }, (_, i) => ({ id: snowflake(), name: `Server ${i + 1}`, channelIds: [snowflake()], roles: [] }));

/** One test's community: its server, its channel, and members nobody else uses. */
interface Scene {
  readonly guildId: string;
  readonly channelId: string;
  member(username: string): FakeUser;
  command(invocation: Omit<CommandInvocation, 'guildId' | 'channelId'>): FakeInteraction;
}

const callbackOf = (fake: FakeDiscord, interaction: FakeInteraction) =>
  waitFor(() => fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`), 'POST').find((r) => r.status < 300), { what: `the answer to ${interaction.id}` });

describe('Discord end to end: the real bot process against the fake Discord and the Runway simulator', () => {
  let fake: FakeDiscord;
  let sim: RunwaySimulator;
  let bot: BotProcess;
  let dir: string;
  let store: BotStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imagine-discord-e2e-'));
    store = await newBotStore(dir);
    fake = await FakeDiscord.start({ guilds: GUILDS });
    sim = await startRunwaySimulator({ apiKey: 'key', generationMs: 200, pendingMs: 50, outputScale: OUTPUT_SCALE });
    bot = BotProcess.start(botEnv(fake, sim, store));
    await bot.waitForLog('discord: ready');
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
    await sim?.close();
    await store?.discard();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let scenesUsed = 0;
  /** The next unused server, with fresh members: what this test sees is what it did. */
  const newScene = (): Scene => {
    const guild = GUILDS[scenesUsed++];
    if (!guild) throw new Error('more tests than servers: add to GUILDS');
    const channelId = guild.channelIds[0]!;
    return {
      guildId: guild.id,
      channelId,
      member: (username) => ({ id: snowflake(), username }),
      command: (invocation) => fake.sendCommand({ ...invocation, guildId: guild.id, channelId }),
    };
  };

  /** Wait for @original of an interaction to carry a file, and return it. */
  const deliveredOriginal = (interaction: FakeInteraction) =>
    waitFor(() => {
      const message = fake.original(interaction);
      return message && message.attachments.length > 0 ? message : undefined;
    }, { what: `the image on @original of ${interaction.id}\n${bot.tail()}` });

  it('1. /imagine with two attachments and tags: CDN → Runway upload → task → file on Discord, ledger debited by the cost', async () => {
    const scene = newScene();
    const alice = scene.member('alice');
    const cat = noisePng(1);
    const garden = noisePng(2);
    const image1 = fake.addAttachment('cat.png', cat, 'image/png');
    const image2 = fake.addAttachment('garden.png', garden, 'image/png');
    const prompt = '@cat asleep in the @garden';
    const interaction = scene.command({
      name: 'imagine',
      user: alice,
      options: { prompt, model: 'gen4_image', ratio: '1280:720', tags: 'cat garden' },
      attachments: { image1, image2 },
    });
    expect((await callbackOf(fake, interaction)).json).toMatchObject({ type: 5 });
    const delivered = await deliveredOriginal(interaction);

    // Both attachments came from the CDN, and went to Runway as uploads, not as URLs.
    expect(fake.cdnRequests.map((r) => r.path)).toEqual(expect.arrayContaining([new URL(image1.url).pathname, new URL(image2.url).pathname]));
    expect(sim.uploads().map((u) => u.bytes)).toEqual(expect.arrayContaining([cat, garden]));
    const create = sim.requests.find((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === prompt);
    const body = create?.body as { model: string; ratio: string; referenceImages: { uri: string; tag: string }[] };
    expect(body.model).toBe('gen4_image');
    expect(body.ratio).toBe('1280:720');
    expect(body.referenceImages.map((r) => r.tag)).toEqual(['cat', 'garden']);
    for (const reference of body.referenceImages) expect(reference.uri).toMatch(/^runway:\/\//);
    expect(JSON.stringify(sim.requests)).not.toContain(fake.cdnOrigin);

    // The output bytes were re-uploaded to Discord as a file on @original.
    const task = sim.tasks().find((t) => t.promptText === prompt);
    expect(task?.status).toBe('SUCCEEDED');
    expect(delivered.attachments[0]?.bytes.equals(sim.outputFor(task!.id)!)).toBe(true);
    const edit = fake.requestsTo(new RegExp(`^/webhooks/\\d+/${interaction.token}/messages/@original$`), 'PATCH').find((r) => r.files.length > 0);
    expect(edit?.files[0]?.bytes.equals(sim.outputFor(task!.id)!)).toBe(true);
    expect(specProblems(edit!)).toEqual([]);

    // The ledger: the job cost exactly what Runway charged.
    await waitFor(() => isJobFinished(store, jobIdOf(delivered)), { what: 'settlement' });
    expect(await ledgerSum(store, ofJob(jobIdOf(delivered)))).toBe(-task!.costCredits);
    expect(await ledgerSum(store, ofUser(alice.id))).toBe(ALLOWANCE - task!.costCredits);
    expect(refusalCodes(bot, interaction)).toEqual([]);
  });

  it('8. count 4 on muse_image: one task with outputCount 4, four files in one message, charged per image; count on gen4_image refused at no cost', async () => {
    const scene = newScene();
    const alice = scene.member('alice');
    const prompt = 'four koi in a row';
    const interaction = scene.command({ name: 'imagine', user: alice, options: { prompt, model: 'muse_image', count: 4 } });
    const delivered = await deliveredOriginal(interaction);
    const create = sim.requests.find((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === prompt);
    expect((create?.body as { outputCount?: number }).outputCount).toBe(4);
    expect(delivered.attachments).toHaveLength(4);
    expect(fake.requestsTo(new RegExp(`^/webhooks/\\d+/${interaction.token}/messages/@original$`), 'PATCH').filter((r) => r.files.length > 0).map((r) => r.files.length)).toEqual([4]);
    const task = sim.tasks().find((t) => t.promptText === prompt);
    expect(delivered.attachments[0]?.bytes.equals(sim.outputFor(task!.id)!)).toBe(true);
    await waitFor(() => isJobFinished(store, jobIdOf(delivered)), { what: 'settlement' });
    expect(await ledgerSum(store, ofJob(jobIdOf(delivered)))).toBe(-task!.costCredits);
    expect(task!.costCredits).toBe(4);

    const refused = scene.command({ name: 'imagine', user: alice, options: { prompt: 'koi', model: 'gen4_image', count: 4 } });
    const answer = (await callbackOf(fake, refused)).json as { type: number; data: { flags: number; content: string } };
    expect(answer.type).toBe(4);
    expect(answer.data.flags & 64).toBe(64);
    expect(answer.data.content).toContain('makes one image per request');
    expect(refusalCodes(bot, refused)).toEqual(['request.count_not_supported']);
    expect(await ledgerSum(store, ofUser(alice.id))).toBe(ALLOWANCE - 4);
  });

  it('9. /history: ephemeral, the last results with a link to the message holding each image', async () => {
    const scene = newScene();
    const alice = scene.member('alice');
    const first = scene.command({ name: 'imagine', user: alice, options: { prompt: 'a *bold* koi <@123>', model: 'muse_image' } });
    const message = await deliveredOriginal(first);
    await waitFor(async () => (await store.readJobs()).find((j) => j.id === jobIdOf(message) && j.state === 'delivered'), { what: 'delivered' });
    const asked = scene.command({ name: 'history', user: alice, options: {} });
    const answer = (await callbackOf(fake, asked)).json as { type: number; data: { flags: number; content: string } };
    expect(answer.type).toBe(4);
    expect(answer.data.flags & 64).toBe(64);
    const lines = answer.data.content.split('\n');
    expect(lines[0]).toBe('Your last image in this server:');
    expect(lines[1]?.replace(/<t:\d+:R>/, '<t:…:R>')).toBe(
      `1. “a \\*bold\\* koi \\<\\@123\\>” · Muse Image · 1 credit · <t:…:R> · [open](<https://discord.com/channels/${scene.guildId}/${scene.channelId}/${message.id}>)`,
    );
    // Another member has none.
    const bob = scene.command({ name: 'history', user: scene.member('bob'), options: {} });
    expect(((await callbackOf(fake, bob)).json as { data: { content: string } }).data.content).toBe('You have no images in this server yet. Make one with `/imagine`.');
  });

  it('2. not enough credits: an ephemeral message with balance, price and cheaper options; Runway never called', async () => {
    const scene = newScene();
    const bob = scene.member('bob');
    const mod = scene.member('mod');
    const set = scene.command({ name: 'quota', subcommand: 'set', user: mod, permissions: PERMISSIONS.manageGuild, options: { user: bob, amount: 3 } });
    await callbackOf(fake, set);
    expect(commandCodes(bot, mod)).toEqual(['quota.set']);
    expect(await ledgerSum(store, ofUser(bob.id))).toBe(3);
    const prompt = `a lighthouse at night ${scene.guildId}`;
    const interaction = scene.command({ name: 'imagine', user: bob, options: { prompt, ratio: '1920:1080' } });
    const answer = await callbackOf(fake, interaction);
    const ephemeral =
      (answer.json as { type: number; data?: { flags?: number; content?: string } }).type === 4
        ? (answer.json as { data: { flags: number; content: string } }).data
        : await waitFor(() => fake.followUps(interaction)[0], { what: 'the ephemeral follow-up' });
    expect((ephemeral.flags ?? 0) & 64).toBe(64);
    expect(ephemeral.content).toContain('You have 3 credits');
    expect(ephemeral.content).toContain('costs 8');
    expect(ephemeral.content).toContain('Cheaper');
    expect(refusalCodes(bot, interaction)).toEqual(['credits.insufficient']);
    // Refused before a job was made: no row, no create, the balance untouched.
    expect((await store.readJobs()).filter((job) => job.userId === bob.id)).toEqual([]);
    expect(sim.requests.filter((r) => r.path === '/v1/text_to_image' && (r.body as { promptText?: string }).promptText === prompt)).toEqual([]);
    expect(await ledgerSum(store, ofUser(bob.id))).toBe(3);
  });

  it("3. Runway's SAFETY failure: a plain-words message, charged what Runway billed for it", async () => {
    const scene = newScene();
    const carol = scene.member('carol');
    const interaction = scene.command({ name: 'imagine', user: carol, options: { prompt: 'sim:safety something rude' } });
    const failed = await waitFor(() => {
      const message = fake.original(interaction);
      return message?.content.includes('moderation') ? message : undefined;
    }, { what: `the failure message\n${bot.tail()}` });
    expect(failed.content).toBe(`❌ ${SAFETY.userMessage}`);
    expect(failed.attachments).toEqual([]);
    await waitFor(async () => (await store.readLedger()).some((e) => e.user_id === carol.id && e.kind === 'settle'), { what: 'the settlement' });
    expect((await store.readJobs()).filter((job) => job.userId === carol.id).map((job) => [job.state, job.failureCode])).toEqual([['failed', SAFETY.code]]);
    // Runway bills a declined generation like a finished one: so is she, once, and nothing comes back.
    expect(await ledgerSum(store, (e) => e.user_id === carol.id && e.job_id !== null)).toBe(-8);
    expect(await ledgerSum(store, ofUser(carol.id, 'refund'))).toBe(0);
    expect(await ledgerSum(store, ofUser(carol.id))).toBe(ALLOWANCE - 8);
  });

  it("4. a member's /quota grant is refused; a moderator's works and /credits shows it", async () => {
    const scene = newScene();
    const bob = scene.member('bob');
    const carol = scene.member('carol');
    const mod = scene.member('mod');
    const refused = scene.command({ name: 'quota', subcommand: 'grant', user: bob, options: { user: carol, amount: 25 } });
    const refusal = (await callbackOf(fake, refused)).json as { type: number; data: { flags: number; content: string } };
    expect(refusal.data.flags & 64).toBe(64);
    expect(refusal.data.content).toBe(NOT_MODERATOR.userMessage);
    expect(commandCodes(bot, bob)).toEqual([NOT_MODERATOR.code]);
    expect(await ledgerSum(store, ofUser(carol.id, 'grant'))).toBe(0);

    const granted = scene.command({ name: 'quota', subcommand: 'grant', user: mod, permissions: PERMISSIONS.manageGuild, options: { user: carol, amount: 25 } });
    await callbackOf(fake, granted);
    expect(commandCodes(bot, mod)).toEqual(['quota.granted']);
    expect(await ledgerSum(store, ofUser(carol.id, 'grant'))).toBe(25);
    const credits = scene.command({ name: 'credits', user: carol });
    const shown = (await callbackOf(fake, credits)).json as { data: { flags: number; content: string } };
    expect(shown.data.flags & 64).toBe(64);
    // Her allowance (credited when the grant first saw her) and the grant.
    expect(shown.data.content.split('\n')[0]).toBe(`Your credits: \`${ALLOWANCE + 25}\``);
    expect(commandCodes(bot, carol)).toEqual(['credits.view']);
  });

  it('6. reroll makes a new image with a new seed, charged again; delete is for the requester (or a moderator) only', async () => {
    const scene = newScene();
    const alice = scene.member('alice');
    const bob = scene.member('bob');
    const mod = scene.member('mod');
    const prompt = 'a paper boat on a pond';
    const first = scene.command({ name: 'imagine', user: alice, options: { prompt, model: 'gen4_image', ratio: '720:720', seed: 11 } });
    const result = await deliveredOriginal(first);
    const firstJob = jobIdOf(result);
    const reroll = fake.clickButton({ user: alice, messageId: result.id, customId: `imagine:reroll:${firstJob}` });
    expect((await callbackOf(fake, reroll)).json).toMatchObject({ type: 5 });
    const rerolled = await deliveredOriginal(reroll);
    const secondJob = jobIdOf(rerolled);
    expect(secondJob).not.toBe(firstJob);
    const tasks = sim.tasks().filter((t) => t.promptText === prompt);
    expect(tasks).toHaveLength(2);
    expect(tasks[0]?.seed).toBe(11);
    expect(tasks[1]?.seed).not.toBe(11);
    expect(tasks.map((t) => [t.model, t.ratio])).toEqual([['gen4_image', '720:720'], ['gen4_image', '720:720']]);
    expect(rerolled.attachments[0]?.bytes.equals(sim.outputFor(tasks[1]!.id)!)).toBe(true);
    await waitFor(() => isJobFinished(store, secondJob), { what: 'the reroll settled' });
    expect(await ledgerSum(store, ofJob(secondJob))).toBe(-tasks[1]!.costCredits);
    expect(await ledgerSum(store, ofUser(alice.id))).toBe(ALLOWANCE - tasks[0]!.costCredits - tasks[1]!.costCredits);

    const byOther = fake.clickButton({ user: bob, messageId: result.id, customId: `imagine:delete:${firstJob}` });
    const refusal = (await callbackOf(fake, byOther)).json as { type: number; data: { flags: number } };
    expect(refusal.type).toBe(4);
    expect(refusal.data.flags & 64).toBe(64);
    expect(result.deleted).toBe(false);
    const byOwner = fake.clickButton({ user: alice, messageId: result.id, customId: `imagine:delete:${firstJob}` });
    await callbackOf(fake, byOwner);
    await waitFor(() => result.deleted, { what: 'the result deleted by its requester' });
    const byModerator = fake.clickButton({ user: mod, permissions: PERMISSIONS.manageGuild, messageId: rerolled.id, customId: `imagine:delete:${secondJob}` });
    await callbackOf(fake, byModerator);
    await waitFor(() => rerolled.deleted, { what: 'the reroll deleted by a moderator' });
  });

  it("7. the fake's 429s, a 5xx and a gateway disconnect: the bot rides them out", async () => {
    fake.injectFault({ path: /^\/interactions\/\d+\/[^/]+\/callback$/, status: 429, retryAfterSeconds: 0.05 });
    fake.injectFault({ path: /\/messages\/@original$/, method: 'PATCH', status: 429, retryAfterSeconds: 0.05, times: 2 });
    // The deferral carries @original in its answer, so the 5xx lands on the status and result edits.
    fake.injectFault({ path: /\/messages\/@original$/, method: 'PATCH', status: 503 });
    const scene = newScene();
    const resumesBefore = fake.gateway.resumeCount + fake.gateway.identifyCount;
    fake.dropGateway();
    const interaction = scene.command({ name: 'imagine', user: scene.member('alice'), options: { prompt: 'after the storm', ratio: '720:720' } });
    const delivered = await deliveredOriginal(interaction);
    expect(fake.gateway.resumeCount + fake.gateway.identifyCount).toBeGreaterThan(resumesBefore);
    const task = sim.tasks().find((t) => t.promptText === 'after the storm');
    expect(delivered.attachments[0]?.bytes.equals(sim.outputFor(task!.id)!)).toBe(true);
    // 200, not 204: the deferral asks for @original in the answer (`with_response`).
    expect(fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`)).map((r) => r.status)).toEqual([429, 200]);
    // Every fault landed on this interaction's requests, and each was ridden out: one 429 on the
    // callback, two on @original, one 503 on @original.
    const own = fake.requests.filter((r) => r.path.startsWith(`/interactions/${interaction.id}/`) || r.path.includes(`/${interaction.token}/`));
    expect(own.filter((r) => r.status === 429)).toHaveLength(3);
    expect(own.filter((r) => r.status === 503)).toHaveLength(1);
    // Every request the bot made is one Discord documents.
    for (const request of fake.requests.filter((r) => r.status < 300)) expect(specProblems(request), `${request.method} ${request.path}`).toEqual([]);
  });
});

describe('Discord end to end: a crash while a task runs', () => {
  it('5. killed mid-task and restarted after the interaction token expired: the image arrives once, as a channel message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imagine-discord-crash-'));
    const store = await newBotStore(dir);
    const fake = await FakeDiscord.start({ users: [alice] });
    const sim = await startRunwaySimulator({ apiKey: 'key', generationMs: 1_500, pendingMs: 50, outputScale: OUTPUT_SCALE });
    const env = { ...botEnv(fake, sim, store), ...store.crashEnv };
    let bot = BotProcess.start(env);
    try {
      await bot.waitForLog('discord: ready');
      const prompt = 'a lantern festival';
      const interaction = fake.sendCommand({ name: 'imagine', user: alice, options: { prompt, ratio: '720:720' } });
      // Kill only once the bot has recorded the task id (else recovery rightly refunds instead).
      await bot.waitForLog('"message":"runway task created"');
      await waitFor(() => sim.tasks().find((t) => t.promptText === prompt && t.status === 'RUNNING'), { what: `the task running\n${bot.tail()}` });
      await bot.kill();
      expect(sim.tasks().find((t) => t.promptText === prompt)?.status).not.toBe('SUCCEEDED');
      const placeholder = fake.original(interaction);
      expect(placeholder?.attachments).toEqual([]);
      fake.expireInteractionTokens();

      bot = BotProcess.start(env);
      await bot.waitForLog('discord: ready');
      const posted = await waitFor(() => fake.channelMessages().find((m) => m.attachments.length > 0), { what: `the image in the channel\n${bot.tail()}` });
      const task = sim.tasks().find((t) => t.promptText === prompt);
      expect(posted.attachments[0]?.bytes.equals(sim.outputFor(task!.id)!)).toBe(true);
      expect(posted.content).toContain(`<@${alice.id}>`);
      expect(posted.interactionToken).toBeNull();
      const post = fake.requestsTo(/^\/channels\/\d+\/messages$/, 'POST').find((r) => r.files.length > 0);
      expect(post?.headers.authorization).toBe(`Bot ${fake.token}`);
      expect(specProblems(post!)).toEqual([]);
      // The dead token was tried at most for the edit, never succeeded, and the stale placeholder is gone.
      expect(fake.requestsTo(/\/messages\/@original$/, 'PATCH').filter((r) => r.files.length > 0 && r.status < 300)).toEqual([]);
      await waitFor(() => placeholder?.deleted, { what: 'the stale placeholder removed' });
      // Once: wait until the restarted bot has recorded the delivery, then count.
      await bot.waitForLog('"message":"delivered"');
      expect(fake.channelMessages().filter((m) => m.attachments.length > 0)).toHaveLength(1);
      expect(await ledgerSum(store, (e) => e.user_id === alice.id && e.job_id !== null)).toBe(-task!.costCredits);
    } finally {
      await bot.stop();
      await fake.close();
      await sim.close();
      await store.discard();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
