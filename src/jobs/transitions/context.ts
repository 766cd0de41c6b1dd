import type { Clock } from '../../clock.ts';
import type { CreditLedger } from '../../credits/ledger.ts';
import type { Db } from '../../store/database.ts';

/** What every transition needs: the connection, the ledger its money moves through, the time, and who we are. */
export interface TransitionContext {
  readonly db: Db;
  readonly ledger: CreditLedger;
  readonly clock: Clock;
  /** This process's id: the `locked_by` of every job it works. A transition applies only to our own jobs. */
  readonly instanceId: string;
}

/**
 * How long a job stays ours without renewal. The runner renews every JOB_LEASE_RENEW_MS, so a
 * live instance never lets one lapse; a dead one's jobs are free a minute after its last renewal.
 */
export const JOB_LEASE_MS = 60_000;
export const JOB_LEASE_RENEW_MS = 15_000;
