import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { FakeDiscord, guildOnShard, snowflake, waitFor, type FakeGuild, type FakeInteraction, type FakeUser } from './fakes/discord/index.ts';
import { readJobs, readPostgresJobs } from './support/bot-database.ts';
import { startBot } from './support/bot-process.ts';
import { PlatformBot } from './support/platform-bot.ts';
import { dropTestDatabases, freshPostgresUrl } from './support/test-database.ts';

/**
 * Sharding end to end: the real bot process (src/main.ts, discord.js) against the fake Discord,
 * whose gateway sends each guild's events only to the connection holding the guild's shard, and
 * the Runway simulator. One process running both shards of two (SQLite); two processes running one
 * shard each on one PostgreSQL database, each answering the interactions of its own shard's guilds;
 * and a bad shard setting that stops the bot before it does anything.
 */

const alice: FakeUser = { id: snowflake(), username: 'alice' };
const bob: FakeUser = { id: snowflake(), username: 'bob' };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => dropTestDatabases());

interface World {
  readonly fake: FakeDiscord;
  readonly sim: RunwaySimulator;
  /** A guild whose events Discord sends to shard 0 of 2, and one for shard 1. */
  readonly onZero: FakeGuild;
  readonly onOne: FakeGuild;
  /** A fresh database path (each in its own directory, as a reference store sits beside it). */
  databasePath(name: string): string;
  /** A fresh, empty directory, removed after the test. */
  tempDir(name: string): string;
}

async function startWorld(): Promise<World> {
  const onZero = guildOnShard(0, 2, 'Shard Zero Server');
  const onOne = guildOnShard(1, 2, 'Shard One Server');
  // Both shards of one process may IDENTIFY at once: otherwise discord.js waits 5 s between them.
  const fake = await FakeDiscord.start({ guilds: [onZero, onOne], users: [alice, bob], maxConcurrency: 2 });
  cleanups.push(() => fake.close());
  const sim = await startRunwaySimulator({ apiKey: 'key', generationMs: 200, pendingMs: 50, outputScale: 0.25 });
  cleanups.push(() => sim.close());
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `imagine-shards-${name}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  return { fake, sim, onZero, onOne, databasePath: (name) => join(tempDir(name), 'bot.db'), tempDir };
}

/**
 * Where a bot keeps its state: a SQLite file of its own, or a PostgreSQL database the processes
 * share, with the reference store they share (unset, it would be ./data/references in the working tree).
 */
type DatabaseEnv = { readonly DATABASE_PATH: string } | { readonly DATABASE_URL: string; readonly REFERENCE_DIR: string };

function botEnv(world: World, database: DatabaseEnv, shards: Record<string, string>): Record<string, string> {
  return {
    DISCORD_TOKEN: world.fake.token,
    DISCORD_API_URL: world.fake.apiUrl,
    DISCORD_GUILD_IDS: `${world.onZero.id},${world.onOne.id}`,
    RUNWAYML_API_SECRET: 'key',
    RUNWAYML_BASE_URL: world.sim.url,
    ...database,
    MEDIA_ORIGINS: `${world.fake.cdnOrigin} ${world.sim.url}`,
    RUNWAY_POLL_INTERVAL_MS: '50',
    LOG_LEVEL: 'debug',
    ...shards,
  };
}

async function startBotProcess(env: Record<string, string>): Promise<PlatformBot> {
  const bot = PlatformBot.start(env);
  cleanups.push(() => bot.stop());
  await bot.waitForLog('discord: ready');
  return bot;
}

/** The id a process leases jobs under on a shared database (the `locked_by` of its jobs), from its start line. */
function instanceIdOf(bot: PlatformBot): unknown {
  return logged(bot, 'sharing the database with any other imagine-bot on it')[0]?.instanceId;
}

/** The bot's JSON log lines with this message. */
function logged(bot: PlatformBot, message: string): Record<string, unknown>[] {
  return bot.lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.message === message);
}

function imagine(world: World, guild: FakeGuild, user: FakeUser, prompt: string): FakeInteraction {
  return world.fake.sendCommand({ name: 'imagine', user, guildId: guild.id, channelId: guild.channelIds[0]!, options: { prompt, ratio: '720:720' } });
}

/** Wait until the image is on @original of the interaction; the number of files on it. */
async function delivered(world: World, interaction: FakeInteraction, tail: () => string): Promise<number> {
  const message = await waitFor(
    () => {
      const original = world.fake.original(interaction);
      return original && original.attachments.length > 0 ? original : undefined;
    },
    { what: `the image on @original of ${interaction.id}\n${tail()}` },
  );
  return message.attachments.length;
}

/** A SQLite database's jobs as requester → state, once `count` of them are all delivered (the shards' jobs may be taken in either order). */
const deliveredJobs = (databasePath: string, count: number) =>
  waitFor(() => {
    const jobs = readJobs(databasePath);
    return jobs.length === count && jobs.every((job) => job.state === 'delivered') ? Object.fromEntries(jobs.map((job) => [job.userId, job.state])) : undefined;
  }, { what: `${count} delivered job(s) in ${databasePath}` });

/**
 * `/imagine` from the guild on shard 0 and the guild on shard 1, each waited for until its image is
 * on its @original; then, that the gateway sent each to its guild's shard alone, on the connection
 * that shard identified on.
 */
async function imagineOnEachShard(world: World, prompt: string, tails: readonly [() => string, () => string]): Promise<FakeInteraction[]> {
  const interactions = [imagine(world, world.onZero, alice, `${prompt} (shard zero)`), imagine(world, world.onOne, bob, `${prompt} (shard one)`)];
  for (const [shardId, interaction] of interactions.entries()) expect(await delivered(world, interaction, tails[shardId]!)).toBe(1);
  const routes = interactions.map((interaction) =>
    world.fake.gateway.deliveries.filter((delivery) => delivery.eventId === interaction.id).map((delivery) => [delivery.shard[0], delivery.connectionId]),
  );
  expect(routes).toEqual([[[0, world.fake.gateway.connectionOf(0)]], [[1, world.fake.gateway.connectionOf(1)]]]);
  return interactions;
}

describe('Discord sharding end to end: the real bot process against the fake Discord', () => {
  it('one process with DISCORD_SHARDS=2 holds two gateway connections, and /imagine from a guild on each shard is delivered', async () => {
    const world = await startWorld();
    const databasePath = world.databasePath('one-process');
    const bot = await startBotProcess(botEnv(world, { DATABASE_PATH: databasePath }, { DISCORD_SHARDS: '2' }));
    const { fake } = world;

    expect(fake.gateway.identifiedShards).toEqual([[0, 2], [1, 2]]);
    expect(fake.gateway.identifies.map((identify) => identify.connectionId).toSorted()).toEqual([1, 2]);
    expect(logged(bot, 'discord: ready').map((entry) => [entry.shards, entry.shardCount, entry.guilds])).toEqual([[[0, 1], 2, 2]]);
    expect(logged(bot, 'discord: commands registered').map((entry) => [entry.count, entry.guilds])).toEqual([[4, 2]]);
    expect(fake.requestsTo(/\/commands$/, 'PUT')).toHaveLength(2);

    await imagineOnEachShard(world, 'a lighthouse', [() => bot.tail(), () => bot.tail()]);
    expect(await deliveredJobs(databasePath, 2)).toEqual({ [alice.id]: 'delivered', [bob.id]: 'delivered' });
  });

  it('two processes with DISCORD_SHARDS=2, one shard each, on one PostgreSQL database: each interaction is answered, once, by the process holding its guild', async () => {
    const world = await startWorld();
    const { fake } = world;
    // One shared database, as processes that split a bot's shards run in production.
    const database = { DATABASE_URL: await freshPostgresUrl(), REFERENCE_DIR: world.tempDir('references') };
    const [zero, one] = await Promise.all([
      startBotProcess(botEnv(world, database, { DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: '0' })),
      startBotProcess(botEnv(world, database, { DISCORD_SHARDS: '2', DISCORD_SHARD_IDS: '1' })),
    ]);

    expect(fake.gateway.identifiedShards).toEqual([[0, 2], [1, 2]]);
    expect(logged(zero, 'discord: ready').map((entry) => [entry.shards, entry.shardCount, entry.guilds])).toEqual([[[0], 2, 1]]);
    expect(logged(one, 'discord: ready').map((entry) => [entry.shards, entry.shardCount, entry.guilds])).toEqual([[[1], 2, 1]]);
    // The commands are registered once, by shard 0's process; the other leaves them alone.
    expect(logged(zero, 'discord: commands registered').map((entry) => [entry.count, entry.guilds])).toEqual([[4, 2]]);
    expect(logged(one, 'discord: commands registered')).toEqual([]);
    expect(logged(one, 'discord: commands are registered by the process holding shard 0').map((entry) => entry.shards)).toEqual([[1]]);
    expect(fake.requestsTo(/\/commands$/, 'PUT')).toHaveLength(2);

    // The gateway sent each interaction to one connection, its guild's shard's...
    const interactions = await imagineOnEachShard(world, 'a harbour', [() => zero.tail(), () => one.tail()]);
    // ...and the process holding that shard took the job (its lease is that process's), ran it and
    // delivered it; the other, on the same database, never touched it.
    const jobs = await waitFor(
      async () => {
        const all = await readPostgresJobs(database.DATABASE_URL);
        return all.length === 2 && all.every((job) => job.state === 'delivered') ? all : undefined;
      },
      { what: 'two delivered jobs in the shared database' },
    );
    const jobOf = (guild: FakeGuild) => jobs.find((job) => job.communityId === guild.id);
    expect(Object.fromEntries(jobs.map((job) => [job.communityId, job.userId]))).toEqual({ [world.onZero.id]: alice.id, [world.onOne.id]: bob.id });
    expect(jobOf(world.onZero)?.lockedBy).toBe(instanceIdOf(zero));
    expect(jobOf(world.onOne)?.lockedBy).toBe(instanceIdOf(one));
    await zero.waitForLog('"message":"delivered"');
    await one.waitForLog('"message":"delivered"');
    expect(logged(zero, 'delivered').map((entry) => entry.jobId)).toEqual([jobOf(world.onZero)?.id]);
    expect(logged(one, 'delivered').map((entry) => entry.jobId)).toEqual([jobOf(world.onOne)?.id]);
    // Delivered once: one upload of the image per interaction, from either process.
    for (const interaction of interactions) {
      expect(fake.requests.filter((request) => request.files.length > 0 && request.path.includes(interaction.token)), `uploads for ${interaction.id}`).toHaveLength(1);
    }
  });

  it('DISCORD_SHARD_IDS naming a shard past DISCORD_SHARDS stops the bot at start, before it touches Discord or a database', async () => {
    const world = await startWorld();
    const databasePath = world.databasePath('bad-shards');
    const child = startBot({ env: { NODE_ENV: 'test', SLACK_BOT_TOKEN: '', ...botEnv(world, { DATABASE_PATH: databasePath }, { DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: '2-3 5' }) }, input: 'closed' });
    cleanups.push(async () => void (await child.kill()));

    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(child.stderr()).toBe(
      'imagine-bot cannot start. Invalid configuration:\n' +
        '  - DISCORD_SHARD_IDS names shard 5, but DISCORD_SHARDS is 4: shard ids run from 0 to 3.\n' +
        'See .env.example for every variable.\n',
    );
    expect(child.stdout()).toBe('');
    expect(world.fake.requests).toEqual([]);
    expect(world.fake.gateway.identifies).toEqual([]);
    expect(existsSync(databasePath)).toBe(false);
  });
});
