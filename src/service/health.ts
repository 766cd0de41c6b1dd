/**
 * Readiness: is each part the bot needs working right now? Each part is a probe, a cheap function
 * answering `{ ok, detail? }`, so /readyz never waits on Runway or a chat platform: it reports what
 * the bot already knows. Only the database probe asks its server (PostgreSQL), with a short deadline.
 */
import type { Clock } from '../clock.ts';
import type { RunwayCallObserver, RunwayCallOutcome } from '../runway/gateway.ts';
import type { Database } from '../store/sql.ts';
import { SqliteDatabase } from '../store/sqlite-sql.ts';
import type { Db } from '../store/database.ts';

/** One part's state; `detail` says what is wrong (never a token, a URL or user text). */
export interface PartStatus {
  readonly ok: boolean;
  readonly detail?: string;
}

export type HealthProbe = () => PartStatus | Promise<PartStatus>;

/** What GET /readyz answers: `ready` only when every part is ok. */
export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  readonly checks: Readonly<Record<string, PartStatus>>;
}

/** Run every probe; one that throws counts as down, with its error as the detail. */
export async function readiness(probes: Readonly<Record<string, HealthProbe>>): Promise<Readiness> {
  const checks: Record<string, PartStatus> = {};
  for (const [name, probe] of Object.entries(probes)) {
    try {
      checks[name] = await probe();
    } catch (error) {
      checks[name] = { ok: false, detail: `check failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200) };
    }
  }
  return { status: Object.values(checks).every((check) => check.ok) ? 'ready' : 'not_ready', checks };
}

/** How long the database probe waits for another writer before calling the database busy. */
const PROBE_BUSY_TIMEOUT_MS = 200;

/**
 * The database is open and writable: take the write lock, write a row without changing it, roll
 * back. It proves what a job needs (a write transaction can start and the file is not read-only)
 * at the cost of one page in memory, unlike `pragma quick_check`, which reads the whole file.
 */
export function databaseProbe(database: Database, timers: Pick<typeof globalThis, 'setTimeout' | 'clearTimeout'> = globalThis): HealthProbe {
  return database instanceof SqliteDatabase ? sqliteProbe(database.raw) : serverProbe(database, timers);
}

/** How long the PostgreSQL probe waits for `select 1`. */
const PROBE_SERVER_TIMEOUT_MS = 2_000;

/** A server database answers a trivial query within the deadline. */
function serverProbe(database: Database, timers: Pick<typeof globalThis, 'setTimeout' | 'clearTimeout'>): HealthProbe {
  return async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<PartStatus>((resolve) => {
      timer = timers.setTimeout(() => resolve({ ok: false, detail: `the database did not answer within ${PROBE_SERVER_TIMEOUT_MS} ms` }), PROBE_SERVER_TIMEOUT_MS);
    });
    const answer = database.value<number>('select 1').then(
      (): PartStatus => ({ ok: true }),
      (error: unknown): PartStatus => ({ ok: false, detail: `${error instanceof Error ? error.message : String(error)}`.slice(0, 200) }),
    );
    try {
      return await Promise.race([answer, deadline]);
    } finally {
      timers.clearTimeout(timer);
    }
  };
}

function sqliteProbe(db: Db): HealthProbe {
  return () => {
    if (!db.open) return { ok: false, detail: 'the database connection is closed' };
    // Statements are synchronous, so no other statement runs between these; a transaction can only
    // be open here if a caller left one open across an await, which would be our bug to report.
    if (db.inTransaction) return { ok: false, detail: 'a transaction was left open' };
    const busyTimeout = Number(db.pragma('busy_timeout', { simple: true }));
    // Waiting 5 s for the lock would block the whole process; a probe answers quickly instead.
    db.pragma(`busy_timeout = ${PROBE_BUSY_TIMEOUT_MS}`);
    try {
      db.exec('begin immediate');
      try {
        db.prepare('update schema_migrations set applied_at = applied_at where version = (select max(version) from schema_migrations)').run();
      } finally {
        db.exec('rollback');
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, detail: sqliteProblem(error) };
    } finally {
      db.pragma(`busy_timeout = ${busyTimeout}`);
    }
  };
}

function sqliteProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_BUSY') return `another connection held the write lock for over ${PROBE_BUSY_TIMEOUT_MS} ms`;
  if (code === 'SQLITE_READONLY') return 'the database is read-only';
  const message = error instanceof Error ? error.message : String(error);
  return `${typeof code === 'string' ? `${code}: ` : ''}${message}`.slice(0, 200);
}

/** A chat platform's connection, as its adapter reports it. */
export function connectionProbe(connected: () => boolean, whenDown: string): HealthProbe {
  return () => (connected() ? { ok: true } : { ok: false, detail: whenDown });
}

/** Runway counts as reachable while its last successful answer is at most this old. */
export const RUNWAY_SILENCE_LIMIT_MS = 15 * 60_000;

/**
 * Whether Runway answers us, from the calls the bot makes anyway (src/runway/gateway.ts tells
 * `record`). The organisation is re-read every 10 minutes even when nobody generates, so an idle
 * bot still hears from Runway well within the limit.
 */
export class RunwayReachability {
  private lastSuccessAt: number | null = null;
  private lastOutcome: RunwayCallOutcome | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly silenceLimitMs = RUNWAY_SILENCE_LIMIT_MS,
  ) {}

  /** The gateway's observer. */
  readonly record: RunwayCallObserver = (call) => {
    this.lastOutcome = call.outcome;
    if (call.outcome === 'ok') this.lastSuccessAt = this.clock.now();
  };

  /** The readiness probe. */
  readonly probe: HealthProbe = () => {
    const last = this.lastOutcome === null ? '' : ` (last call: ${this.lastOutcome})`;
    if (this.lastSuccessAt === null) return { ok: false, detail: `Runway has not answered successfully yet${last}` };
    const silentMs = this.clock.now() - this.lastSuccessAt;
    if (silentMs <= this.silenceLimitMs) return { ok: true };
    return { ok: false, detail: `no successful answer from Runway for ${Math.floor(silentMs / 60_000)} min${last}` };
  };
}
