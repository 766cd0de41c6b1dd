import type { Clock } from '../../clock.ts';
import type { CreditLedger } from '../../credits/ledger.ts';
import type { Sql } from '../../store/sql.ts';

/** What every transition needs: the connection, the ledger its money moves through, the time, and who we are. */
export interface TransitionContext {
  readonly db: Sql;
  readonly ledger: CreditLedger;
  readonly clock: Clock;
  /** This process's id: the `locked_by` of every job it works. A transition applies only to our own jobs. */
  readonly instanceId: string;
  /** How long a job stays ours without renewal (JOB_LEASE_MS unless the operator set JOB_LEASE_SECONDS). */
  readonly leaseMs: number;
}

/**
 * How long a job stays ours without renewal, by default. The runner renews every quarter of the
 * lease, so a live instance never lets one lapse; a dead one's jobs are free a lease after its last
 * renewal (with several processes on PostgreSQL, that is how long a failover takes).
 */
export const JOB_LEASE_MS = 60_000;

/** How often the runner renews its jobs' leases: a quarter of the lease leaves three renewals of slack. */
export function leaseRenewalMs(leaseMs: number): number {
  return Math.floor(leaseMs / 4);
}

/**
 * `fn` in one write transaction, with a context bound to it: its statements and the ledger's
 * entries commit together or not at all.
 */
export function inTransaction<T>(ctx: TransitionContext, fn: (tx: TransitionContext) => Promise<T>): Promise<T> {
  return ctx.db.transaction((db) => fn({ ...ctx, db, ledger: ctx.ledger.within(db) }));
}
