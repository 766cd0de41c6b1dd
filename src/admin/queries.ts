/**
 * The reads only the operator's tool needs: which communities exist anywhere in the database, what
 * is known of each, and ledger entries for an export. Read-only and parameterised; the ledger's own
 * rules (settings, spend) stay in src/credits.
 */
import type { Db } from '../store/database.ts';

/** A community as the tables know it, before any rule is applied. */
export interface SeenCommunity {
  readonly id: string;
  /** The platform of its latest job; null when it never ran one. */
  readonly platform: string | null;
  /** Members with an account row: everyone who ever used a credit command or /imagine there. */
  readonly members: number;
}

/** One ledger entry as it goes into an export. */
export interface ExportRow {
  readonly createdAt: number;
  readonly communityId: string;
  readonly userId: string;
  readonly userName: string | null;
  readonly kind: string;
  readonly delta: number;
  readonly jobId: string | null;
  readonly model: string | null;
  readonly actorId: string;
  readonly note: string | null;
}

// A community is "seen" when any table names it: a blocked community with no members yet still counts.
const SEEN = `select community_id from accounts union select community_id from ledger
               union select community_id from jobs union select community_id from community_settings`;

/** Every community any table names, with its platform and members, ordered by id. */
export function seenCommunities(db: Db): SeenCommunity[] {
  return db
    .prepare<[], SeenCommunity>(
      `with seen(id) as (${SEEN}),
            -- SQLite gives the bare column of the row holding max(): the latest job's platform.
            platforms as (select community_id, platform, max(created_at) from jobs group by community_id),
            members as (select community_id, count(*) as n from accounts group by community_id)
       select seen.id as id, platforms.platform as platform, coalesce(members.n, 0) as members
         from seen left join platforms on platforms.community_id = seen.id
                   left join members on members.community_id = seen.id
        order by seen.id`,
    )
    .all();
}

/** Whether any table names the community. */
export function isSeen(db: Db, communityId: string): boolean {
  return db.prepare<[string], { one: number }>(`select 1 as one from (${SEEN}) where community_id = ?`).get(communityId) !== undefined;
}

/** Ledger entries written in [startMs, endMs), oldest first, optionally of one community. */
export function ledgerEntries(db: Db, startMs: number, endMs: number, communityId: string | null): ExportRow[] {
  return db
    .prepare<[number, number, string | null, string | null], ExportRow>(
      `select l.created_at as createdAt, l.community_id as communityId, l.user_id as userId, a.display_name as userName,
              l.kind as kind, l.delta as delta, l.job_id as jobId, l.model as model, l.actor_id as actorId, l.note as note
         from ledger l left join accounts a on a.community_id = l.community_id and a.user_id = l.user_id
        where l.created_at >= ? and l.created_at < ? and (? is null or l.community_id = ?)
        order by l.created_at, l.id`,
    )
    .all(startMs, endMs, communityId, communityId);
}
