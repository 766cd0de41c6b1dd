/**
 * A fresh, migrated store for a test, on either backend. A test file that touches the store opens
 * it through `openTestDb` (or `openSharedTestDb`, `newTestStore`), which follow the project it runs
 * in (vitest.config.ts: `sqlite`, and `postgres` for the files of STORE_TESTS), so one file runs on
 * both; a file that compares the backends itself runs `describe.each(BACKENDS)` with
 * `openTestDatabase(backend)`. SQLite is an in-memory database (or a file in a temporary
 * directory, where another connection or process must open it); PostgreSQL is a new database on
 * the run's shared server (./postgres-global-setup.ts), cloned from a migrated template so that it
 * costs a CREATE DATABASE (tens of milliseconds), not six migrations.
 *
 * Closing a test database discards it on both backends: the in-memory SQLite one is gone, and the
 * PostgreSQL one is dropped. Call `dropTestDatabases` in `afterAll` for any left open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { openDatabase, openSqliteDatabase } from '../../src/store/database.ts';
import { openPostgres } from '../../src/store/open-postgres.ts';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres-migrations.ts';
import { PostgresDatabase } from '../../src/store/postgres-sql.ts';
import { parseDatabaseUrl } from '../../src/store/postgres-url.ts';
import type { Database } from '../../src/store/sql.ts';
import { SqliteDatabase } from '../../src/store/sqlite-sql.ts';
import { postgresStatus } from './postgres-global-setup.ts';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Connections per test database: enough for two transactions and a look from outside. */
const TEST_POOL_MAX = 4;

/** Databases made by this module instance (one per test file) and not yet dropped. */
const created = new Set<string>();
let adminPool: pg.Pool | undefined;
let template: Promise<string> | undefined;
let ready: Promise<void> | undefined;

/** The backend of the project this test runs in: `postgres` in the postgres project (vitest.config.ts), else `sqlite`. */
export function testBackend(): Backend {
  return inject('testBackend') ?? 'sqlite';
}

/** A new store on this project's backend, at the latest schema, empty. Its `close()` discards it. */
export function openTestDb(): Promise<Database> {
  return openTestDatabase(testBackend());
}

/** A store that other connections and other processes open too: a racing worker, a second bot. */
export interface SharedTestDatabase {
  readonly db: Database;
  /** What a worker process passes to `openStoreAt` (./store-at.ts): the SQLite file, or the PostgreSQL URL. */
  readonly location: string;
  /** Another connection of its own to the same store, as another process would have; `close` closes it too. */
  connect(): Promise<Database>;
  /** Close every connection and discard the store. */
  close(): Promise<void>;
}

/**
 * A new store on this project's backend that several connections share: on SQLite a file in a new
 * temporary directory (an in-memory database has one connection), on PostgreSQL a cloned database.
 */
export async function openSharedTestDb(backend: Backend = testBackend()): Promise<SharedTestDatabase> {
  const connections: Database[] = [];
  const track = (db: Database) => (connections.push(db), db);
  const closeAll = async () => {
    for (const db of connections.splice(0).reverse()) await db.close();
  };
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'imagine-shared-'));
    const path = join(dir, 'test.db');
    return {
      db: track(openSqliteDatabase(path)),
      location: path,
      connect: async () => track(openSqliteDatabase(path)),
      close: async () => {
        await closeAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = await clonedDatabase();
  const url = serverUrl(name);
  const open = () => new PostgresDatabase(PostgresDatabase.pool(url, { max: TEST_POOL_MAX }), parseDatabaseUrl(url).description);
  return {
    db: track(open()),
    location: url,
    connect: async () => track(open()),
    close: async () => {
      await closeAll();
      await dropDatabase(name);
    },
  };
}

/** A store for a bot built from its configuration (createApp, or a bot process): where it is, and how to discard it. */
export interface TestStore {
  /** DATABASE_PATH for SQLite; DATABASE_URL and REFERENCE_DIR (there being no file to keep them beside) for PostgreSQL. */
  readonly env: Readonly<Record<string, string>>;
  /** Drop the PostgreSQL database (its connections too); nothing on SQLite, whose file goes with `dir`. */
  discard(): Promise<void>;
}

/**
 * A new store on this project's backend for a bot configured by `env`: the SQLite file `file` in
 * `dir`, or a new PostgreSQL database at the latest schema with the reference images in `dir`.
 * The caller removes `dir`.
 */
export async function newTestStore(dir: string, file = 'bot.db'): Promise<TestStore> {
  if (testBackend() === 'sqlite') return { env: { DATABASE_PATH: join(dir, file) }, discard: async () => {} };
  const name = await clonedDatabase();
  return { env: { DATABASE_URL: serverUrl(name), REFERENCE_DIR: join(dir, 'references') }, discard: () => dropDatabase(name) };
}

/** A new store at the latest schema, empty. Its `close()` discards it. */
export async function openTestDatabase(backend: Backend): Promise<Database> {
  switch (backend) {
    case 'sqlite':
      return new SqliteDatabase(openDatabase(':memory:'), ':memory:');
    case 'postgres':
      return openClonedPostgres();
    default: {
      const never: never = backend;
      throw new Error(`unknown backend ${String(never)}`);
    }
  }
}

/**
 * The URL of a new, empty database (no schema) on the test server: for a test that starts a bot
 * process on it, or that watches `openPostgres` migrate. Dropped by `dropTestDatabases`.
 */
export async function freshPostgresUrl(): Promise<string> {
  await serverReady();
  const name = newDatabaseName();
  await admin().query(`create database ${name}`);
  created.add(name);
  return serverUrl(name);
}

/** Drop every database this file made and still has, and close the admin connections. */
export async function dropTestDatabases(): Promise<void> {
  if (!adminPool) return;
  for (const name of [...created]) await dropDatabase(name);
  const pool = adminPool;
  adminPool = undefined;
  await pool.end();
}

/** The URL of `database` on the test server, once the server is up. */
export async function testPostgresUrl(database: string): Promise<string> {
  await serverReady();
  return serverUrl(database);
}

class TestPostgresDatabase extends PostgresDatabase {
  constructor(
    pool: pg.Pool,
    description: string,
    private readonly name: string,
  ) {
    super(pool, description);
  }

  override async close(): Promise<void> {
    await super.close();
    await dropDatabase(this.name);
  }
}

async function openClonedPostgres(): Promise<Database> {
  const name = await clonedDatabase();
  const url = serverUrl(name);
  return new TestPostgresDatabase(PostgresDatabase.pool(url, { max: TEST_POOL_MAX }), parseDatabaseUrl(url).description, name);
}

/** A new database cloned from the migrated template; its name. Dropped by `dropTestDatabases` if not before. */
async function clonedDatabase(): Promise<string> {
  const source = await migratedTemplate();
  const name = newDatabaseName();
  await admin().query(`create database ${name} template ${source}`);
  created.add(name);
  return name;
}

/**
 * The template at this code's schema, built once per server. Its name carries a hash of the
 * migrations, so an edited migration gets a new template rather than a stale one. Workers build
 * it under a session lock; it is renamed into place only when complete.
 */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    await serverReady();
    const digest = createHash('sha256').update(JSON.stringify(POSTGRES_MIGRATIONS)).digest('hex').slice(0, 16);
    const name = `imagine_template_${digest}`;
    const client = await admin().connect();
    try {
      await client.query('select pg_advisory_lock(7461900)');
      const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (exists.rowCount === 0) {
        const building = `${name}_building_${randomBytes(4).toString('hex')}`;
        await client.query(`create database ${building}`);
        const db = await openPostgres(serverUrl(building), { clock: systemClock, poolMax: 1, retry: { maxAttempts: 1, firstDelayMs: 0, maxDelayMs: 0 } });
        await db.close();
        await client.query(`alter database ${building} rename to ${name}`);
      }
      return name;
    } finally {
      await client.query('select pg_advisory_unlock(7461900)').catch(() => undefined);
      client.release();
    }
  })();
  return template;
}

function admin(): pg.Pool {
  // Idle connections close on their own: a test file that forgets dropTestDatabases leaks nothing.
  adminPool ??= new pg.Pool({ connectionString: serverUrl('postgres'), max: 2, idleTimeoutMillis: 1_000, allowExitOnIdle: true });
  return adminPool;
}

async function dropDatabase(name: string): Promise<void> {
  // `with (force)`: a pool a test forgot to close must not keep its database alive.
  await admin().query(`drop database if exists ${name} with (force)`);
  created.delete(name);
}

/** Lower-case letters and digits only: safe to splice into CREATE DATABASE unquoted. */
function newDatabaseName(): string {
  return `imagine_test_${randomBytes(6).toString('hex')}`;
}

function serverUrl(database: string): string {
  const url = inject('postgresUrl');
  if (typeof url !== 'string') throw new Error('no test PostgreSQL server: add test/support/postgres-global-setup.ts to globalSetup in vitest.config.ts');
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.href;
}

/** Waits for the global setup's background start; throws its reason if it failed. */
function serverReady(): Promise<void> {
  ready ??= (async () => {
    const statusFile = inject('postgresStatusFile');
    const deadline = performance.now() + 60_000;
    for (;;) {
      const text = await readFile(statusFile, 'utf8').catch(() => undefined);
      if (text !== undefined && text !== '') {
        const status = postgresStatus.parse(JSON.parse(text));
        if (status.ready) return;
        throw new Error(`the test PostgreSQL server did not start: ${status.reason}`);
      }
      if (performance.now() > deadline) throw new Error(`the test PostgreSQL server did not report within 60 s (${statusFile})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return ready;
}
