/** Discord's epoch (2015-01-01) and snowflake layout: https://discord.com/developers/docs/reference#snowflakes */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;
let increment = 0n;

/** A fresh snowflake for the current time (19 digits today), unique within this process. */
export function snowflake(atMs: number = Date.now()): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(atMs) - DISCORD_EPOCH_MS) << 22n) | (1n << 17n) | increment).toString();
}
