import type pg from 'pg';
import type { Clock, Timers } from '../clock.ts';
import { migratePostgres } from './postgres-migrate.ts';
import { isConnectionError, PostgresDatabase } from './postgres-sql.ts';
import { parseDatabaseUrl, type PostgresTarget } from './postgres-url.ts';

/** How hard to try before saying the server is not there: a compose stack starts its database alongside the bot. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  /** The wait after the first failure; each next wait doubles, up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** 8 attempts over about 30 s: 0.5, 1, 2, 4, 8, 8, 8 s between them. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, firstDelayMs: 500, maxDelayMs: 8_000 };

/** What opening reports, for the log. `message` is the line to write; no field holds the password. */
export type OpenPostgresEvent =
  | {
      readonly kind: 'connect_failed';
      readonly server: string;
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly reason: string;
      /** Null on the last attempt: we give up. */
      readonly retryInMs: number | null;
      readonly message: string;
    }
  | { readonly kind: 'connected'; readonly server: string; readonly attempt: number; readonly message: string }
  | { readonly kind: 'migrated'; readonly fromVersion: number; readonly toVersion: number; readonly message: string }
  | { readonly kind: 'connection_lost'; readonly server: string; readonly reason: string; readonly message: string };

export interface OpenPostgresOptions {
  /** Stamps each migration's `applied_at`. */
  readonly clock: Clock;
  readonly log?: (event: OpenPostgresEvent) => void;
  /** For the waits between attempts; default the global ones. */
  readonly timers?: Timers;
  readonly retry?: RetryPolicy;
  /** Connections in the pool; default 10. */
  readonly poolMax?: number;
}

/** `database.unreachable`: every attempt to connect failed the way a server that is down or starting fails. */
export class DatabaseUnreachableError extends Error {
  readonly code = 'database.unreachable';
  constructor(
    readonly server: string,
    readonly attempts: number,
    readonly reason: string,
  ) {
    super(
      `Could not connect to PostgreSQL at ${server} after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'} (last error: ${reason}). ` +
        'Check that the server is running and that DATABASE_URL names its host and port.',
    );
    this.name = 'DatabaseUnreachableError';
  }
}

/** `database.connection_refused`: the server answered and said no (password, database name, permissions): retrying cannot help. */
export class DatabaseConnectionRefusedError extends Error {
  readonly code = 'database.connection_refused';
  constructor(
    readonly server: string,
    readonly reason: string,
  ) {
    super(`PostgreSQL at ${server} refused the connection: ${reason}. Check the user, password and database name in DATABASE_URL.`);
    this.name = 'DatabaseConnectionRefusedError';
  }
}

/**
 * Open the PostgreSQL database at `url` and bring its schema up to date: the PostgreSQL
 * counterpart of `openDatabase`. Validates the URL, connects with retries and backoff (a server
 * still starting is normal), migrates under an advisory lock, and refuses a schema newer than
 * this code's.
 */
export async function openPostgres(url: string, options: OpenPostgresOptions): Promise<PostgresDatabase> {
  const target = parseDatabaseUrl(url);
  const log = options.log ?? (() => undefined);
  const pool = PostgresDatabase.pool(target.connectionString, {
    max: options.poolMax ?? 10,
    onError: (error) => {
      const reason = reasonOf(error, target);
      log({
        kind: 'connection_lost',
        server: target.server,
        reason,
        message: `PostgreSQL at ${target.server} closed an idle connection (${reason}); the next query opens a new one`,
      });
    },
  });
  try {
    const client = await connectWithRetries(pool, target, options, log);
    try {
      const { fromVersion, toVersion } = await migratePostgres(client, options.clock);
      if (toVersion > fromVersion) {
        log({ kind: 'migrated', fromVersion, toVersion, message: `PostgreSQL schema migrated from version ${fromVersion} to ${toVersion}` });
      }
    } finally {
      client.release();
    }
    return new PostgresDatabase(pool, target.description);
  } catch (error) {
    await pool.end();
    throw error;
  }
}

async function connectWithRetries(
  pool: pg.Pool,
  target: PostgresTarget,
  options: OpenPostgresOptions,
  log: (event: OpenPostgresEvent) => void,
): Promise<pg.PoolClient> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const timers = options.timers ?? { setTimeout, clearTimeout };
  for (let attempt = 1; ; attempt += 1) {
    try {
      const client = await pool.connect();
      log({ kind: 'connected', server: target.server, attempt, message: `connected to PostgreSQL at ${target.server}` });
      return client;
    } catch (error) {
      const reason = reasonOf(error, target);
      if (!isTransient(error)) throw new DatabaseConnectionRefusedError(target.server, reason);
      const retryInMs = attempt < retry.maxAttempts ? Math.min(retry.maxDelayMs, retry.firstDelayMs * 2 ** (attempt - 1)) : null;
      const next = retryInMs === null ? 'giving up' : `trying again in ${retryInMs} ms`;
      log({
        kind: 'connect_failed',
        server: target.server,
        attempt,
        maxAttempts: retry.maxAttempts,
        reason,
        retryInMs,
        message: `cannot connect to PostgreSQL at ${target.server} (attempt ${attempt} of ${retry.maxAttempts}): ${reason}; ${next}`,
      });
      if (retryInMs === null) throw new DatabaseUnreachableError(target.server, attempt, reason);
      await new Promise<void>((resolve) => timers.setTimeout(resolve, retryInMs));
    }
  }
}

/** Failures a server that is down, restarting or overloaded gives: worth another try. */
function isTransient(error: unknown): boolean {
  if (isConnectionError(error)) return true;
  const code = (error as { code?: unknown } | null)?.code;
  // DNS not (yet) answering for a compose service name; no route; too many connections right now.
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === '53300') return true;
  return error instanceof Error && /timeout/i.test(error.message);
}

/** A foreign error as one line with no password in it. Node's connect errors may carry only a code. */
function reasonOf(error: unknown, target: PostgresTarget): string {
  if (!(error instanceof Error)) return target.redact(String(error));
  // `localhost` is tried as ::1 and 127.0.0.1: Node reports both in an AggregateError with no message.
  if (error instanceof AggregateError && error.message === '' && error.errors.length > 0) {
    return error.errors.map((inner: unknown) => reasonOf(inner, target)).join('; ');
  }
  const code = (error as { code?: unknown }).code;
  const text = error.message !== '' ? error.message : typeof code === 'string' ? code : error.name;
  return target.redact(text);
}
