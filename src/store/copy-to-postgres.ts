import type BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS } from './migrations.ts';
import type { PostgresDatabase } from './postgres-sql.ts';
import type { Sql, SqlValue } from './sql.ts';

/**
 * The tables a store's history lives in, parents first (a job before the entries and references
 * that name it). `instance_lease` is left behind: it names a process of the old store, and a bot
 * on the new one takes its own. `schema_migrations` is the target's own.
 */
export const COPIED_TABLES = ['jobs', 'job_references', 'ledger', 'accounts', 'community_settings', 'blocked_words'] as const;
export type CopiedTable = (typeof COPIED_TABLES)[number];

export interface CopyOptions {
  /** Rows per INSERT; default 500 (PostgreSQL takes at most 65,535 parameters in one statement). */
  readonly batchRows?: number;
  /** Told each table's count once it is copied, for a progress line. */
  readonly onTable?: (table: CopiedTable, rows: number) => void;
}

/** `database.copy_schema_mismatch`: the SQLite file is not at the schema this version copies. */
export class CopySchemaMismatchError extends Error {
  readonly code = 'database.copy_schema_mismatch';
  constructor(
    readonly sourceVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      sourceVersion > knownVersion
        ? `The SQLite database was written by a newer imagine-bot (schema ${sourceVersion}; this version copies schema ${knownVersion}). Copy it with that newer version.`
        : `The SQLite database is at schema ${sourceVersion}; this version copies schema ${knownVersion} only. ` +
            'Start this version of imagine-bot on it once (which upgrades it), then copy again.',
    );
    this.name = 'CopySchemaMismatchError';
  }
}

/** `database.copy_target_not_empty`: copying into a store with rows would mix two histories and two sets of balances. */
export class CopyTargetNotEmptyError extends Error {
  readonly code = 'database.copy_target_not_empty';
  constructor(readonly counts: Readonly<Partial<Record<CopiedTable, number>>>) {
    const held = Object.entries(counts)
      .map(([table, rows]) => `${table}: ${rows}`)
      .join(', ');
    super(`The PostgreSQL database already holds rows (${held}): copy only into a new, empty database.`);
    this.name = 'CopyTargetNotEmptyError';
  }
}

/** `database.copy_failed`: PostgreSQL refused a row; nothing was copied (the copy is one transaction). */
export class CopyFailedError extends Error {
  readonly code = 'database.copy_failed';
  constructor(
    readonly table: CopiedTable,
    reason: string,
    options: { readonly cause: unknown },
  ) {
    super(`Copying ${table} to PostgreSQL failed, so nothing was copied: ${reason}`, options);
    this.name = 'CopyFailedError';
  }
}

/**
 * Copy a SQLite store's rows into an empty, migrated PostgreSQL store in one transaction: every
 * table of `COPIED_TABLES`, ledger ids included (a note or an export may cite them), with the
 * ledger's id sequence moved past the last copied id. Generated columns (`jobs.kind`) are
 * computed again by PostgreSQL. The SQLite side is read in one snapshot.
 */
export async function copySqliteToPostgres(
  source: BetterSqlite3.Database,
  target: PostgresDatabase,
  options: CopyOptions = {},
): Promise<{ readonly tables: Record<CopiedTable, number> }> {
  const knownVersion = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  const sourceVersion = schemaVersionOf(source);
  if (sourceVersion !== knownVersion) throw new CopySchemaMismatchError(sourceVersion, knownVersion);
  return target.transaction(async (tx) => {
    await refuseUnlessEmpty(tx);
    const ownsSnapshot = !source.inTransaction;
    if (ownsSnapshot) source.exec('begin');
    try {
      const tables = {} as Record<CopiedTable, number>;
      for (const table of COPIED_TABLES) {
        tables[table] = await copyTable(source, tx, table, options.batchRows ?? 500);
        options.onTable?.(table, tables[table]);
      }
      // An identity column's sequence knows nothing of ids written past it.
      await tx.run("select setval(pg_get_serial_sequence('ledger', 'id'), coalesce((select max(id) from ledger), 0) + 1, false)");
      return { tables };
    } finally {
      if (ownsSnapshot && source.inTransaction) source.exec('commit');
    }
  });
}

function schemaVersionOf(source: BetterSqlite3.Database): number {
  const hasTable = source.prepare("select 1 from sqlite_master where type = 'table' and name = 'schema_migrations'").get();
  if (!hasTable) return 0;
  return (source.prepare('select max(version) from schema_migrations').pluck().get() as number | null) ?? 0;
}

async function refuseUnlessEmpty(tx: Sql): Promise<void> {
  const held: Partial<Record<CopiedTable, number>> = {};
  for (const table of COPIED_TABLES) {
    const rows = (await tx.value<number>(`select count(*) from ${table}`)) ?? 0;
    if (rows > 0) held[table] = rows;
  }
  if (Object.keys(held).length > 0) throw new CopyTargetNotEmptyError(held);
}

async function copyTable(source: BetterSqlite3.Database, tx: Sql, table: CopiedTable, batchRows: number): Promise<number> {
  // table_xinfo lists generated columns too (hidden 2 and 3); those are computed, not copied.
  const columns = (source.prepare(`select name, hidden from pragma_table_xinfo('${table}')`).all() as { name: string; hidden: number }[])
    .filter((column) => column.hidden === 0)
    .map((column) => column.name);
  // Whole numbers past 2^53 would lose digits as JavaScript numbers; as bigint they pass exactly.
  const rows = source.prepare(`select ${columns.join(', ')} from ${table} order by rowid`).raw().safeIntegers();
  const perStatement = Math.max(1, Math.min(batchRows, Math.floor(30_000 / columns.length)));
  let copied = 0;
  let batch: SqlValue[][] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    try {
      await tx.run(insertText(table, columns, batch.length), batch.flat());
    } catch (error) {
      throw new CopyFailedError(table, error instanceof Error ? error.message : String(error), { cause: error });
    }
    copied += batch.length;
    batch = [];
  };
  for (const row of rows.iterate() as Iterable<SqlValue[]>) {
    batch.push(row);
    if (batch.length === perStatement) await flush();
  }
  await flush();
  return copied;
}

function insertText(table: CopiedTable, columns: readonly string[], rowCount: number): string {
  const row = `(${columns.map(() => '?').join(', ')})`;
  // The ledger's id is `generated always`: keeping the old ids needs the override.
  const override = table === 'ledger' ? ' overriding system value' : '';
  return `insert into ${table} (${columns.join(', ')})${override} values ${Array.from({ length: rowCount }, () => row).join(', ')}`;
}
