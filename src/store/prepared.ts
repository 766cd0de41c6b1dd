import type Database from 'better-sqlite3';
import type { Db } from './database.ts';

/** Named parameters as better-sqlite3 binds them (`@name` in the SQL, `name` here). */
export type Params = Record<string, string | number | bigint | Buffer | null>;

const cache = new WeakMap<Db, Map<string, Database.Statement<unknown[], unknown>>>();

/**
 * The statement for `sql` on this connection, compiled on first use and kept: the transitions run
 * on every tick and the admission checks on every request, and compiling SQL each time would cost
 * more than running it. Positional parameters; `prepared` is the same with named ones.
 */
export function statement(db: Db, sql: string): Database.Statement<unknown[], unknown> {
  let statements = cache.get(db);
  if (!statements) {
    statements = new Map();
    cache.set(db, statements);
  }
  let compiled = statements.get(sql);
  if (!compiled) {
    compiled = db.prepare<unknown[], unknown>(sql);
    statements.set(sql, compiled);
  }
  return compiled;
}

/** `statement` with named parameters (`@name` in the SQL). */
export function prepared(db: Db, sql: string): Database.Statement<[Params], unknown> {
  return statement(db, sql) as unknown as Database.Statement<[Params], unknown>;
}
