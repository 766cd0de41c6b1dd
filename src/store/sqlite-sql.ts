import type BetterSqlite3 from 'better-sqlite3';
import type { Database, Params, Positional, RunResult, Sql } from './sql.ts';

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/**
 * `Sql` over one better-sqlite3 connection. Statements are compiled once per text and kept: the
 * transitions run on every tick and the admission checks on every request.
 *
 * better-sqlite3 is synchronous, so a statement on its own cannot interleave with anything. A
 * transaction can: `fn` is async, and while it awaits, other work in this process could run a
 * statement on the same connection, which would land inside the open transaction. So while one is
 * open every other caller waits for it (`idle`), and the transaction's own statements go through
 * its `tx`.
 */
export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Statement>();
  private readonly plucked = new Map<string, Statement>();
  private open: Promise<void> | null = null;

  constructor(
    /** The connection itself: for what only SQLite has (backups, VACUUM INTO) and for the tests. */
    readonly raw: BetterSqlite3.Database,
    readonly description: string,
  ) {}

  async get<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    // Checked and passed with no await in between: a transaction cannot start in the gap.
    while (this.open) await this.open;
    return this.getNow<T>(text, params);
  }

  async all<T>(text: string, params?: Params | Positional): Promise<T[]> {
    // Checked and passed with no await in between: a transaction cannot start in the gap.
    while (this.open) await this.open;
    return this.allNow<T>(text, params);
  }

  async value<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    // Checked and passed with no await in between: a transaction cannot start in the gap.
    while (this.open) await this.open;
    return this.valueNow<T>(text, params);
  }

  async run(text: string, params?: Params | Positional): Promise<RunResult> {
    // Checked and passed with no await in between: a transaction cannot start in the gap.
    while (this.open) await this.open;
    return this.runNow(text, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    // Checked and claimed with no await in between: two callers cannot both find it free.
    while (this.open) await this.open;
    let done!: () => void;
    this.open = new Promise<void>((resolve) => (done = resolve));
    try {
      this.raw.exec('begin immediate');
      try {
        const result = await fn(new SqliteTransaction(this, 0));
        this.raw.exec('commit');
        return result;
      } catch (error) {
        if (this.raw.inTransaction) this.raw.exec('rollback');
        throw error;
      }
    } finally {
      this.open = null;
      done();
    }
  }

  async close(): Promise<void> {
    while (this.open) await this.open;
    if (this.raw.open) this.raw.close();
  }

  /** @internal The statements themselves, run at once: for this class and its transactions. */
  getNow<T>(text: string, params?: Params | Positional): T | undefined {
    return bind(this.compiled(text), params, 'get') as T | undefined;
  }

  /** @internal */
  allNow<T>(text: string, params?: Params | Positional): T[] {
    return bind(this.compiled(text), params, 'all') as T[];
  }

  /** @internal */
  valueNow<T>(text: string, params?: Params | Positional): T | undefined {
    let statement = this.plucked.get(text);
    if (!statement) {
      statement = this.raw.prepare<unknown[], unknown>(text).pluck();
      this.plucked.set(text, statement);
    }
    return bind(statement, params, 'get') as T | undefined;
  }

  /** @internal */
  runNow(text: string, params?: Params | Positional): RunResult {
    const result = bind(this.compiled(text), params, 'run') as BetterSqlite3.RunResult;
    return { changes: result.changes };
  }

  private compiled(text: string): Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.raw.prepare<unknown[], unknown>(text);
      this.statements.set(text, statement);
    }
    return statement;
  }
}

/** The statements of an open transaction; a nested `transaction` is a savepoint. */
class SqliteTransaction implements Sql {
  readonly dialect = 'sqlite' as const;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly depth: number,
  ) {}

  async get<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    return this.db.getNow<T>(text, params);
  }

  async all<T>(text: string, params?: Params | Positional): Promise<T[]> {
    return this.db.allNow<T>(text, params);
  }

  async value<T>(text: string, params?: Params | Positional): Promise<T | undefined> {
    return this.db.valueNow<T>(text, params);
  }

  async run(text: string, params?: Params | Positional): Promise<RunResult> {
    return this.db.runNow(text, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const name = `nested_${this.depth + 1}`;
    this.db.raw.exec(`savepoint ${name}`);
    try {
      const result = await fn(new SqliteTransaction(this.db, this.depth + 1));
      this.db.raw.exec(`release ${name}`);
      return result;
    } catch (error) {
      this.db.raw.exec(`rollback to ${name}`);
      this.db.raw.exec(`release ${name}`);
      throw error;
    }
  }
}

function bind(statement: Statement, params: Params | Positional | undefined, how: 'get' | 'all' | 'run'): unknown {
  if (params === undefined) return statement[how]();
  if (Array.isArray(params)) return statement[how](...(params as unknown[]));
  return statement[how](params);
}
