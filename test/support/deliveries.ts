import { systemClock, type Clock } from '../../src/clock.ts';
import type { DeliveryDedupe } from '../../src/ports.ts';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { databaseDeliveryDedupe } from '../../src/store/deliveries.ts';
import { SqliteDatabase } from '../../src/store/sqlite-sql.ts';

/**
 * Slack's delivery dedupe on a connection of its own to the bot's schema at `path` (':memory:' for
 * a private one): as the bot builds it, so two of these on one file are two processes sharing it.
 */
export function slackDeliveriesOn(path = ':memory:', clock: Clock = systemClock): { dedupe: DeliveryDedupe; db: Db } {
  const db = openDatabase(path, clock);
  return { dedupe: databaseDeliveryDedupe(new SqliteDatabase(db, path), 'slack', clock), db };
}
