import { afterEach, describe, expect, it } from 'vitest';
import { startDiscordAdapter, type DiscordAdapter, type DiscordAdapterOptions } from '../adapters/discord/index.ts';
import { ConfigError } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { CoreDouble } from './fakes/discord/core-double.ts';
import { FakeDiscord, guildOnShard, snowflake, waitFor, type FakeDiscordOptions, type FakeGuild, type FakeInteraction, type FakeUser, type RecordedRequest } from './fakes/discord/index.ts';

/**
 * The Discord adapter's sharding with the real discord.js client against the fake Discord (whose
 * gateway routes guilds to shards as Discord does; its own tests are discord-gateway-shards.test.ts):
 * one Client running several shards, `auto`, a process without shard 0, Discord refusing a shard,
 * and the health `connected()` over every shard.
 */

const alice: FakeUser = { id: snowflake(), username: 'alice' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startFake(options: FakeDiscordOptions): Promise<FakeDiscord> {
  const fake = await FakeDiscord.start({ users: [alice], ...options });
  cleanups.push(() => fake.close());
  return fake;
}

interface Started {
  readonly adapter: DiscordAdapter;
  readonly core: CoreDouble;
  /** The adapter's log, parsed. */
  readonly log: Record<string, unknown>[];
}

async function startAdapter(fake: FakeDiscord, shards: DiscordAdapterOptions['shards']): Promise<Started> {
  const core = new CoreDouble();
  const log: Record<string, unknown>[] = [];
  const adapter = await startDiscordAdapter({
    token: fake.token,
    apiUrl: fake.apiUrl,
    guildIds: fake.guilds.map((guild) => guild.id),
    mediaOrigins: [],
    ...(shards ? { shards } : {}),
    core,
    log: createLogger('info', (line) => log.push(JSON.parse(line) as Record<string, unknown>)),
  });
  cleanups.push(() => adapter.stop());
  return { adapter, core, log };
}

/** /credits in a guild of the fake, from alice. */
const creditsIn = (fake: FakeDiscord, guild: FakeGuild): FakeInteraction =>
  fake.sendCommand({ name: 'credits', user: alice, guildId: guild.id, channelId: guild.channelIds[0]! });

/** The bot's answer (callback) to an interaction, once it has come. */
const answerTo = (fake: FakeDiscord, interaction: FakeInteraction) =>
  waitFor(() => fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`), 'POST')[0], { what: `the answer to ${interaction.id}` });

/** An interaction callback's type, flags and text. */
const replyOf = (request: RecordedRequest) => {
  const { type, data } = request.json as { type: number; data: { flags: number; content: string } };
  return { type, flags: data.flags, content: data.content };
};


describe('Discord sharding with discord.js against the fake gateway', () => {
  it('one process runs two shards: two connections, an interaction from a guild on either is answered, and connected() needs both', async () => {
    const onZero = guildOnShard(0, 2, 'Zero');
    const onOne = guildOnShard(1, 2, 'One');
    // Two shards may IDENTIFY at once: otherwise discord.js waits 5 s between them, as Discord asks.
    const fake = await startFake({ guilds: [onZero, onOne], maxConcurrency: 2 });
    const { adapter, core, log } = await startAdapter(fake, { count: 2, ids: [0, 1] });

    expect(fake.gateway.identifiedShards).toEqual([[0, 2], [1, 2]]);
    expect(fake.gateway.identifies.map((identify) => identify.connectionId).toSorted()).toEqual([1, 2]);
    expect(fake.gateway.connectedShards).toEqual([0, 1]);
    expect(log.find((line) => line.message === 'discord: ready')).toMatchObject({ guilds: 2, shards: [0, 1], shardCount: 2 });
    // This process holds shard 0, so it registers the commands: once per guild, not once per shard.
    expect(fake.requestsTo(/\/commands$/, 'PUT').map((request) => request.path).toSorted()).toEqual(
      [onZero.id, onOne.id].map((guildId) => `/applications/${fake.applicationId}/guilds/${guildId}/commands`).toSorted(),
    );

    const fromOne = creditsIn(fake, onOne);
    const fromZero = creditsIn(fake, onZero);
    // Each answered privately (a reply, type 4, ephemeral) with what the core said.
    expect(replyOf(await answerTo(fake, fromOne))).toEqual({ type: 4, flags: 64, content: 'balance of alice: 42 credits' });
    expect(replyOf(await answerTo(fake, fromZero))).toEqual({ type: 4, flags: 64, content: 'balance of alice: 42 credits' });
    expect(fake.shardsThatReceived(fromOne)).toEqual([1]);
    expect(fake.shardsThatReceived(fromZero)).toEqual([0]);
    expect(core.creditsCalls.map((call) => call.requester.communityId).toSorted()).toEqual([onZero.id, onOne.id].toSorted());

    expect(adapter.connected()).toBe(true);
    fake.gateway.holdResumes = true;
    fake.dropGateway(1);
    await waitFor(() => fake.gateway.hasHeldResume, { what: 'shard 1 to ask to resume' });
    // Shard 0 is up; the process is not, while one of its shards is away.
    expect(fake.gateway.connectedShards).toEqual([0]);
    expect(adapter.connected()).toBe(false);
    fake.gateway.releaseResumes();
    await waitFor(() => adapter.connected(), { what: 'shard 1 to resume' });
    expect(fake.gateway.resumeCount).toBe(1);
    expect(fake.gateway.connectedShards).toEqual([0, 1]);
  });

  it('DISCORD_SHARDS=auto runs as many shards as GET /gateway/bot recommends, all in this process', async () => {
    const guilds = [guildOnShard(0, 3, 'Zero'), guildOnShard(1, 3, 'One'), guildOnShard(2, 3, 'Two')];
    const fake = await startFake({ guilds, recommendedShards: 3, maxConcurrency: 3 });
    const { adapter, log } = await startAdapter(fake, { count: 'auto' });

    expect(fake.gateway.identifiedShards).toEqual([[0, 3], [1, 3], [2, 3]]);
    expect(log.find((line) => line.message === 'discord: ready')).toMatchObject({ guilds: 3, shards: [0, 1, 2], shardCount: 3 });
    expect(fake.requestsTo(/\/commands$/, 'PUT')).toHaveLength(3);
    const fromTwo = creditsIn(fake, guilds[2]!);
    expect(replyOf(await answerTo(fake, fromTwo))).toEqual({ type: 4, flags: 64, content: 'balance of alice: 42 credits' });
    expect(fake.shardsThatReceived(fromTwo)).toEqual([2]);
    expect(adapter.connected()).toBe(true);
  });

  it('a process without shard 0 registers no commands and answers the guilds of its own shard', async () => {
    const onZero = guildOnShard(0, 2, 'Zero');
    const onOne = guildOnShard(1, 2, 'One');
    const fake = await startFake({ guilds: [onZero, onOne] });
    const { adapter, core, log } = await startAdapter(fake, { count: 2, ids: [1] });

    expect(fake.gateway.identifiedShards).toEqual([[1, 2]]);
    expect(fake.requestsTo(/\/commands$/, 'PUT')).toEqual([]);
    expect(log.filter((line) => String(line.message).startsWith('discord: commands')).map((line) => [line.message, line.shards])).toEqual([
      ['discord: commands are registered by the process holding shard 0', [1]],
    ]);
    expect(log.find((line) => line.message === 'discord: ready')).toMatchObject({ guilds: 1, shards: [1], shardCount: 2 });

    // Shard 0's guild is another process's: the gateway sends its interaction to no connection of this one.
    const fromZero = creditsIn(fake, onZero);
    const fromOne = creditsIn(fake, onOne);
    expect(replyOf(await answerTo(fake, fromOne))).toEqual({ type: 4, flags: 64, content: 'balance of alice: 42 credits' });
    expect(fake.shardsThatReceived(fromZero)).toEqual([]);
    expect(fake.shardsThatReceived(fromOne)).toEqual([1]);
    expect(core.creditsCalls.map((call) => call.requester.communityId)).toEqual([onOne.id]);
    expect(adapter.connected()).toBe(true);
  });

  it('too few shards for the guilds (4011): the adapter stops with what to set, and two shards are accepted', async () => {
    const guilds = [guildOnShard(0, 2, 'Zero A'), guildOnShard(0, 2, 'Zero B'), guildOnShard(1, 2, 'One')];
    const fake = await startFake({ guilds, maxGuildsPerSession: 2, maxConcurrency: 2 });
    const log: Record<string, unknown>[] = [];
    const options: DiscordAdapterOptions = {
      token: fake.token,
      apiUrl: fake.apiUrl,
      guildIds: [],
      mediaOrigins: [],
      core: new CoreDouble(),
      log: createLogger('info', (line) => log.push(JSON.parse(line) as Record<string, unknown>)),
    };
    const problem =
      'DISCORD_SHARDS: Discord refused shard 0 of 1 (close code 4011, sharding required): the bot is in more servers than 1 shard may hold, 2,500 each. Set DISCORD_SHARDS to auto, or to a larger count in every process.';
    await expect(startDiscordAdapter(options)).rejects.toThrow(new ConfigError([problem]));
    expect(log.filter((line) => line.level === 'error').map((line) => [line.message, line.code, line.closeCode])).toEqual([[`discord: ${problem}`, 'config.invalid', 4011]]);
    expect(fake.requestsTo(/\/commands$/, 'PUT')).toEqual([]);

    const sharded = await startDiscordAdapter({ ...options, shards: { count: 2, ids: [0, 1] } });
    cleanups.push(() => sharded.stop());
    expect(sharded.connected()).toBe(true);
    expect(fake.gateway.connectedShards).toEqual([0, 1]);
  });

  it('a shard Discord calls invalid (4010): the adapter stops, naming the shard', async () => {
    const fake = await startFake({ guilds: [guildOnShard(0, 2, 'Zero')] });
    // Config never lets an id reach its count; the adapter is handed one here to see Discord's answer.
    await expect(
      startDiscordAdapter({ token: fake.token, apiUrl: fake.apiUrl, guildIds: [], mediaOrigins: [], shards: { count: 2, ids: [2] }, core: new CoreDouble(), log: createLogger('silent') }),
    ).rejects.toThrow(
      new ConfigError([
        'DISCORD_SHARDS: Discord refused shard 2 of 2 as invalid (close code 4010). Give every process the same DISCORD_SHARDS, and DISCORD_SHARD_IDS below it.',
      ]),
    );
    expect(fake.gateway.identifies).toEqual([]);
  });
});
