import { randomUUID } from 'node:crypto';
import type { ReserveOutcome } from '../../credits/ledger.ts';
import type { NewJob } from '../job.ts';
import { inTransaction, type TransitionContext } from './context.ts';

/** Why a request was not accepted: the member's in-flight limit, or the ledger's answer. */
export type AcceptRefusal =
  | { readonly ok: false; readonly reason: 'too_many_jobs'; readonly inFlight: number; readonly limit: number }
  | Exclude<ReserveOutcome, { ok: true }>;

export type AcceptOutcome = { readonly ok: true; readonly jobId: string; readonly balanceAfter: number } | AcceptRefusal;

// The count is the one `jobs_member_unfinished` answers (its where clause, spelled the same).
const INSERT_UNDER_LIMIT = `
  insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state,
                    reserved_credits, reserved_at, locked_by, locked_until, created_at, updated_at)
  select @id, @platform, @communityId, @userId, @userName, @placeholder, @request, @model, 'queued',
         cast(@price as bigint), cast(@now as bigint), @instanceId, cast(@lockedUntil as bigint), cast(@now as bigint), cast(@now as bigint)
   where (select count(*) from jobs
           where community_id = @communityId and user_id = @userId
             and state not in ('delivered','rejected','failed','cancelled')) < @limit`;

/** A member's unfinished jobs: what MAX_JOBS_PER_MEMBER counts (also read by JobStore.inFlightOf). */
export const IN_FLIGHT_OF_MEMBER = `
  select count(*) from jobs
   where community_id = @communityId and user_id = @userId
     and state not in ('delivered','rejected','failed','cancelled')`;

/** Carries the ledger's refusal out of the transaction, so the insert before it is rolled back. */
class LedgerRefused extends Error {
  constructor(readonly outcome: Exclude<ReserveOutcome, { ok: true }>) {
    super('the ledger refused the reservation');
  }
}

/**
 * → queued, holding `price` credits: the job is inserted only while its member has fewer than
 * `limit` unfinished jobs, and kept only if the ledger grants the hold, all in one write transaction
 * (no other writer can slip in between the count, the balance check and the writes). A refusal
 * writes nothing. The new job is ours (`locked_by`) from the start.
 */
export async function acceptJob(ctx: TransitionContext, job: NewJob, price: number, limit: number): Promise<AcceptOutcome> {
  const id = randomUUID();
  try {
    return await inTransaction(ctx, async (tx): Promise<AcceptOutcome> => {
      const now = ctx.clock.now();
      const member = { communityId: job.communityId, userId: job.userId };
      const inserted = await tx.db.run(INSERT_UNDER_LIMIT, {
        ...member,
        id,
        platform: job.platform,
        userName: job.userName,
        placeholder: job.placeholder,
        request: JSON.stringify(job.request),
        model: job.request.modelId,
        price,
        now,
        instanceId: ctx.instanceId,
        lockedUntil: now + ctx.leaseMs,
        limit,
      });
      if (inserted.changes !== 1) {
        const inFlight = (await tx.db.value<number>(IN_FLIGHT_OF_MEMBER, member)) ?? 0;
        return { ok: false, reason: 'too_many_jobs', inFlight, limit };
      }
      const reserved = await tx.ledger.reserve({
        communityId: job.communityId,
        userId: job.userId,
        displayName: job.userName,
        jobId: id,
        model: job.request.modelId,
        amount: price,
        atMs: now,
      });
      if (!reserved.ok) throw new LedgerRefused(reserved);
      return { ok: true, jobId: id, balanceAfter: reserved.balanceAfter };
    });
  } catch (error) {
    if (error instanceof LedgerRefused) return error.outcome;
    throw error;
  }
}
