import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  CLOSE_INVALID_SHARD,
  CLOSE_SHARDING_REQUIRED,
  FakeDiscord,
  guildIdOnShard,
  guildOnShard,
  shardOf,
  snowflake,
  waitFor,
  type FakeDiscordOptions,
  type FakeUser,
} from './fakes/discord/index.ts';

/**
 * The fake gateway's sharding, spoken to directly over a plain WebSocket (no discord.js), so what
 * it routes where is seen frame by frame: Discord's rules at
 * https://discord.com/developers/docs/events/gateway#sharding.
 */

const alice: FakeUser = { id: snowflake(), username: 'alice' };

interface Frame {
  readonly op: number;
  readonly t?: string;
  readonly s?: number;
  readonly d?: unknown;
}

/** One gateway connection, as a bot's shard would open it: it records every frame and how it closed. */
class RawShard {
  readonly frames: Frame[] = [];
  closeCode: number | null = null;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(data.toString()) as Frame));
    ws.on('close', (code) => (this.closeCode = code));
  }

  static async open(url: string): Promise<RawShard> {
    const ws = new WebSocket(url);
    const shard = new RawShard(ws);
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await waitFor(() => shard.frames.find((frame) => frame.op === 10), { what: 'HELLO' });
    return shard;
  }

  identify(token: string, shard?: unknown): void {
    this.ws.send(JSON.stringify({ op: 2, d: { token, intents: 1, properties: {}, ...(shard === undefined ? {} : { shard }) } }));
  }

  /** The `d` of every dispatch of type `t` received so far. */
  dispatches(t: string): Record<string, unknown>[] {
    return this.frames.filter((frame) => frame.op === 0 && frame.t === t).map((frame) => frame.d as Record<string, unknown>);
  }

  close(): void {
    this.ws.terminate();
  }
}

const fakes: FakeDiscord[] = [];
const shards: RawShard[] = [];
afterEach(async () => {
  for (const shard of shards.splice(0)) shard.close();
  for (const fake of fakes.splice(0)) await fake.close();
});

async function startFake(options: FakeDiscordOptions): Promise<FakeDiscord> {
  const fake = await FakeDiscord.start(options);
  fakes.push(fake);
  return fake;
}

async function openShard(fake: FakeDiscord): Promise<RawShard> {
  const shard = await RawShard.open(fake.gatewayUrl);
  shards.push(shard);
  return shard;
}

/** Open a connection, IDENTIFY as `shard`, and wait for its READY. */
async function identified(fake: FakeDiscord, shard?: readonly [number, number]): Promise<RawShard> {
  const connection = await openShard(fake);
  connection.identify(fake.token, shard);
  await waitFor(() => connection.dispatches('READY')[0], { what: `READY for shard ${String(shard)}` });
  return connection;
}

describe("the fake gateway's sharding", () => {
  it("computes a guild's shard by Discord's formula, (guild_id >> 22) % num_shards", () => {
    // A guild created 1,000 ms after Discord's epoch: its id is 1000 << 22.
    expect(shardOf(String(1_000n << 22n), 3)).toBe(1);
    expect(shardOf(String(1_000n << 22n), 1)).toBe(0);
    expect(shardOf(String((1_001n << 22n) | 0x3fffffn), 2)).toBe(1);
    expect(shardOf('81384788765712384', 16)).toBe(Number((81_384_788_765_712_384n >> 22n) % 16n));
    for (const count of [1, 2, 3, 7]) {
      for (let shardId = 0; shardId < count; shardId++) expect(shardOf(guildIdOnShard(shardId, count), count)).toBe(shardId);
    }
  });

  it('sends each shard READY and GUILD_CREATE for its own guilds, and each interaction only to the shard holding its guild', async () => {
    const guilds = [guildOnShard(0, 2, 'Zero A'), guildOnShard(1, 2, 'One A'), guildOnShard(0, 2, 'Zero B'), guildOnShard(1, 2, 'One B')];
    const [zeroA, oneA, zeroB, oneB] = guilds.map((guild) => guild.id);
    const fake = await startFake({ guilds, users: [alice] });
    const shard0 = await identified(fake, [0, 2]);
    const shard1 = await identified(fake, [1, 2]);

    expect(shard0.dispatches('READY')[0]).toMatchObject({ shard: [0, 2], guilds: [{ id: zeroA, unavailable: true }, { id: zeroB, unavailable: true }] });
    expect(shard1.dispatches('READY')[0]).toMatchObject({ shard: [1, 2], guilds: [{ id: oneA, unavailable: true }, { id: oneB, unavailable: true }] });
    await waitFor(() => shard1.dispatches('GUILD_CREATE').length === 2, { what: "shard 1's guilds" });
    expect(shard0.dispatches('GUILD_CREATE').map((guild) => guild.id)).toEqual([zeroA, zeroB]);
    expect(shard1.dispatches('GUILD_CREATE').map((guild) => guild.id)).toEqual([oneA, oneB]);
    expect(fake.gateway.identifies).toEqual([
      { shard: [0, 2], connectionId: 1 },
      { shard: [1, 2], connectionId: 2 },
    ]);
    expect(fake.gateway.connectedShards).toEqual([0, 1]);

    const inOneB = fake.sendCommand({ name: 'credits', user: alice, guildId: oneB!, channelId: guilds[3]!.channelIds[0]! });
    const inZeroA = fake.sendCommand({ name: 'credits', user: alice, guildId: zeroA!, channelId: guilds[0]!.channelIds[0]! });
    // A direct message has no guild: Discord sends it to shard 0.
    const inDirectMessage = fake.sendCommand({ name: 'credits', user: alice, guildId: null });
    await waitFor(() => shard0.dispatches('INTERACTION_CREATE').length === 2, { what: "shard 0's interactions" });
    await waitFor(() => shard1.dispatches('INTERACTION_CREATE').length === 1, { what: "shard 1's interaction" });

    expect(shard0.dispatches('INTERACTION_CREATE').map((d) => d.id)).toEqual([inZeroA.id, inDirectMessage.id]);
    expect(shard1.dispatches('INTERACTION_CREATE').map((d) => d.id)).toEqual([inOneB.id]);
    expect(fake.shardsThatReceived(inZeroA)).toEqual([0]);
    expect(fake.shardsThatReceived(inOneB)).toEqual([1]);
    expect(fake.shardsThatReceived(inDirectMessage)).toEqual([0]);
    expect(fake.gateway.deliveries.filter((delivery) => delivery.t === 'INTERACTION_CREATE')).toEqual([
      { t: 'INTERACTION_CREATE', eventId: inOneB.id, guildId: oneB, shard: [1, 2], connectionId: 2, replayed: false },
      { t: 'INTERACTION_CREATE', eventId: inZeroA.id, guildId: zeroA, shard: [0, 2], connectionId: 1, replayed: false },
      { t: 'INTERACTION_CREATE', eventId: inDirectMessage.id, guildId: null, shard: [0, 2], connectionId: 1, replayed: false },
    ]);
    expect(fake.gateway.undelivered).toEqual([]);
  });

  it('sends an interaction nowhere while no connection holds its shard, and an unsharded IDENTIFY holds every guild', async () => {
    const guilds = [guildOnShard(0, 2, 'Zero'), guildOnShard(1, 2, 'One')];
    const fake = await startFake({ guilds, users: [alice] });
    const shard0 = await identified(fake, [0, 2]);
    const lost = fake.sendCommand({ name: 'credits', user: alice, guildId: guilds[1]!.id, channelId: guilds[1]!.channelIds[0]! });
    expect(fake.shardsThatReceived(lost)).toEqual([]);
    expect(fake.gateway.undelivered).toEqual([{ t: 'INTERACTION_CREATE', guildId: guilds[1]!.id }]);
    expect(shard0.dispatches('INTERACTION_CREATE')).toEqual([]);

    // No `shard` in IDENTIFY is Discord's [0, 1]: one session with every guild.
    const unsharded = await identified(fake);
    expect(unsharded.dispatches('READY')[0]).toMatchObject({ shard: [0, 1], guilds: guilds.map((guild) => ({ id: guild.id, unavailable: true })) });
    const found = fake.sendCommand({ name: 'credits', user: alice, guildId: guilds[1]!.id, channelId: guilds[1]!.channelIds[0]! });
    await waitFor(() => unsharded.dispatches('INTERACTION_CREATE')[0], { what: 'the interaction on the unsharded session' });
    expect(unsharded.dispatches('INTERACTION_CREATE').map((d) => d.id)).toEqual([found.id]);
  });

  it('closes an IDENTIFY whose shard is not [id, count] with 0 <= id < count with 4010 (Invalid shard), starting no session', async () => {
    const fake = await startFake({ guilds: [guildOnShard(0, 1, 'Only')] });
    for (const shard of [[2, 2], [4, 2], [-1, 2], [0, 0], [1.5, 2], [0], 'x', [0, '2']]) {
      const connection = await openShard(fake);
      connection.identify(fake.token, shard);
      await waitFor(() => connection.closeCode, { what: `the close of shard ${JSON.stringify(shard)}` });
      expect([shard, connection.closeCode]).toEqual([shard, CLOSE_INVALID_SHARD]);
      expect(connection.dispatches('READY')).toEqual([]);
    }
    expect(fake.gateway.identifies).toEqual([]);
    expect(fake.gateway.connectedShards).toEqual([]);
  });

  it('closes an IDENTIFY whose shard would hold more guilds than a session may with 4011 (Sharding required)', async () => {
    const guilds = [guildOnShard(0, 2, 'Zero A'), guildOnShard(0, 2, 'Zero B'), guildOnShard(1, 2, 'One')];
    const fake = await startFake({ guilds, maxGuildsPerSession: 2 });
    const unsharded = await openShard(fake);
    unsharded.identify(fake.token);
    await waitFor(() => unsharded.closeCode, { what: 'the close of the unsharded IDENTIFY' });
    expect(unsharded.closeCode).toBe(CLOSE_SHARDING_REQUIRED);
    const shard0 = await identified(fake, [0, 2]);
    expect(shard0.dispatches('READY')[0]).toMatchObject({ shard: [0, 2], guilds: [{ id: guilds[0]!.id }, { id: guilds[1]!.id }] });
    expect(fake.gateway.identifies).toEqual([{ shard: [0, 2], connectionId: 2 }]);
  });

  it("serves GET /gateway/bot with the recommended shard count and concurrency it was given", async () => {
    const fake = await startFake({ recommendedShards: 3, maxConcurrency: 16 });
    const response = await fetch(`${fake.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${fake.token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      url: fake.gatewayUrl,
      shards: 3,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 16 },
    });
  });
});
