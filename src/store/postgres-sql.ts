import pg from 'pg';
import type { Database, Params, Positional, RunResult, Sql, SqlValue } from './sql.ts';
import { isStoreUnavailable } from './unavailable.ts';

/**
 * `Sql` over a `pg` pool. Statements outside a transaction take any pooled connection; a
 * transaction holds one connection from BEGIN to COMMIT.
 *
 * Write transactions are serialised across every process on the database by one transaction-scoped
 * advisory lock, taken in the same round trip as BEGIN. That is SQLite's BEGIN IMMEDIATE, exactly:
 * the checks a transaction makes (a member's balance, the community's and the operator's budgets,
 * the member's unfinished jobs) cannot be invalidated by another process before it commits. Single
 * guarded statements (`update jobs … where state = … and locked_by = …`) need no such lock: a row
 * update re-checks its where clause under the row lock.
 */
export const WRITE_LOCK_KEY = 7_461_001;

/** int8 (counts, sums of bigint, epoch milliseconds) and numeric (sums) arrive as strings by default. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export class PostgresDatabase implements Database {
  readonly dialect = 'postgres' as const;
  private closing: Promise<void> | undefined;

  constructor(
    readonly pool: pg.Pool,
    readonly description: string,
  ) {}

  /** A pool on `connectionString`; its connections are made when first needed. */
  static pool(connectionString: string, options: { readonly max?: number; readonly onError?: (error: Error) => void } = {}): pg.Pool {
    const pool = new pg.Pool({ connectionString, max: options.max ?? 10, types, connectionTimeoutMillis: 10_000 });
    // An idle connection that the server drops (a restart) is reported here; without a listener
    // it would crash the process. The next query takes a new connection.
    pool.on('error', (error) => options.onError?.(error));
    return pool;
  }

  async get<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    return (await query<T>(this.pool, text, params)).rows[0];
  }

  async all<T>(text: string, params?: Params | Positional): Promise<T[]> {
    return (await query<T>(this.pool, text, params)).rows;
  }

  async value<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    return firstValue<T>(await query<Record<string, unknown>>(this.pool, text, params));
  }

  async run(text: string, params?: Params | Positional): Promise<RunResult> {
    return { changes: (await query(this.pool, text, params)).rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`begin; select pg_advisory_xact_lock(${WRITE_LOCK_KEY})`);
      try {
        const result = await fn(new PostgresTransaction(client, 0));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch((rollbackError: unknown) => {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        });
        throw error;
      }
    } catch (error) {
      // A connection whose transaction state is unknown goes; the pool makes a new one.
      if (isConnectionError(error)) broken ??= error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** Ends the pool once: a second close (the app's stop after a test or a shutdown closed it) waits for the first, as SQLite's does. */
  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}

class PostgresTransaction implements Sql {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly depth: number,
  ) {}

  async get<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    return (await query<T>(this.client, text, params)).rows[0];
  }

  async all<T>(text: string, params?: Params | Positional): Promise<T[]> {
    return (await query<T>(this.client, text, params)).rows;
  }

  async value<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    return firstValue<T>(await query<Record<string, unknown>>(this.client, text, params));
  }

  async run(text: string, params?: Params | Positional): Promise<RunResult> {
    return { changes: (await query(this.client, text, params)).rowCount ?? 0 };
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const name = `nested_${this.depth + 1}`;
    await this.client.query(`savepoint ${name}`);
    try {
      const result = await fn(new PostgresTransaction(this.client, this.depth + 1));
      await this.client.query(`release savepoint ${name}`);
      return result;
    } catch (error) {
      await this.client.query(`rollback to savepoint ${name}`);
      throw error;
    }
  }
}

/** Connection-level failures (server gone, restarting, socket closed), as opposed to SQL errors. */
export function isConnectionError(error: unknown): boolean {
  return isStoreUnavailable(error) && (error as { code?: unknown }).code !== 'SQLITE_BUSY';
}

const translations = new Map<string, { readonly text: string; readonly names: readonly string[] | null; readonly name: string }>();

async function query<T>(on: pg.Pool | pg.PoolClient, text: string, params: Params | Positional | undefined): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
  let translated = translations.get(text);
  if (!translated) {
    translated = { ...toPositional(text), name: `s${translations.size + 1}` };
    translations.set(text, translated);
  }
  const values = bindValues(translated.names, params);
  // A named query is parsed once per connection and kept there, like a better-sqlite3 statement.
  return on.query<T & pg.QueryResultRow>({ name: translated.name, text: translated.text, values: values as unknown[] });
}

function bindValues(names: readonly string[] | null, params: Params | Positional | undefined): readonly SqlValue[] {
  if (params === undefined) return [];
  if (Array.isArray(params)) return params as Positional;
  if (names === null) throw new Error('named parameters given to a statement written with ?');
  const named = params as Params;
  return names.map((name) => {
    const value = named[name];
    if (value === undefined) throw new Error(`missing named parameter @${name}`);
    return typeof value === 'bigint' ? value.toString() : value;
  });
}

function firstValue<T>(result: pg.QueryResult<Record<string, unknown>>): T | undefined {
  const row = result.rows[0];
  if (!row) return undefined;
  const first = result.fields[0];
  return first ? (row[first.name] as T) : undefined;
}

/**
 * `@name` and `?` to `$n`, outside string literals, quoted identifiers and comments. A name used
 * twice is one parameter. `names` is null for a positional statement.
 */
export function toPositional(text: string): { readonly text: string; readonly names: readonly string[] | null } {
  const names: string[] = [];
  let positional = 0;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '@' && /[A-Za-z_]/.test(text[i + 1] ?? '')) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))!;
      const name = match[0];
      let index = names.indexOf(name);
      if (index === -1) index = names.push(name) - 1;
      out += `$${index + 1}`;
      i += 1 + name.length;
    } else if (c === '?') {
      positional += 1;
      out += `$${positional}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  if (positional > 0 && names.length > 0) throw new Error('a statement mixes ? and @name parameters');
  return { text: out, names: positional > 0 ? null : names };
}
