/**
 * The one door to the database, whichever it is. Every repository (ledger, jobs, moderation…) is
 * written against `Sql`; `./sqlite-sql.ts` and `./postgres-sql.ts` are the two backends.
 *
 * One SQL text serves both where the dialects agree (nearly everywhere: the schema keeps to the
 * common ground). Parameters are named, `@name` in the text and `name` in the object, or
 * positional `?`; the PostgreSQL backend rewrites both to `$n`. Where the dialects differ, a
 * repository picks its text on `sql.dialect` (see `dialectText`).
 */
export type SqlValue = string | number | bigint | Buffer | null;
export type Params = Readonly<Record<string, SqlValue>>;
export type Positional = readonly SqlValue[];
export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows the statement inserted, updated or deleted. */
  readonly changes: number;
}

export interface Sql {
  readonly dialect: Dialect;
  /** The first row, or undefined when there is none. */
  get<T>(text: string, params?: Params | Positional): Promise<T | undefined>;
  all<T>(text: string, params?: Params | Positional): Promise<T[]>;
  /** The first column of the first row (`select count(*) …`), or undefined when there is no row. */
  value<T>(text: string, params?: Params | Positional): Promise<T | undefined>;
  run(text: string, params?: Params | Positional): Promise<RunResult>;
  /**
   * `fn` in one write transaction, committed when it returns and rolled back when it throws.
   * Write transactions are serialised, as SQLite's BEGIN IMMEDIATE serialises them: a check and
   * the write it allows (a balance, then the hold) can never interleave with another's, in this
   * process or another. `fn` must use `tx`, never the outer `Sql`, and must not wait on anything
   * but the database. Called on a `tx`, it nests as a savepoint.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
}

/** An `Sql` that owns its connection(s). */
export interface Database extends Sql {
  /** Where it lives, for the log: the file, or the server without its password. */
  readonly description: string;
  close(): Promise<void>;
}

/** The text for this dialect: for the few statements the two spell differently. */
export function dialectText(dialect: Dialect, texts: { readonly sqlite: string; readonly postgres: string }): string {
  return texts[dialect];
}
