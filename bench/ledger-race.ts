/**
 * The loop both ledger measures run: hold credits for a new job, then settle it at full price,
 * through the real CreditLedger on a file database (WAL, as src/store/database.ts opens it).
 */
import type Database from 'better-sqlite3';
import { ManualClock } from '../src/clock.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import type { Db } from '../src/store/database.ts';

export const RACE_COMMUNITY = 'bench-community';
/** A fixed instant: every process agrees on the period without reading the wall clock. */
export const RACE_CLOCK_MS = Date.UTC(2026, 0, 7, 12);

export function benchLedger(db: Db, allowance: number): CreditLedger {
  return new CreditLedger(db, new ManualClock(RACE_CLOCK_MS), { allowance, period: 'none' });
}

/**
 * One reservation as the bot makes it: the job row and the hold in one IMMEDIATE transaction
 * (JobStore.reserve does the same), then, if it was granted, the settle. Returns whether it was granted.
 */
export function reserveAndSettle(db: Db, ledger: CreditLedger, jobId: string, userId: string, price: number): boolean {
  const insertJob = insertJobStatement(db);
  const outcome = db
    .transaction(() => {
      insertJob.run(jobId, RACE_COMMUNITY, userId, userId, RACE_CLOCK_MS, RACE_CLOCK_MS);
      return ledger.reserve({ communityId: RACE_COMMUNITY, userId, displayName: userId, jobId, model: 'gen4_image', amount: price, atMs: RACE_CLOCK_MS });
    })
    .immediate();
  if (outcome.ok) ledger.settle(jobId, price);
  return outcome.ok;
}

type InsertJob = Database.Statement<[string, string, string, string, number, number]>;
const insertJobStatements = new WeakMap<Db, InsertJob>();

/** The bare `jobs` row a ledger entry's job_id must reference, prepared once per connection. */
function insertJobStatement(db: Db): InsertJob {
  let statement = insertJobStatements.get(db);
  if (!statement) {
    statement = db.prepare<[string, string, string, string, number, number]>(
      `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, created_at, updated_at)
       values (?, 'bench', ?, ?, ?, '{}', '{}', 'gen4_image', 'queued', ?, ?)`,
    );
    insertJobStatements.set(db, statement);
  }
  return statement;
}
