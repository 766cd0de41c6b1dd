/**
 * The loop both ledger measures run: hold credits for a new job, then settle it at full price,
 * through the real CreditLedger on a file database (WAL, as src/store/database.ts opens it).
 */
import { ManualClock } from '../src/clock.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import type { Sql } from '../src/store/sql.ts';

export const RACE_COMMUNITY = 'bench-community';
/** A fixed instant: every process agrees on the period without reading the wall clock. */
export const RACE_CLOCK_MS = Date.UTC(2026, 0, 7, 12);

export function benchLedger(db: Sql, allowance: number): CreditLedger {
  return new CreditLedger(db, new ManualClock(RACE_CLOCK_MS), { allowance, period: 'none' });
}

/** The bare `jobs` row a ledger entry's job_id must reference. */
const INSERT_JOB = `
  insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, created_at, updated_at)
  values (?, 'bench', ?, ?, ?, '{}', '{}', 'gen4_image', 'queued', ?, ?)`;

/**
 * One reservation as the bot makes it: the job row and the hold in one write transaction
 * (JobStore.accept does the same), then, if it was granted, the settle. Returns whether it was granted.
 */
export async function reserveAndSettle(db: Sql, ledger: CreditLedger, jobId: string, userId: string, price: number): Promise<boolean> {
  const outcome = await db.transaction(async (tx) => {
    await tx.run(INSERT_JOB, [jobId, RACE_COMMUNITY, userId, userId, RACE_CLOCK_MS, RACE_CLOCK_MS]);
    return ledger.within(tx).reserve({ communityId: RACE_COMMUNITY, userId, displayName: userId, jobId, model: 'gen4_image', amount: price, atMs: RACE_CLOCK_MS });
  });
  if (outcome.ok) await ledger.settle(jobId, price);
  return outcome.ok;
}
