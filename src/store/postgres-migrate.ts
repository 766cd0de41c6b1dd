import type pg from 'pg';
import type { Clock } from '../clock.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';

/** Held (for one transaction) by whoever migrates: several bots starting at once migrate once. */
export const MIGRATION_LOCK_KEY = 7_461_002;

/** The schema version this code writes. */
export const LATEST_POSTGRES_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]?.version ?? 0;

/**
 * `database.schema_too_new`: a newer imagine-bot has migrated this database. Running older code on
 * it could write rows the newer schema forbids or misread columns it does not know, so we stop.
 */
export class DatabaseSchemaTooNewError extends Error {
  readonly code = 'database.schema_too_new';
  constructor(
    readonly databaseVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `This database was written by a newer imagine-bot (schema ${databaseVersion}; this version knows up to ${knownVersion}). ` +
        'Upgrade imagine-bot, or point DATABASE_URL at another database.',
    );
    this.name = 'DatabaseSchemaTooNewError';
  }
}

/**
 * Bring the schema up to date in one transaction under `MIGRATION_LOCK_KEY`, recording each
 * version in `schema_migrations` with `clock`'s time. PostgreSQL's DDL is transactional, so a
 * failed migration leaves the database as it was. Returns the versions before and after.
 */
export async function migratePostgres(client: pg.ClientBase, clock: Clock): Promise<{ readonly fromVersion: number; readonly toVersion: number }> {
  await client.query('begin');
  try {
    await client.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await client.query('create table if not exists schema_migrations (version integer primary key, applied_at bigint not null)');
    const rows = (await client.query<{ version: number }>('select version from schema_migrations')).rows;
    const applied = new Set(rows.map((row) => row.version));
    const current = Math.max(0, ...applied);
    if (current > LATEST_POSTGRES_VERSION) throw new DatabaseSchemaTooNewError(current, LATEST_POSTGRES_VERSION);
    for (const migration of POSTGRES_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('insert into schema_migrations (version, applied_at) values ($1, $2)', [migration.version, clock.now()]);
    }
    await client.query('commit');
    return { fromVersion: current, toVersion: Math.max(current, LATEST_POSTGRES_VERSION) };
  } catch (error) {
    // A connection already gone rolls back by itself; the caller sees the first error.
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}
