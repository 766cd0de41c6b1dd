/**
 * Open a test's shared store from a worker process (test/support/*-worker.ts), which runs outside
 * vitest: `location` is what `openSharedTestDb` gave the test, a PostgreSQL URL or a SQLite file.
 */
import { openSqliteDatabase } from '../../src/store/database.ts';
import { PostgresDatabase } from '../../src/store/postgres-sql.ts';
import { parseDatabaseUrl } from '../../src/store/postgres-url.ts';
import type { Database } from '../../src/store/sql.ts';

/** The migrated store at `location`, on a connection (PostgreSQL: a small pool) of this process's own. */
export function openStoreAt(location: string): Database {
  if (/^postgres(ql)?:\/\//.test(location)) return new PostgresDatabase(PostgresDatabase.pool(location, { max: 2 }), parseDatabaseUrl(location).description);
  return openSqliteDatabase(location);
}
