/** Discord's epoch (2015-01-01) and snowflake layout: https://discord.com/developers/docs/reference#snowflakes */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
let increment = 0n;

/** A fresh snowflake for the current time (19 digits today), unique within this process. */
export function snowflake(atMs: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(atMs) - DISCORD_EPOCH_MS) << 22n) | (1n << 17n) | increment).toString();
}

/**
 * The shard a guild's events go to, by Discord's formula `shard_id = (guild_id >> 22) % num_shards`:
 * https://discord.com/developers/docs/events/gateway#sharding
 */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** A fresh guild id whose events Discord sends to `shardId` of `shardCount` (its timestamp chosen for it). */
export function guildIdOnShard(shardId: number, shardCount: number): string {
  const sinceEpochMs = BigInt(Date.now()) - DISCORD_EPOCH_MS;
  const offset = (sinceEpochMs - BigInt(shardId)) % BigInt(shardCount);
  return snowflake(Number(sinceEpochMs - offset + DISCORD_EPOCH_MS));
}
