import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openSharedTestDb, testBackend, type SharedTestDatabase } from '../../test/support/test-database.ts';
import { claimDelivery, databaseDeliveryDedupe, DELIVERY_KEEP_MS, pruneDeliveries } from './deliveries.ts';
import type { Sql } from './sql.ts';

const MINUTE_MS = 60 * 1000;

let shared: SharedTestDatabase;
/** A connection of its own to the database: another bot process, as far as the database can tell. */
const connect = (): Promise<Sql> => shared.connect();
const keys = (sql: Sql) => sql.all('select platform, delivery_key from platform_deliveries order by platform, delivery_key');

beforeEach(async () => {
  shared = await openSharedTestDb();
});
afterEach(async () => {
  await shared.close();
});

describe('claimDelivery', () => {
  it('the first claim of a delivery wins and a second is refused, from another connection too', async () => {
    const sql = await connect();
    expect(await claimDelivery(sql, { platform: 'slack', key: 'event:Ev01', now: 1_000 })).toBe(true);
    expect(await claimDelivery(sql, { platform: 'slack', key: 'event:Ev01', now: 2_000 })).toBe(false);
    expect(await claimDelivery(await connect(), { platform: 'slack', key: 'event:Ev01', now: 3_000 })).toBe(false);
    // The refused claims changed nothing: the first claim's time stands.
    expect(await sql.all('select received_at from platform_deliveries')).toEqual([{ received_at: 1_000 }]);
  });

  it('the same key on another platform is another delivery', async () => {
    const sql = await connect();
    expect(await claimDelivery(sql, { platform: 'slack', key: 'trigger:1.2.3', now: 1_000 })).toBe(true);
    expect(await claimDelivery(sql, { platform: 'discord', key: 'trigger:1.2.3', now: 1_000 })).toBe(true);
    expect(await keys(sql)).toEqual([
      { platform: 'discord', delivery_key: 'trigger:1.2.3' },
      { platform: 'slack', delivery_key: 'trigger:1.2.3' },
    ]);
  });

  it('the primary key refuses a second row whatever the code does', async () => {
    const sql = await connect();
    const insert = "insert into platform_deliveries (platform, delivery_key, received_at) values ('slack', 'event:Ev02', 0)";
    await sql.run(insert);
    const refusal = {
      sqlite: 'UNIQUE constraint failed: platform_deliveries.platform, platform_deliveries.delivery_key',
      postgres: 'duplicate key value violates unique constraint "platform_deliveries_pkey"',
    }[testBackend()];
    await expect(sql.run(insert)).rejects.toThrow(refusal);
  });
});

describe('pruneDeliveries', () => {
  it('forgets the deliveries received before the cut-off and keeps the rest, which are still refused', async () => {
    const sql = await connect();
    await claimDelivery(sql, { platform: 'slack', key: 'event:old', now: 1_000 });
    await claimDelivery(sql, { platform: 'slack', key: 'event:edge', now: 2_000 });
    await claimDelivery(sql, { platform: 'slack', key: 'event:new', now: 3_000 });
    expect(await pruneDeliveries(sql, 2_000)).toBe(1);
    expect((await keys(sql)).map((row) => (row as { delivery_key: string }).delivery_key)).toEqual(['event:edge', 'event:new']);
    expect(await claimDelivery(sql, { platform: 'slack', key: 'event:edge', now: 4_000 })).toBe(false);
    // Forgotten, a key can be claimed again: which is why keys are kept far longer than Slack retries.
    expect(await claimDelivery(sql, { platform: 'slack', key: 'event:old', now: 4_000 })).toBe(true);
  });
});

describe('databaseDeliveryDedupe', () => {
  it('claims per platform', async () => {
    const clock = new ManualClock();
    const sql = await connect();
    const slack = databaseDeliveryDedupe(sql, 'slack', clock);
    expect(await slack.firstDelivery('event:Ev01')).toBe(true);
    expect(await slack.firstDelivery('event:Ev01')).toBe(false);
    expect(await databaseDeliveryDedupe(sql, 'discord', clock).firstDelivery('event:Ev01')).toBe(true);
  });

  it('on the way to a claim, clears keys older than a day, at most once an hour', async () => {
    const clock = new ManualClock();
    const sql = await connect();
    const slack = databaseDeliveryDedupe(sql, 'slack', clock);
    const stored = async () => (await keys(sql)).map((row) => (row as { delivery_key: string }).delivery_key);
    expect(await slack.firstDelivery('event:first')).toBe(true);
    // Nearly a day later a claim prunes (over an hour since the last), but nothing is a day old yet.
    clock.advance(DELIVERY_KEEP_MS - 30 * MINUTE_MS);
    expect(await slack.firstDelivery('event:later')).toBe(true);
    expect(await stored()).toEqual(['event:first', 'event:later']);
    // Now `first` is over a day old, but the last prune was 31 minutes ago: it stays, still refused.
    clock.advance(31 * MINUTE_MS);
    expect(await slack.firstDelivery('event:first')).toBe(false);
    // An hour after the last prune, the next claim prunes first: `first` goes, `later` stays.
    clock.advance(29 * MINUTE_MS);
    expect(await slack.firstDelivery('event:last')).toBe(true);
    expect(await stored()).toEqual(['event:last', 'event:later']);
  });
});
