import type Database from 'better-sqlite3';
import type { Db } from './database.ts';

/** Named parameters as better-sqlite3 binds them (`@name` in the SQL, `name` here). */
export type Params = Record<string, string | number | bigint | Buffer | null>;

const cache = new WeakMap<Db, Map<string, Database.Statement<[Params], unknown>>>();

/**
 * The statement for `sql` on this connection, compiled on first use and kept: the transitions run
 * on every tick, and compiling SQL each time would cost more than running it.
 */
export function prepared(db: Db, sql: string): Database.Statement<[Params], unknown> {
  let statements = cache.get(db);
  if (!statements) {
    statements = new Map();
    cache.set(db, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare<[Params], unknown>(sql);
    statements.set(sql, statement);
  }
  return statement;
}
