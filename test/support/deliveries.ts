import { systemClock, type Clock } from '../../src/clock.ts';
import type { DeliveryDedupe } from '../../src/ports.ts';
import { openSqliteDatabase } from '../../src/store/database.ts';
import { databaseDeliveryDedupe } from '../../src/store/deliveries.ts';
import type { Sql } from '../../src/store/sql.ts';

/**
 * Slack's delivery dedupe on `sql`, as the bot builds it: two of these on two connections to one
 * database are two processes sharing it. Without `sql`, on a private in-memory database (never
 * closed: it goes with the test process).
 */
export function slackDeliveriesOn(sql: Sql = openSqliteDatabase(':memory:'), clock: Clock = systemClock): DeliveryDedupe {
  return databaseDeliveryDedupe(sql, 'slack', clock);
}
