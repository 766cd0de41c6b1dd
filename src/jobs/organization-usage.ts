/**
 * The bot's own part of the Runway organisation's figures since a snapshot was read, from the jobs
 * table and the ledger (src/runway/organization.ts decides with it). Read-only; kept apart from the
 * job store's transitions because it changes nothing.
 */
import type { BotUsage } from '../runway/organization.ts';
import type { Sql } from '../store/sql.ts';

/** The condition of the partial index jobs_unfinished (src/store/migrations.ts), as written there. */
const UNFINISHED = `not in ('delivered','rejected','failed','cancelled')`;

/**
 * What the bot's jobs add to a snapshot read at `readAtMs`, for one model's daily count from
 * `dailyFromMs` (src/runway/organization.ts dailyCountFrom).
 */
export async function botUsageSince(db: Sql, modelId: string, readAtMs: number, dailyFromMs: number): Promise<BotUsage> {
  // Jobs between acceptance (which takes the hold) and Runway's answer hold credits that Runway will charge (or refund).
  // Every query runs on each request: the `not in` repeats the partial index jobs_unfinished's own
  // condition, word for word, which is what lets SQLite use it instead of scanning every job ever.
  const heldCredits = (await db.value<number>(`select coalesce(-sum(l.delta), 0) from jobs j join ledger l on l.job_id = j.id
       where j.state in ('queued','reserved','submitting','submitted','running') and j.state ${UNFINISHED}`)) ?? 0;
  // Runway charged these after the read. A job that later failed delivery keeps its cost here:
  // the member was refunded, Runway was still paid. No task runs a day, which bounds the scan.
  const chargedSinceRead = (await db.value<number>(`select coalesce(sum(cost_credits), 0) from jobs
       where submitted_at >= ? and cost_credits is not null and finished_at >= ?`, [readAtMs - 24 * 60 * 60 * 1000, readAtMs])) ?? 0;
  // Started since, plus those accepted and waiting for a slot: they count against today's limit too.
  const started = (await db.value<number>(`select count(*) from jobs where model = ? and submitted_at >= ?`, [modelId, dailyFromMs])) ?? 0;
  const waiting = (await db.value<number>(`select count(*) from jobs where model = ? and state in ('queued','reserved','submitting') and state ${UNFINISHED}`, [modelId])) ?? 0;
  return { heldCredits, chargedSinceRead, startedSince: started + waiting };
}
