/**
 * Tracker issue 8, "Done means": the bounds on what the bot can cost its operator, end to end. The
 * real bot process (`src/main.ts`: discord.js, Bolt, the core, its store: SQLite, or PostgreSQL in
 * the postgres project) serves the fake Discord and the fake Slack at once, against the Runway
 * simulator; the operator's tool runs beside it as a child process on the same database. Assertions are on what crossed the wire (the fakes'
 * recorded requests, the CDN, the simulator), on the codes the bot logged, and on the job and ledger
 * rows read back from its database.
 *
 * One bot process serves the first block (guarantees 1, 2, 4 and 5): each test has a Discord server
 * or a Slack workspace of its own (listed as served; the unlisted ones are each used by one test),
 * and members nobody else uses, and asserts only on those, so any test passes alone (`-t`). The
 * operator's budget (3) stops every community at once, so its test has a process, and a
 * configuration, of its own. Messages that name a refill time are matched against every wording the
 * bot could have used while the test waited (`textsBetween`): exact, without pinning the clock.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePlaceholder } from '../adapters/slack/placeholder.ts';
import { escapeMrkdwn, failureText, placeholderHead } from '../adapters/slack/texts.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { COMMUNITY_BLOCKED, COMMUNITY_NOT_SERVED } from '../src/communities/admission.ts';
import { capAboveBudget, communityBudgetSpent, formatUtc, formatWhen, operatorBudgetSpent } from '../src/credits/messages.ts';
import { nextPeriodStart, periodStart } from '../src/credits/periods.ts';
import { memberPaused } from '../src/moderation/moderation.ts';
import { tooManyInFlight } from '../src/imagine/acceptance-failures.ts';
import { explainFailureCode } from '../src/runway/failure-codes.ts';
import { FakeDiscord, PERMISSIONS, snowflake, type CommandInvocation, type FakeGuild, type FakeInteraction, type FakeMessage, type FakeUser } from './fakes/discord/index.ts';
import { startFakeSlack, type FakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';
import type { LedgerEntry } from './support/bot-database.ts';
import { newBotStore, type BotStore } from './support/bot-store.ts';
import { noisePng } from './support/images.ts';
import { PlatformBot } from './support/platform-bot.ts';
import { waitFor } from './support/wait-for.ts';

// ─── Constants ──────────────────────────────────────────────────────────────────────────────────

const SIGNING_SECRET = 'bounds-signing-secret';
const RUNWAY_KEY = 'key_bounds';
const ALLOWANCE = 50;
/** `gen4_image` at its default ratio (1920:1080): what it is held at and what the simulator bills, declined or not. */
const PRICE = 8;
/** DISCORD_MODERATOR_ROLE: a role every test server has; members holding it moderate without Manage Server. */
const MODERATOR_ROLE = snowflake();
const STRIKES = 2;
/** What Runway's moderation decline (the simulator's `sim:safety`, SAFETY.INPUT.TEXT, billed in full) is shown as. */
const DECLINED = explainFailureCode('SAFETY.INPUT.TEXT', PRICE);

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const ADMIN_CLI = join(REPO_ROOT, 'src', 'admin', 'cli.ts');

// ─── The world: fakes, simulator, database, bot ─────────────────────────────────────────────────

interface World {
  readonly discord: FakeDiscord;
  readonly slack: FakeSlack;
  readonly sender: SlackSender;
  readonly sim: RunwaySimulator;
  readonly dir: string;
  /** The bot's store, on the project's backend. */
  readonly store: BotStore;
  readonly env: Record<string, string>;
  readonly bot: PlatformBot;
}

/** Start the fakes and the simulator, then the bot serving both platforms with `env` on top of the common settings. */
async function startWorld(guilds: readonly FakeGuild[], env: (base: { discord: FakeDiscord; slack: FakeSlack }) => Record<string, string>): Promise<World> {
  const discord = await FakeDiscord.start({ guilds });
  const slack = await startFakeSlack();
  const sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 200, pendingMs: 50, outputScale: 0.25 });
  const dir = mkdtempSync(join(tmpdir(), 'imagine-bounds-e2e-'));
  const store = await newBotStore(dir);
  const port = await freePort();
  const fullEnv: Record<string, string> = {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: String(port),
    RUNWAYML_API_SECRET: RUNWAY_KEY,
    RUNWAYML_BASE_URL: sim.url,
    ...store.env,
    MEDIA_ORIGINS: `${discord.cdnOrigin} ${sim.url}`,
    RUNWAY_POLL_INTERVAL_MS: '50',
    DEFAULT_ALLOWANCE: String(ALLOWANCE),
    LOG_LEVEL: 'debug',
    ...env({ discord, slack }),
  };
  const bot = await PlatformBot.started(fullEnv);
  return { discord, slack, sender: createSlackSender(`http://127.0.0.1:${port}/slack/events`, SIGNING_SECRET), sim, dir, store, env: fullEnv, bot };
}

async function stopWorld(world: World | undefined): Promise<void> {
  if (!world) return;
  await world.bot.stop();
  await world.discord.close();
  await world.slack.close();
  await world.sim.close();
  await world.store.discard();
  rmSync(world.dir, { recursive: true, force: true });
}

const newGuild = (name: string): FakeGuild => ({ id: snowflake(), name, channelIds: [snowflake()], roles: [{ id: MODERATOR_ROLE, name: 'Mods', permissions: PERMISSIONS.member }] });

// ─── Scenes: one community per test ─────────────────────────────────────────────────────────────

let userCount = 0;

/** A Discord server of one test's own: its channel, fresh members, and a moderator by DISCORD_MODERATOR_ROLE. */
interface GuildScene {
  readonly guildId: string;
  readonly channelId: string;
  readonly moderator: FakeUser;
  member(username: string): FakeUser;
  /** A slash command in this server's channel. */
  command(invocation: Omit<CommandInvocation, 'guildId' | 'channelId'>): FakeInteraction;
  /** The same, by the moderator (their role, no Manage Server). */
  moderate(invocation: Omit<CommandInvocation, 'guildId' | 'channelId' | 'user' | 'roles'>): FakeInteraction;
}

function guildScene(world: World, guild: FakeGuild): GuildScene {
  const channelId = guild.channelIds[0]!;
  const member = (username: string): FakeUser => ({ id: snowflake(), username: `${username}${++userCount}` });
  const moderator = member('mod');
  const command: GuildScene['command'] = (invocation) => world.discord.sendCommand({ ...invocation, guildId: guild.id, channelId });
  return { guildId: guild.id, channelId, moderator, member, command, moderate: (invocation) => command({ ...invocation, user: moderator, roles: [MODERATOR_ROLE] }) };
}

/** A Slack workspace of one test's own (the fake serves any team id it is sent): a channel and fresh members. */
interface TeamScene {
  readonly teamId: string;
  readonly channel: string;
  member(name: string, isAdmin?: boolean): string;
  /** Send a signed slash command from this workspace; returns its fields (response_url included). */
  command(command: string, text: string, userId: string): Promise<Record<string, string> & { response_url: string }>;
}

function teamScene(world: World, teamId: string): TeamScene {
  const channel = `C${teamId.slice(1)}`;
  return {
    teamId,
    channel,
    member: (name, isAdmin = false) => {
      const id = `U${String(++userCount).padStart(4, '0')}${name.toUpperCase()}`;
      world.slack.addUser({ id, name, isAdmin });
      return id;
    },
    command: async (command, text, userId) => {
      const fields = { ...world.slack.commandFields(command, text, userId, channel), team_id: teamId };
      const sent = await world.sender.command(fields);
      expect(sent.status).toBe(200);
      return fields;
    },
  };
}

// ─── Reading what happened ──────────────────────────────────────────────────────────────────────

interface JobRow {
  readonly id: string;
  readonly communityId: string;
  readonly userId: string;
  readonly state: string;
  readonly failureCode: string | null;
  readonly moderated: number;
  readonly costCredits: number | null;
  readonly placeholder: string;
}

/** Every job row, oldest first (aliases quoted: PostgreSQL folds unquoted names to lower case). */
function readJobRows(world: World): Promise<JobRow[]> {
  return world.store.select<JobRow>(
    `select id, community_id as "communityId", user_id as "userId", state, failure_code as "failureCode", moderated,
            cost_credits as "costCredits", placeholder from jobs order by created_at, rowid`,
  );
}

const jobsOf = async (world: World, userId: string) => (await readJobRows(world)).filter((job) => job.userId === userId);
const communityJobs = async (world: World, communityId: string) => (await readJobRows(world)).filter((job) => job.communityId === communityId);
const communityLedger = async (world: World, communityId: string) => (await world.store.readLedger()).filter((entry) => entry.community_id === communityId);
/** A member's ledger as [kind, delta] pairs, in order. */
const entriesOf = async (world: World, userId: string) => (await world.store.readLedger()).filter((entry) => entry.user_id === userId).map((entry) => [entry.kind, entry.delta]);
const sumOf = (entries: readonly LedgerEntry[]) => entries.reduce((total, entry) => total + entry.delta, 0);
const balanceOf = async (world: World, userId: string) => sumOf((await world.store.readLedger()).filter((entry) => entry.user_id === userId));
/** Whether a job's money is final (settled or refunded). */
const isSettled = async (world: World, jobId: string) => (await world.store.readLedger()).some((entry) => entry.job_id === jobId && (entry.kind === 'settle' || entry.kind === 'refund'));

function logEntries(bot: PlatformBot): Record<string, unknown>[] {
  return bot.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The codes the Discord adapter logged refusing this interaction (`discord: request refused`). */
function discordRefusals(bot: PlatformBot, interaction: FakeInteraction): string[] {
  return logEntries(bot)
    .filter((entry) => entry.message === 'discord: request refused' && entry.interactionId === interaction.id)
    .map((entry) => String(entry.code));
}

/** The codes the Slack adapter logged refusing a member's requests (`slack request refused`). */
function slackRefusals(bot: PlatformBot, userId: string): string[] {
  return logEntries(bot)
    .filter((entry) => entry.message === 'slack request refused' && entry.user === userId)
    .map((entry) => String(entry.code));
}

/** The codes of a member's /credits and /quota answers (the core logs them at debug). */
function commandCodes(bot: PlatformBot, userId: string): string[] {
  return logEntries(bot)
    .filter((entry) => (entry.message === 'credits answered' || entry.message === 'quota answered') && entry.user === userId)
    .map((entry) => String(entry.code));
}

/**
 * Every text `make` gives for a moment between `fromMs` and `toMs`. Messages name a time relative
 * to the bot's now ("in 3 h 20 min"), to the minute; the bot's clock is the system clock, so its
 * now lay in that window, and the message must be exactly one of these.
 */
function textsBetween(fromMs: number, toMs: number, make: (nowMs: number) => string): string[] {
  const moments = new Set([fromMs, toMs]);
  for (let minute = Math.ceil(fromMs / 60_000) * 60_000; minute <= toMs; minute += 60_000) {
    for (const at of [minute - 1, minute]) if (at >= fromMs && at <= toMs) moments.add(at);
  }
  return [...new Set([...moments].map(make))];
}

const nextMidnight = (nowMs: number) => nextPeriodStart('day', nowMs)!;

// ─── Discord helpers ────────────────────────────────────────────────────────────────────────────

/** The callback of an interaction (its first answer), once Discord accepted it. */
const callbackOf = (world: World, interaction: FakeInteraction) =>
  waitFor(`the answer to ${interaction.id}\n${world.bot.tail()}`, () =>
    world.discord.requestsTo(new RegExp(`^/interactions/${interaction.id}/`), 'POST').find((request) => request.status < 300),
  );

/** An interaction's private answer: the ephemeral reply, or after a deferral the ephemeral follow-up. */
async function privateAnswer(world: World, interaction: FakeInteraction): Promise<{ type: number; content: string; flags: number }> {
  const body = (await callbackOf(world, interaction)).json as { type: number; data?: { content?: string; flags?: number } };
  if (body.type === 4) return { type: 4, content: body.data?.content ?? '', flags: body.data?.flags ?? 0 };
  const followUp = await waitFor(`the follow-up to ${interaction.id}`, () => world.discord.followUps(interaction)[0]);
  return { type: body.type, content: followUp.content, flags: followUp.flags };
}

/** Wait for @original of an interaction to carry the image. */
const deliveredOriginal = (world: World, interaction: FakeInteraction) =>
  waitFor(`the image on @original of ${interaction.id}\n${world.bot.tail()}`, () => {
    const message = world.discord.original(interaction);
    return message && message.attachments.length > 0 ? message : undefined;
  });

/** The job a Discord interaction became, if any. */
const jobOfInteraction = async (world: World, interaction: FakeInteraction) =>
  (await readJobRows(world)).find((job) => (JSON.parse(job.placeholder) as { interactionToken?: string }).interactionToken === interaction.token);

/** /imagine in the scene and wait until its image is on @original and its money is final; returns the job. */
async function imagineDelivered(world: World, scene: GuildScene, user: FakeUser, prompt: string): Promise<JobRow> {
  const interaction = scene.command({ name: 'imagine', user, options: { prompt } });
  await deliveredOriginal(world, interaction);
  // The image reaches the chat before its row says so (the delivery is recorded once it is posted).
  const job = await waitFor('the job row, delivered', async () => {
    const row = await jobOfInteraction(world, interaction);
    return row?.state === 'delivered' ? row : undefined;
  });
  await waitFor(`job ${job.id} settled`, async () => (await isSettled(world, job.id)));
  expect(discordRefusals(world.bot, interaction)).toEqual([]);
  return job;
}

/** Attachments on the fake CDN: one per seed, each its own file. */
const attachmentsFor = (world: World, seeds: readonly number[]) => seeds.map((seed) => world.discord.addAttachment(`ref-${seed}.png`, noisePng(seed), 'image/png'));
const cdnPath = (attachment: { url: string }) => new URL(attachment.url).pathname;

// ─── Slack helpers ──────────────────────────────────────────────────────────────────────────────

/** What the bot posted to a slash command's response_url. */
const responseTo = (world: World, fields: { response_url: string }) =>
  waitFor(`the answer on ${fields.response_url}\n${world.bot.tail()}`, () => world.slack.responses.find((response) => fields.response_url.endsWith(`/${response.id}`)));

/** A Slack /imagine, until its image is shared in the channel and its money is final; returns the job. */
async function slackImagineDelivered(world: World, scene: TeamScene, userId: string, prompt: string): Promise<JobRow> {
  await scene.command('/imagine', prompt, userId);
  const job = await waitFor(`the delivered job of ${userId}\n${world.bot.tail()}`, async () => (await jobsOf(world, userId)).find((row) => row.state === 'delivered' && decodePlaceholder(row.placeholder).head === placeholderHead(userId, prompt)));
  await waitFor(`job ${job.id} settled`, async () => (await isSettled(world, job.id)));
  return job;
}

// ─── The operator's tool ────────────────────────────────────────────────────────────────────────

interface AdminRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `npm run admin -- …` (tsx src/admin/cli.ts) as its own process, beside the running bot, on its
 * database with the bot's own configuration, from an empty directory (so no `.env` is read).
 */
function runAdmin(world: World, args: readonly string[]): Promise<AdminRun> {
  const cwd = join(world.dir, 'admin-cwd');
  mkdirSync(cwd, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [ADMIN_CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...world.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// ═══ One bot process: Discord and Slack, each community listed, moderation and flood control on ══

/** Servers listed in DISCORD_GUILD_IDS: one per test. */
const SERVED_GUILDS = Array.from({ length: 6 }, (_, i) => newGuild(`Served ${i + 1}`));
/** Not listed: the bot must not spend a credit or a byte on it. */
const UNLISTED_GUILD = newGuild('Stranger');
const SERVED_TEAMS = ['TSERVED01', 'TSERVED02', 'TSERVED03'];
const UNLISTED_TEAM = 'TSTRANGER';

describe('operator bounds, one bot process serving listed Discord servers and Slack workspaces', () => {
  let world: World;

  beforeAll(async () => {
    world = await startWorld([...SERVED_GUILDS, UNLISTED_GUILD], () => ({
      DISCORD_GUILD_IDS: SERVED_GUILDS.map((guild) => guild.id).join(','),
      DISCORD_MODERATOR_ROLE: MODERATOR_ROLE,
      SLACK_TEAM_IDS: SERVED_TEAMS.join(' '),
      MODERATION_STRIKES: `${STRIKES}/day`,
      MAX_JOBS_PER_MEMBER: '2',
      OPERATOR_BUDGET: 'off',
      COMMUNITY_BUDGET: '200',
    }));
  });
  afterAll(async () => {
    await stopWorld(world);
  });

  let guildsUsed = 0;
  const newGuildScene = (): GuildScene => {
    const guild = SERVED_GUILDS[guildsUsed++];
    if (!guild) throw new Error('more Discord tests than served servers: add to SERVED_GUILDS');
    return guildScene(world, guild);
  };
  let teamsUsed = 0;
  const newTeamScene = (): TeamScene => {
    const team = SERVED_TEAMS[teamsUsed++];
    if (!team) throw new Error('more Slack tests than served workspaces: add to SERVED_TEAMS');
    return teamScene(world, team);
  };

  describe('1. a community the operator does not serve is refused at no cost', () => {
    it('1a. Discord, a server not in DISCORD_GUILD_IDS: /imagine with an image, /credits, /quota grant and a button get the polite refusal, privately; nothing is downloaded, held or sent', async () => {
      const { discord, sim, bot } = world;
      const channelId = UNLISTED_GUILD.channelIds[0]!;
      const stranger: FakeUser = { id: snowflake(), username: `stan${++userCount}` };
      const owner: FakeUser = { id: snowflake(), username: `owner${++userCount}` };
      const simBefore = sim.requests.length;
      const cdnBefore = discord.cdnRequests.length;
      // A result the bot posted back when this server was still listed: its Reroll button is clicked now.
      const oldResult: FakeMessage = {
        id: snowflake(), channelId, content: 'an earlier image', flags: 0, interactionToken: null, nonce: null, edits: 0, deleted: false, attachments: [],
        components: [{ type: 1, components: [{ type: 2, style: 2, label: 'Reroll', custom_id: 'imagine:reroll:00000000-0000-4000-8000-000000000001' }] }],
      };
      discord.rest.messages.set(oldResult.id, oldResult);
      const [image1] = attachmentsFor(world, [101]);
      const inStranger = { guildId: UNLISTED_GUILD.id, channelId };
      const interactions = [
        discord.sendCommand({ ...inStranger, name: 'imagine', user: stranger, options: { prompt: 'a cat on a mat' }, attachments: { image1: image1! } }),
        discord.sendCommand({ ...inStranger, name: 'credits', user: stranger }),
        discord.sendCommand({ ...inStranger, name: 'quota', subcommand: 'grant', user: owner, permissions: PERMISSIONS.manageGuild, options: { user: stranger, amount: 500 } }),
        discord.clickButton({ user: stranger, messageId: oldResult.id, customId: 'imagine:reroll:00000000-0000-4000-8000-000000000001' }),
      ];

      for (const interaction of interactions) {
        expect(interaction.guildId).toBe(UNLISTED_GUILD.id);
        // One ephemeral reply (type 4, flag 64): no public "thinking…" placeholder was ever made.
        expect((await callbackOf(world, interaction)).json).toMatchObject({ type: 4, data: { content: COMMUNITY_NOT_SERVED.userMessage, flags: 64 } });
        await waitFor('the refusal logged', () => discordRefusals(bot, interaction).length > 0);
        expect(discordRefusals(bot, interaction)).toEqual(['community.not_served']);
      }
      expect(commandCodes(bot, stranger.id)).toEqual([]);
      expect(commandCodes(bot, owner.id)).toEqual([]);
      // Nothing downloaded, nothing sent to Runway, no job, no ledger entry, nothing public in the channel.
      expect(discord.cdnRequests.slice(cdnBefore)).toEqual([]);
      expect(sim.requests.slice(simBefore).filter((request) => request.path !== '/v1/organization')).toEqual([]);
      expect(await communityJobs(world, UNLISTED_GUILD.id)).toEqual([]);
      expect(await communityLedger(world, UNLISTED_GUILD.id)).toEqual([]);
      expect(discord.channelMessages(channelId).filter((message) => (message.flags & 64) === 0)).toEqual([oldResult]);
    });

    it('1b. Slack, a workspace not in SLACK_TEAM_IDS: /imagine, /credits and a mention with a file get the polite refusal, privately; the file is never fetched and users.info never asked', async () => {
      const { slack, sender, sim, bot } = world;
      const stranger = teamScene(world, UNLISTED_TEAM);
      const stan = stranger.member('stan');
      const simBefore = sim.requests.length;
      const slackBefore = slack.requests.length;

      const imagine = await stranger.command('/imagine', 'a koi pond --ratio 16:9', stan);
      const credits = await stranger.command('/credits', '', stan);
      for (const fields of [imagine, credits]) {
        expect((await responseTo(world, fields)).body).toEqual({ response_type: 'ephemeral', text: escapeMrkdwn(COMMUNITY_NOT_SERVED.userMessage) });
      }
      const file = slack.addUserFile('cat.png', noisePng(102));
      const mention = await sender.event(UNLISTED_TEAM, {
        type: 'app_mention', user: stan, text: `<@${slack.botUserId}> @cat on a mat --tags cat`, ts: '1767225600.000801', channel: stranger.channel, files: [file],
      });
      expect(mention.status).toBe(200);
      const notice = await waitFor('the ephemeral refusal of the mention', () => slack.ephemerals.find((e) => e.channel === stranger.channel && e.user === stan));
      expect(notice.text).toBe(escapeMrkdwn(COMMUNITY_NOT_SERVED.userMessage));
      expect(notice.threadTs).toBeUndefined();

      await waitFor('three refusals logged', () => slackRefusals(bot, stan).length >= 3);
      expect(slackRefusals(bot, stan)).toEqual(['community.not_served', 'community.not_served', 'community.not_served']);
      expect(commandCodes(bot, stan)).toEqual([]);
      const calls = slack.requests.slice(slackBefore);
      // The file host never saw a request, and users.info (who is this? an admin?) was never spent on them.
      expect(calls.filter((call) => call.kind === 'file')).toEqual([]);
      expect(calls.filter((call) => call.kind === 'users.info')).toEqual([]);
      // Only the three private answers: two on response_url, one ephemeral; nothing posted in the channel.
      expect(calls.map((call) => call.kind).sort()).toEqual(['chat.postEphemeral', 'respond', 'respond']);
      expect(sim.requests.slice(simBefore).filter((request) => request.path !== '/v1/organization')).toEqual([]);
      expect(await communityJobs(world, UNLISTED_TEAM)).toEqual([]);
      expect(await communityLedger(world, UNLISTED_TEAM)).toEqual([]);
    });

    it("1c. Discord, a server blocked with the operator's tool while the bot runs: refused with community.blocked at no cost; after `unblock`, served again", async () => {
      const { discord, bot } = world;
      const scene = newGuildScene();
      const bea = scene.member('bea');
      // The server is known to the database (the tool refuses ids no table names) once a member used /credits.
      await callbackOf(world, scene.command({ name: 'credits', user: bea }));
      expect(commandCodes(bot, bea.id)).toEqual(['credits.view']);
      expect(await entriesOf(world, bea.id)).toEqual([['allowance', ALLOWANCE]]);

      const blocked = await runAdmin(world, ['block', scene.guildId, 'spam', 'from', 'bots']);
      expect(blocked).toMatchObject({ code: 0, stderr: '' });
      expect(blocked.stdout).toMatch(new RegExp(`^${scene.guildId} blocked at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC \\(spam from bots\\): the bot refuses its requests until 'unblock ${scene.guildId}'\\.\\n$`));

      const cdnBefore = discord.cdnRequests.length;
      const [image1] = attachmentsFor(world, [103]);
      const refused = [
        scene.command({ name: 'imagine', user: bea, options: { prompt: 'a blocked cat' }, attachments: { image1: image1! } }),
        scene.command({ name: 'credits', user: bea }),
        scene.moderate({ name: 'quota', subcommand: 'grant', options: { user: bea, amount: 20 } }),
      ];
      for (const interaction of refused) {
        expect((await callbackOf(world, interaction)).json).toMatchObject({ type: 4, data: { content: COMMUNITY_BLOCKED.userMessage, flags: 64 } });
        await waitFor('the refusal logged', () => discordRefusals(bot, interaction).length > 0);
        expect(discordRefusals(bot, interaction)).toEqual(['community.blocked']);
      }
      expect(discord.cdnRequests.slice(cdnBefore)).toEqual([]);
      expect(await communityJobs(world, scene.guildId)).toEqual([]);
      expect(await entriesOf(world, bea.id)).toEqual([['allowance', ALLOWANCE]]);
      expect(commandCodes(bot, bea.id)).toEqual(['credits.view']);

      const unblocked = await runAdmin(world, ['unblock', scene.guildId]);
      expect(unblocked).toEqual({ code: 0, stdout: `${scene.guildId} unblocked: its members can use the bot again.\n`, stderr: '' });
      const job = await imagineDelivered(world, scene, bea, 'an unblocked cat');
      expect(job).toMatchObject({ state: 'delivered', costCredits: PRICE, moderated: 0 });
      expect(await entriesOf(world, bea.id)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0]]);
    });
  });

  describe('2. Runway declines a member again and again: charged each time, paused at the strike limit, moderators told once', () => {
    /** The notice the moderators get when the member `name` reaches the strike limit, as the bot words it at `nowMs`. */
    const pauseNotice = (name: string, nowMs: number) =>
      `Moderators: Runway's content moderation declined ${STRIKES} requests from ${name} this day, so their /imagine is paused; ` +
      `it resumes ${formatWhen(nextMidnight(nowMs), nowMs)}. Runway bills declined requests and suspends accounts that send too many. ` +
      'To lift the pause sooner, use `/quota pardon`.';
    const pausedText = (nowMs: number) => memberPaused({ paused: true, strikes: STRIKES, untilMs: nextMidnight(nowMs) }, nowMs).userMessage;

    it('2a. Discord: each declined prompt costs what Runway billed; after the 2nd, /imagine is paused at no cost, the role is pinged once in the channel, and /quota pardon lifts it', async () => {
      const { discord, bot } = world;
      const scene = newGuildScene();
      const mallory = scene.member('mallory');
      const roleNotices = () => discord.requestsTo(new RegExp(`^/channels/${scene.channelId}/messages$`), 'POST').filter((request) => String((request.json as { content?: unknown }).content).startsWith(`<@&${MODERATOR_ROLE}>`));

      let noticeWindowStart = 0;
      for (const strike of [1, 2]) {
        noticeWindowStart = Date.now();
        const interaction = scene.command({ name: 'imagine', user: mallory, options: { prompt: `sim:safety strike ${strike}` } });
        // Her message says plainly that the decline was charged, and how much.
        const failed = await waitFor(`the decline on @original\n${bot.tail()}`, () => {
          const message = discord.original(interaction);
          return message?.content.startsWith('❌') ? message : undefined;
        });
        expect(failed.content).toBe(`❌ ${DECLINED.userMessage}`);
        expect(failed.content).toContain(`this one cost ${PRICE} credits`);
        const job = (await jobOfInteraction(world, interaction))!;
        await waitFor('the decline settled', async () => (await isSettled(world, job.id)));
        expect(await balanceOf(world, mallory.id)).toBe(ALLOWANCE - strike * PRICE);
      }
      expect((await jobsOf(world, mallory.id)).map(({ state, failureCode, moderated, costCredits }) => ({ state, failureCode, moderated, costCredits }))).toEqual([
        { state: 'failed', failureCode: DECLINED.code, moderated: 1, costCredits: PRICE },
        { state: 'failed', failureCode: DECLINED.code, moderated: 1, costCredits: PRICE },
      ]);
      // Charged in full, twice: the settle gives nothing back, and no refund follows.
      expect(await entriesOf(world, mallory.id)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0]]);

      // The moderators: one channel message pinging the role, and only the role.
      const [notice] = await waitFor(`the moderators told\n${bot.tail()}`, () => roleNotices().length > 0 && roleNotices());
      const noticeWindowEnd = Date.now();
      expect(notice!.headers.authorization).toBe(`Bot ${discord.token}`);
      const body = notice!.json as { content: string; allowed_mentions: unknown };
      expect(body.allowed_mentions).toEqual({ parse: [], roles: [MODERATOR_ROLE] });
      expect(textsBetween(noticeWindowStart, noticeWindowEnd, (now) => `<@&${MODERATOR_ROLE}> ${pauseNotice(mallory.username, now)}`)).toContain(body.content);

      // Paused: the next /imagine is refused before anything is held or sent.
      const pausedAt = Date.now();
      const paused = scene.command({ name: 'imagine', user: mallory, options: { prompt: 'a calm lake' } });
      const answer = await privateAnswer(world, paused);
      expect(answer).toMatchObject({ type: 4, flags: 64 });
      expect(textsBetween(pausedAt, Date.now(), pausedText)).toContain(answer.content);
      expect(discordRefusals(bot, paused)).toEqual(['moderation.paused']);
      expect(await jobsOf(world, mallory.id)).toHaveLength(2);
      expect(await balanceOf(world, mallory.id)).toBe(ALLOWANCE - 2 * PRICE);

      // A moderator (by DISCORD_MODERATOR_ROLE alone) pardons her; her next /imagine goes through.
      const pardon = scene.moderate({ name: 'quota', subcommand: 'pardon', options: { user: mallory } });
      expect((await callbackOf(world, pardon)).json).toMatchObject({
        type: 4,
        data: { content: `${scene.moderator.username} lifted ${mallory.username}'s pause: they had ${STRIKES} strikes forgiven and can use /imagine again.` },
      });
      expect(commandCodes(bot, scene.moderator.id)).toEqual(['quota.pardoned']);
      const job = await imagineDelivered(world, scene, mallory, 'a calm lake');
      expect(job).toMatchObject({ state: 'delivered', moderated: 0, costCredits: PRICE, failureCode: null });
      expect(await entriesOf(world, mallory.id)).toEqual([
        ['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0],
      ]);
      // Told exactly once, for the one pause.
      expect(roleNotices()).toHaveLength(1);
    });

    it('2b. Slack: the same: charged per decline, paused after the 2nd at no cost, the moderators told once by a message in the channel, a workspace admin pardons', async () => {
      const { slack, bot } = world;
      const scene = newTeamScene();
      const mallory = scene.member('mallory');
      const admin = scene.member('ada', true);
      const notices = () => slack.messages.filter((message) => message.channel === scene.channel && message.text.startsWith('Moderators:'));

      let noticeWindowStart = 0;
      for (const strike of [1, 2]) {
        noticeWindowStart = Date.now();
        const prompt = `sim:safety strike ${strike}`;
        await scene.command('/imagine', prompt, mallory);
        const job = await waitFor(`decline ${strike} settled\n${bot.tail()}`, async () => {
          const declined = (await jobsOf(world, mallory)).find((row) => row.failureCode !== null && decodePlaceholder(row.placeholder).head === placeholderHead(mallory, prompt));
          return declined !== undefined && (await isSettled(world, declined.id)) && declined;
        });
        // The placeholder says what the decline cost.
        const placeholder = decodePlaceholder(job.placeholder);
        const shown = await waitFor('the decline on the placeholder', () => {
          const message = slack.message(scene.channel, placeholder.ts);
          return message?.text.startsWith(':warning:') ? message : undefined;
        });
        expect(shown.text).toBe(failureText(placeholderHead(mallory, prompt), DECLINED.userMessage));
        expect(await balanceOf(world, mallory)).toBe(ALLOWANCE - strike * PRICE);
      }
      expect((await jobsOf(world, mallory)).map(({ state, failureCode, moderated, costCredits }) => ({ state, failureCode, moderated, costCredits }))).toEqual([
        { state: 'failed', failureCode: DECLINED.code, moderated: 1, costCredits: PRICE },
        { state: 'failed', failureCode: DECLINED.code, moderated: 1, costCredits: PRICE },
      ]);
      expect(await entriesOf(world, mallory)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0]]);

      const [notice] = await waitFor(`the moderators told\n${bot.tail()}`, () => notices().length > 0 && notices());
      const noticeWindowEnd = Date.now();
      expect(notice!.threadTs).toBeUndefined();
      expect(textsBetween(noticeWindowStart, noticeWindowEnd, (now) => escapeMrkdwn(pauseNotice('mallory', now)))).toContain(notice!.text);

      const pausedAt = Date.now();
      const paused = await scene.command('/imagine', 'a calm lake', mallory);
      const answer = (await responseTo(world, paused)).body;
      expect(answer.response_type).toBe('ephemeral');
      expect(textsBetween(pausedAt, Date.now(), (now) => escapeMrkdwn(pausedText(now)))).toContain(answer.text);
      expect(slackRefusals(bot, mallory)).toEqual(['moderation.paused']);
      expect(await jobsOf(world, mallory)).toHaveLength(2);
      expect(await balanceOf(world, mallory)).toBe(ALLOWANCE - 2 * PRICE);

      const pardon = await scene.command('/quota', `pardon <@${mallory}|mallory>`, admin);
      expect((await responseTo(world, pardon)).body).toEqual({
        response_type: 'in_channel',
        text: `ada lifted mallory's pause: they had ${STRIKES} strikes forgiven and can use /imagine again.`,
      });
      expect(commandCodes(bot, admin)).toEqual(['quota.pardoned']);
      const job = await slackImagineDelivered(world, scene, mallory, 'a calm lake');
      expect(job).toMatchObject({ moderated: 0, costCredits: PRICE, failureCode: null });
      expect(slack.sharedFiles().filter((upload) => upload.shares[0]?.channel === scene.channel)).toHaveLength(1);
      expect(await entriesOf(world, mallory)).toEqual([
        ['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0],
      ]);
      expect(notices()).toHaveLength(1);
    });

    it('2c. Discord: two declined prompts finishing together pause the member, and the role is pinged exactly once', async () => {
      const { discord, sim, bot } = world;
      const scene = newGuildScene();
      const mallory = scene.member('mallory');
      const roleNotices = () => discord.requestsTo(new RegExp(`^/channels/${scene.channelId}/messages$`), 'POST').filter((request) => String((request.json as { content?: unknown }).content).startsWith(`<@&${MODERATOR_ROLE}>`));
      const windowStart = Date.now();
      // Both reach Runway together: creates wait at the simulator until both jobs are there.
      const creates = sim.holdCreates();
      let declines: FakeInteraction[];
      try {
        declines = [1, 2].map((n) => scene.command({ name: 'imagine', user: mallory, options: { prompt: `sim:safety at once ${n}` } }));
        await waitFor(`both creates at Runway\n${bot.tail()}`, () => creates.waiting === 2);
        await waitFor('both placeholders starting', () => declines.every((interaction) => discord.original(interaction)?.content === '🎨 Starting the generation…'));
        // Each failure edit is rate limited once (1 s): the second decline is recorded before the first is told
        // to anyone, so both are followed by the moderators' notice step with two strikes on record.
        for (const interaction of declines) {
          discord.injectFault({ path: new RegExp(`^/webhooks/\\d+/${interaction.token}/messages/@original$`), method: 'PATCH', status: 429, retryAfterSeconds: 1 });
        }
      } finally {
        creates.release();
      }
      for (const interaction of declines) {
        await waitFor(`the decline shown\n${bot.tail()}`, () => discord.original(interaction)?.content.startsWith('❌'));
        expect(discord.original(interaction)?.content).toBe(`❌ ${DECLINED.userMessage}`);
      }
      expect((await jobsOf(world, mallory.id)).map(({ state, moderated, costCredits }) => ({ state, moderated, costCredits }))).toEqual([
        { state: 'failed', moderated: 1, costCredits: PRICE },
        { state: 'failed', moderated: 1, costCredits: PRICE },
      ]);
      expect(await entriesOf(world, mallory.id)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['reserve', -PRICE], ['settle', 0], ['settle', 0]]);
      // Both edits were refused once and went through on the retry.
      for (const interaction of declines) {
        expect(discord.requestsTo(new RegExp(`^/webhooks/\\d+/${interaction.token}/messages/@original$`), 'PATCH').map((request) => request.status).slice(-2)).toEqual([429, 200]);
      }
      const [notice] = await waitFor('the moderators told', () => roleNotices().length > 0 && roleNotices());
      expect(textsBetween(windowStart, Date.now(), (now) => `<@&${MODERATOR_ROLE}> ${pauseNotice(mallory.username, now)}`)).toContain((notice!.json as { content: string }).content);
      const pausedAt = Date.now();
      const paused = scene.command({ name: 'imagine', user: mallory, options: { prompt: 'a calm lake' } });
      expect(textsBetween(pausedAt, Date.now(), pausedText)).toContain((await privateAnswer(world, paused)).content);
      expect(discordRefusals(bot, paused)).toEqual(['moderation.paused']);
      // Lift the pause and let an image run through: by its delivery the notice step of both declines is long over.
      await callbackOf(world, scene.moderate({ name: 'quota', subcommand: 'pardon', options: { user: mallory } }));
      await imagineDelivered(world, scene, mallory, 'a calm lake');
      expect(roleNotices()).toHaveLength(1);
    });
  });

  describe("4. the operator's tool changes a community's budget while the bot runs", () => {
    it('4. `budget <guild> 8`: the next image beyond 8 credits is refused credits.community_budget at no cost; `budget <guild> default` serves it again; /quota cap above the budget is refused', async () => {
      const { discord, bot } = world;
      const scene = newGuildScene();
      const cody = scene.member('cody');
      await callbackOf(world, scene.command({ name: 'credits', user: cody }));

      const lowered = await runAdmin(world, ['budget', scene.guildId, '8']);
      expect(lowered).toEqual({ code: 0, stdout: `${scene.guildId}: budget 8/day (was 200/day, the default). Spent today: 0, left: 8.\n`, stderr: '' });

      const first = await imagineDelivered(world, scene, cody, 'the first lighthouse');
      expect(first.costCredits).toBe(PRICE);

      // Spent: 8 of 8. The member still has 42 credits, but the community's budget says no.
      const refusedAt = Date.now();
      const cdnBefore = discord.cdnRequests.length;
      const [image1] = attachmentsFor(world, [104]);
      const beyond = scene.command({ name: 'imagine', user: cody, options: { prompt: 'the second lighthouse' }, attachments: { image1: image1! } });
      const answer = await privateAnswer(world, beyond);
      expect(answer.flags & 64).toBe(64);
      expect(textsBetween(refusedAt, Date.now(), (now) => communityBudgetSpent({ remaining: 0, price: PRICE, period: 'day', resetsAt: nextMidnight(now), nowMs: now }).userMessage)).toContain(answer.content);
      expect(discordRefusals(bot, beyond)).toEqual(['credits.community_budget']);
      // The public placeholder of the deferral is gone; nothing was downloaded, held or sent.
      await waitFor('the placeholder removed', () => discord.original(beyond) === undefined || discord.original(beyond)?.deleted);
      expect(discord.cdnRequests.slice(cdnBefore)).toEqual([]);
      expect((await jobsOf(world, cody.id)).map((job) => job.id)).toEqual([first.id]);
      expect(await entriesOf(world, cody.id)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0]]);

      const restored = await runAdmin(world, ['budget', scene.guildId, 'default']);
      expect(restored).toEqual({ code: 0, stdout: `${scene.guildId}: budget back to the default, 200/day (was 8/day). Spent today: 8, left: 192.\n`, stderr: '' });
      const second = await imagineDelivered(world, scene, cody, 'the second lighthouse');
      expect(second.costCredits).toBe(PRICE);
      expect(await entriesOf(world, cody.id)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['settle', 0], ['reserve', -PRICE], ['settle', 0]]);

      // A moderator cannot cap the community above what the operator gives it.
      const cap = scene.moderate({ name: 'quota', subcommand: 'cap', options: { amount: 999 } });
      expect((await callbackOf(world, cap)).json).toMatchObject({ type: 4, data: { content: capAboveBudget({ amount: 200, period: 'day' }).userMessage, flags: 64 } });
      expect(commandCodes(bot, scene.moderator.id)).toEqual(['quota.cap_above_budget']);
    });
  });

  describe('5. flood control: credits are held before any reference image is downloaded', () => {
    /** Send `count` /imagine with three attachments each, all at once; wait until each is refused or became a job. */
    async function flood(scene: GuildScene, user: FakeUser, count: number, firstSeed: number) {
      const requests = Array.from({ length: count }, (_, i) => {
        const seeds = [firstSeed + 3 * i, firstSeed + 3 * i + 1, firstSeed + 3 * i + 2];
        const [image1, image2, image3] = attachmentsFor(world, seeds);
        const interaction = scene.command({ name: 'imagine', user, options: { prompt: `flood ${i + 1}` }, attachments: { image1: image1!, image2: image2!, image3: image3! } });
        return { interaction, paths: [image1!, image2!, image3!].map(cdnPath), bytes: seeds.map((seed) => noisePng(seed)) };
      });
      const jobsOfRequests = () => Promise.all(requests.map(({ interaction }) => jobOfInteraction(world, interaction)));
      await waitFor(`every request answered\n${world.bot.tail()}`, async () => {
        const jobs = await jobsOfRequests();
        return requests.every(({ interaction }, i) => discordRefusals(world.bot, interaction).length > 0 || jobs[i] !== undefined);
      });
      const jobs = await jobsOfRequests();
      const accepted = requests.filter((_, i) => jobs[i] !== undefined);
      const refused = requests.filter((_, i) => jobs[i] === undefined);
      return { requests, accepted, refused };
    }

    it('5a. a member whose balance covers one image sends 8 requests with 3 images each at once: one proceeds, 7 are refused credits.insufficient, the CDN and Runway see only its 3 images', async () => {
      const { discord, sim, bot } = world;
      const scene = newGuildScene();
      const flo = scene.member('flo');
      const set = scene.moderate({ name: 'quota', subcommand: 'set', options: { user: flo, amount: PRICE } });
      await callbackOf(world, set);
      expect(commandCodes(bot, scene.moderator.id)).toEqual(['quota.set']);
      expect(await balanceOf(world, flo.id)).toBe(PRICE);
      const uploadsBefore = sim.uploads().length;

      const { requests, accepted, refused } = await flood(scene, flo, 8, 200);
      expect(accepted).toHaveLength(1);
      // Only one hold can exist (the balance covers one image), so no second image is ever in flight:
      // every other request is refused for credits, whether by the look before the deferral or by the reservation.
      expect(refused.map(({ interaction }) => discordRefusals(bot, interaction))).toEqual(Array.from({ length: 7 }, () => ['credits.insufficient']));
      for (const { interaction } of refused) {
        const answer = await privateAnswer(world, interaction);
        expect(answer.flags & 64).toBe(64);
        expect(answer.content.split('\n')[0]).toBe(`You have 0 credits; this image costs ${PRICE} (\`gen4_image\` at 1920:1080). Nothing was charged.`);
      }

      const [winner] = accepted;
      await deliveredOriginal(world, winner!.interaction);
      const job = (await jobOfInteraction(world, winner!.interaction))!;
      await waitFor('the image settled', async () => (await isSettled(world, job.id)));
      // Downloads: the three images of the one request that holds credits, once each; none of the others'.
      const floodPaths = new Set(requests.flatMap(({ paths }) => paths));
      expect(discord.cdnRequests.filter((request) => floodPaths.has(request.path)).map((request) => request.path).sort()).toEqual([...winner!.paths].sort());
      // Runway: exactly those three images, uploaded once each.
      const uploaded = sim.uploads().slice(uploadsBefore).map((upload) => upload.bytes);
      expect(uploaded).toHaveLength(3);
      expect(uploaded).toEqual(expect.arrayContaining(winner!.bytes));
      expect((await jobsOf(world, flo.id)).map(({ state, costCredits }) => ({ state, costCredits }))).toEqual([{ state: 'delivered', costCredits: PRICE }]);
      expect(await entriesOf(world, flo.id)).toEqual([['allowance', ALLOWANCE], ['set', PRICE - ALLOWANCE], ['reserve', -PRICE], ['settle', 0]]);
      expect(await balanceOf(world, flo.id)).toBe(0);
    });

    it('5b. with credits for six images, 8 requests with 3 images each at once: MAX_JOBS_PER_MEMBER=2 proceed, 6 are refused jobs.too_many_in_flight, only their 6 images are downloaded', async () => {
      const { discord, sim, bot } = world;
      const scene = newGuildScene();
      const fred = scene.member('fred');
      const uploadsBefore = sim.uploads().length;
      // Runway's create waits until every request is answered: the two accepted jobs stay in flight meanwhile.
      const creates = sim.holdCreates();
      let flooded: Awaited<ReturnType<typeof flood>>;
      try {
        flooded = await flood(scene, fred, 8, 300);
      } finally {
        creates.release();
      }
      const { requests, accepted, refused } = flooded;
      expect(accepted).toHaveLength(2);
      expect(refused.map(({ interaction }) => discordRefusals(bot, interaction))).toEqual(Array.from({ length: 6 }, () => ['jobs.too_many_in_flight']));
      for (const { interaction } of refused) {
        const answer = await privateAnswer(world, interaction);
        expect(answer).toMatchObject({ content: tooManyInFlight(2, 2).userMessage });
        expect(answer.flags & 64).toBe(64);
      }
      for (const { interaction } of accepted) await deliveredOriginal(world, interaction);
      const jobs = (await Promise.all(accepted.map(({ interaction }) => jobOfInteraction(world, interaction)))).map((job) => job!);
      await waitFor('both images settled', async () => (await Promise.all(jobs.map((job) => isSettled(world, job.id)))).every(Boolean));
      const floodPaths = new Set(requests.flatMap(({ paths }) => paths));
      expect(discord.cdnRequests.filter((request) => floodPaths.has(request.path)).map((request) => request.path).sort()).toEqual(accepted.flatMap(({ paths }) => paths).sort());
      const uploaded = sim.uploads().slice(uploadsBefore).map((upload) => upload.bytes);
      expect(uploaded).toHaveLength(6);
      expect(uploaded).toEqual(expect.arrayContaining(accepted.flatMap(({ bytes }) => bytes)));
      expect(await entriesOf(world, fred.id)).toEqual([['allowance', ALLOWANCE], ['reserve', -PRICE], ['reserve', -PRICE], ['settle', 0], ['settle', 0]]);
    });
  });
});

// ═══ Another process: OPERATOR_BUDGET=16 across every community ═══════════════════════════════

describe("3. the operator's budget stops every community at once (OPERATOR_BUDGET=16, no community budget)", () => {
  const GUILDS = [newGuild('First'), newGuild('Third'), newGuild('Fourth')];
  let world: World;

  beforeAll(async () => {
    world = await startWorld(GUILDS, () => ({
      DISCORD_GUILD_IDS: GUILDS.map((guild) => guild.id).join(','),
      OPERATOR_BUDGET: '16',
      OPERATOR_PERIOD: 'day',
      COMMUNITY_BUDGET: 'off',
    }));
  });
  afterAll(async () => {
    await stopWorld(world);
  });

  it('3. an image in a Discord server and one in a Slack workspace (8 each) pass; a third community is refused credits.operator_budget at no cost, on either platform; /quota report shows the budget', async () => {
    const { discord, slack, sim, bot } = world;
    const first = guildScene(world, GUILDS[0]!);
    const third = guildScene(world, GUILDS[1]!);
    const workspace = teamScene(world, 'TOPERATOR1');
    const otherWorkspace = teamScene(world, 'TOPERATOR2');

    const ann = first.member('ann');
    const discordJob = await imagineDelivered(world, first, ann, 'a fox in the snow');
    const sam = workspace.member('sam');
    const slackJob = await slackImagineDelivered(world, workspace, sam, 'a hare in the grass');
    expect([discordJob.costCredits, slackJob.costCredits]).toEqual([PRICE, PRICE]);

    // The third community, with a reference image: refused in the reservation, before any download.
    const tom = third.member('tom');
    const refusedAt = Date.now();
    const cdnBefore = discord.cdnRequests.length;
    const simBefore = sim.requests.length;
    const [image1] = attachmentsFor(world, [401]);
    const refused = third.command({ name: 'imagine', user: tom, options: { prompt: 'a badger at dusk' }, attachments: { image1: image1! } });
    const answer = await privateAnswer(world, refused);
    const operatorSpent = (now: number) => operatorBudgetSpent({ remaining: 0, price: PRICE, period: 'day', resetsAt: nextMidnight(now), nowMs: now }).userMessage;
    expect(answer.flags & 64).toBe(64);
    expect(textsBetween(refusedAt, Date.now(), operatorSpent)).toContain(answer.content);
    expect(discordRefusals(bot, refused)).toEqual(['credits.operator_budget']);

    // And a second Slack workspace, the same.
    const sue = otherWorkspace.member('sue');
    const slackRefusedAt = Date.now();
    const slackRefused = await otherWorkspace.command('/imagine', 'an owl at night', sue);
    const slackAnswer = (await responseTo(world, slackRefused)).body;
    expect(slackAnswer.response_type).toBe('ephemeral');
    expect(textsBetween(slackRefusedAt, Date.now(), (now) => escapeMrkdwn(operatorSpent(now)))).toContain(slackAnswer.text);
    expect(slackRefusals(bot, sue)).toEqual(['credits.operator_budget']);
    // Its public placeholder was taken down again.
    await waitFor('the Slack placeholder removed', () => slack.messages.filter((m) => m.channel === otherWorkspace.channel).every((m) => m.isDeleted));

    // At no cost: no download, no Runway call, no job; their ledgers hold only the allowance they were credited on first sight.
    expect(discord.cdnRequests.slice(cdnBefore)).toEqual([]);
    expect(sim.requests.slice(simBefore).filter((request) => request.path !== '/v1/organization')).toEqual([]);
    expect(await communityJobs(world, third.guildId)).toEqual([]);
    expect(await communityJobs(world, otherWorkspace.teamId)).toEqual([]);
    expect(await entriesOf(world, tom.id)).toEqual([['allowance', ALLOWANCE]]);
    expect(await entriesOf(world, sue)).toEqual([['allowance', ALLOWANCE]]);
    // Exactly the two images were charged, across every community.
    expect((await world.store.readLedger()).filter((entry) => entry.job_id !== null).map((entry) => [entry.community_id, entry.kind, entry.delta])).toEqual([
      [first.guildId, 'reserve', -PRICE], [first.guildId, 'settle', 0], [workspace.teamId, 'reserve', -PRICE], [workspace.teamId, 'settle', 0],
    ]);

    // The moderators of the third server can see why: the report shows the operator's budget, spent.
    const reportAt = Date.now();
    const report = third.command({ name: 'quota', subcommand: 'report', user: third.member('mod'), permissions: PERMISSIONS.manageGuild });
    const shown = await privateAnswer(world, report);
    expect(shown).toMatchObject({ type: 4, flags: 64 });
    expect(
      textsBetween(reportAt, Date.now(), (now) =>
        [
          `Credits report (this day, since ${formatUtc(periodStart('day', now)!)})`,
          'Spent: 0 credits, including credits held by running jobs.',
          'Cap: none (set one with `/quota cap <amount> [period]`).',
          "Operator's budget for this community: unlimited.",
          `Operator's budget for every community together: 0 of 16 credits a day left, refills ${formatWhen(nextMidnight(now), now)}.`,
          'Allowance: 50 credits a day.',
          'No images in this period yet.',
          "Declined by Runway's moderation today: 0; a member is paused after 3 in a day; `/quota pardon` lifts it.",
        ].join('\n'),
      ),
    ).toContain(shown.content);
  });
});
