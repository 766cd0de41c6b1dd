/**
 * Opening a PostgreSQL store as the operator meets it: a server that is not up yet (retries, one
 * log line each, then a clear error), a wrong password (no retries), a fresh database (migrated,
 * once, even by several bots starting together) and a database from a newer version (refused).
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import {
  DatabaseConnectionRefusedError,
  DatabaseUnreachableError,
  openPostgres,
  type OpenPostgresEvent,
} from '../src/store/open-postgres.ts';
import { DatabaseSchemaTooNewError } from '../src/store/postgres-migrate.ts';
import { freePort } from './support/embedded-postgres.ts';
import { ManualTimers } from './support/manual-timers.ts';
import { dropTestDatabases, freshPostgresUrl } from './support/test-database.ts';
import { waitFor } from './support/wait-for.ts';

afterAll(dropTestDatabases);

const clock = new ManualClock(Date.UTC(2026, 4, 1));
const withoutPassword = (url: string) => {
  const shown = new URL(url);
  shown.password = '';
  return shown.href;
};

/** Runs `open` to the end, firing each backoff timer as soon as it is set; returns the delays asked for. */
async function driveRetries<T>(timers: ManualTimers, open: Promise<T>): Promise<{ readonly outcome: T | unknown; readonly delays: number[] }> {
  let settled = false;
  const outcome = open.then(
    (value) => value,
    (error: unknown) => error,
  );
  void outcome.finally(() => (settled = true));
  const delays: number[] = [];
  while (!settled) {
    await waitFor('a backoff timer or the end of opening', () => settled || timers.delays().length > 0);
    delays.push(...timers.delays());
    timers.fireAll();
  }
  return { outcome: await outcome, delays };
}

describe('openPostgres', () => {
  it('retries an unreachable server with growing waits, logs each failure, then gives up clearly', async () => {
    const port = await freePort();
    const timers = new ManualTimers();
    const events: OpenPostgresEvent[] = [];
    const { outcome, delays } = await driveRetries(
      timers,
      openPostgres(`postgres://bot:hunter2@127.0.0.1:${port}/imagine`, {
        clock,
        timers: timers.timers,
        retry: { maxAttempts: 4, firstDelayMs: 100, maxDelayMs: 300 },
        log: (event) => events.push(event),
      }),
    );
    const server = `127.0.0.1:${port}`;
    const reason = `connect ECONNREFUSED ${server}`;
    expect(delays).toEqual([100, 200, 300]);
    expect(events.map((event) => event.message)).toEqual([
      `cannot connect to PostgreSQL at ${server} (attempt 1 of 4): ${reason}; trying again in 100 ms`,
      `cannot connect to PostgreSQL at ${server} (attempt 2 of 4): ${reason}; trying again in 200 ms`,
      `cannot connect to PostgreSQL at ${server} (attempt 3 of 4): ${reason}; trying again in 300 ms`,
      `cannot connect to PostgreSQL at ${server} (attempt 4 of 4): ${reason}; giving up`,
    ]);
    expect(outcome).toBeInstanceOf(DatabaseUnreachableError);
    expect(outcome).toMatchObject({
      code: 'database.unreachable',
      message:
        `Could not connect to PostgreSQL at ${server} after 4 attempts (last error: ${reason}). ` +
        'Check that the server is running and that DATABASE_URL names its host and port.',
    });
    expect(JSON.stringify(events)).not.toContain('hunter2');
  });

  it('does not retry a wrong password, and never shows it', async () => {
    const url = new URL(await freshPostgresUrl());
    url.password = 'not-the-password';
    const events: OpenPostgresEvent[] = [];
    const opening = openPostgres(url.href, { clock, log: (event) => events.push(event), retry: { maxAttempts: 5, firstDelayMs: 60_000, maxDelayMs: 60_000 } });
    await expect(opening).rejects.toBeInstanceOf(DatabaseConnectionRefusedError);
    await expect(opening).rejects.toMatchObject({
      code: 'database.connection_refused',
      message: `PostgreSQL at ${url.host} refused the connection: password authentication failed for user "postgres". Check the user, password and database name in DATABASE_URL.`,
    });
    expect(events).toEqual([]);
  });

  it('migrates a fresh database to the latest schema, stamped with the clock, and describes it without its password', async () => {
    const url = await freshPostgresUrl();
    const events: OpenPostgresEvent[] = [];
    const db = await openPostgres(url, { clock, log: (event) => events.push(event) });
    try {
      expect(db.description).toBe(withoutPassword(url));
      expect(db.description).not.toContain(new URL(url).password);
      expect(events.map((event) => event.message)).toEqual([
        `connected to PostgreSQL at ${new URL(url).host}`,
        'PostgreSQL schema migrated from version 0 to 6',
      ]);
      expect(await db.all('select version, applied_at from schema_migrations order by version')).toEqual(
        [1, 2, 3, 4, 5, 6].map((version) => ({ version, applied_at: clock.now() })),
      );
    } finally {
      await db.close();
    }
  });

  it('opens an up-to-date database without migrating again', async () => {
    const url = await freshPostgresUrl();
    await (await openPostgres(url, { clock })).close();
    const events: OpenPostgresEvent[] = [];
    const db = await openPostgres(url, { clock, log: (event) => events.push(event) });
    await db.close();
    expect(events.map((event) => event.kind)).toEqual(['connected']);
  });

  it('three bots starting at once on a fresh database migrate it once', async () => {
    const url = await freshPostgresUrl();
    const kinds: string[][] = [[], [], []];
    const dbs = await Promise.all(kinds.map((seen) => openPostgres(url, { clock, poolMax: 2, log: (event) => seen.push(event.kind) })));
    try {
      expect(kinds.flat().filter((kind) => kind === 'migrated')).toEqual(['migrated']);
      expect(await dbs[0]!.all('select version from schema_migrations order by version')).toEqual([1, 2, 3, 4, 5, 6].map((version) => ({ version })));
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('refuses a database written by a newer imagine-bot, and leaves it untouched', async () => {
    const url = await freshPostgresUrl();
    await (await openPostgres(url, { clock })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('insert into schema_migrations (version, applied_at) values (9, 0)');
      const opening = openPostgres(url, { clock });
      await expect(opening).rejects.toBeInstanceOf(DatabaseSchemaTooNewError);
      await expect(opening).rejects.toMatchObject({
        code: 'database.schema_too_new',
        message:
          'This database was written by a newer imagine-bot (schema 9; this version knows up to 6). ' +
          'Upgrade imagine-bot, or point DATABASE_URL at another database.',
      });
      expect((await client.query('select version from schema_migrations order by version')).rows).toEqual(
        [1, 2, 3, 4, 5, 6, 9].map((version) => ({ version })),
      );
    } finally {
      await client.end();
    }
  });
});
