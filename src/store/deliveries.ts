/**
 * Platform deliveries worked once across every process on the database. A platform may deliver one
 * thing twice (Slack retries an event it thinks was missed; a load balancer or a client resends a
 * request; Socket Mode redelivers an envelope), and any process may receive each copy: the first to
 * insert the delivery's key works it, the others drop it. The primary key decides, not memory.
 */
import type { Clock } from '../clock.ts';
import type { DeliveryDedupe } from '../ports.ts';
import type { Sql } from './sql.ts';

/** How long a key is kept: Slack's last retry of an event comes minutes after the first try, never a day. */
export const DELIVERY_KEEP_MS = 24 * 60 * 60 * 1000;
/** How often a process clears keys older than that (the delete rides on one claim). */
const PRUNE_EVERY_MS = 60 * 60 * 1000;

/**
 * Record that `key` was received on `platform`: true for the first claimer only. `on conflict do
 * nothing` is the same text in SQLite (3.24+) and PostgreSQL, and needs no transaction.
 */
export async function claimDelivery(sql: Sql, delivery: { platform: string; key: string; now: number }): Promise<boolean> {
  const { changes } = await sql.run(
    'insert into platform_deliveries (platform, delivery_key, received_at) values (@platform, @key, @now) on conflict do nothing',
    delivery,
  );
  return changes === 1;
}

/** Forget the deliveries received before `olderThan` (epoch ms); returns how many went. */
export async function pruneDeliveries(sql: Sql, olderThan: number): Promise<number> {
  const { changes } = await sql.run('delete from platform_deliveries where received_at < @olderThan', { olderThan });
  return changes;
}

/**
 * The `DeliveryDedupe` an adapter is given: one platform's claims on `sql`, pruning keys older than
 * `DELIVERY_KEEP_MS` at most once an hour, on the way to a claim.
 */
export function databaseDeliveryDedupe(sql: Sql, platform: string, clock: Clock): DeliveryDedupe {
  let prunedAt = Number.NEGATIVE_INFINITY;
  return {
    async firstDelivery(key) {
      const now = clock.now();
      if (now - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = now;
        await pruneDeliveries(sql, now - DELIVERY_KEEP_MS);
      }
      return claimDelivery(sql, { platform, key, now });
    },
  };
}
