/**
 * The bot's own part of the Runway organisation's figures since a snapshot was read, from the jobs
 * table and the ledger (src/runway/organization.ts decides with it). Read-only; kept apart from the
 * job store's transitions because it changes nothing.
 */
import type { BotUsage } from '../runway/organization.ts';
import type { Db } from '../store/database.ts';
import { statement } from '../store/prepared.ts';

/** The condition of the partial index jobs_unfinished (src/store/migrations.ts), as written there. */
const UNFINISHED = `not in ('delivered','rejected','failed','cancelled')`;

/**
 * What the bot's jobs add to a snapshot read at `readAtMs`, for one model's daily count from
 * `dailyFromMs` (src/runway/organization.ts dailyCountFrom).
 */
export function botUsageSince(db: Db, modelId: string, readAtMs: number, dailyFromMs: number): BotUsage {
  // Jobs between acceptance (which takes the hold) and Runway's answer hold credits that Runway will charge (or refund).
  // Every query runs on each request: the `not in` repeats the partial index jobs_unfinished's own
  // condition, word for word, which is what lets SQLite use it instead of scanning every job ever.
  const heldCredits = statement(
      db,
      `select coalesce(-sum(l.delta), 0) from jobs j join ledger l on l.job_id = j.id
       where j.state in ('queued','reserved','submitting','submitted','running') and j.state ${UNFINISHED}`,
    )
    .pluck()
    .get() as number;
  // Runway charged these after the read. A job that later failed delivery keeps its cost here:
  // the member was refunded, Runway was still paid. No task runs a day, which bounds the scan.
  const chargedSinceRead = statement(
      db,
      `select coalesce(sum(cost_credits), 0) from jobs
       where submitted_at >= ? and cost_credits is not null and finished_at >= ?`,
    )
    .pluck()
    .get(readAtMs - 24 * 60 * 60 * 1000, readAtMs) as number;
  // Started since, plus those accepted and waiting for a slot: they count against today's limit too.
  const started = statement(db, `select count(*) from jobs where model = ? and submitted_at >= ?`)
    .pluck()
    .get(modelId, dailyFromMs) as number;
  const waiting = statement(db, `select count(*) from jobs where model = ? and state in ('queued','reserved','submitting') and state ${UNFINISHED}`)
    .pluck()
    .get(modelId) as number;
  return { heldCredits, chargedSinceRead, startedSince: started + waiting };
}
