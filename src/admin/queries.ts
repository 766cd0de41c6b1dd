/**
 * The reads only the operator's tool needs: which communities exist anywhere in the database, what
 * is known of each, and ledger entries for an export. Read-only and parameterised; the ledger's own
 * rules (settings, spend) stay in src/credits.
 */
import type { Sql } from '../store/sql.ts';

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
export function seenCommunities(db: Sql): Promise<SeenCommunity[]> {
  return db.all<SeenCommunity>(
    `with seen(id) as (${SEEN}),
          latest as (select community_id, platform,
                            row_number() over (partition by community_id order by created_at desc, rowid desc) as n
                       from jobs),
          members as (select community_id, count(*) as n from accounts group by community_id)
     select seen.id as id, latest.platform as platform, coalesce(members.n, 0) as members
       from seen left join latest on latest.community_id = seen.id and latest.n = 1
                 left join members on members.community_id = seen.id
      order by seen.id`,
  );
}

/** Whether any table names the community. */
export async function isSeen(db: Sql, communityId: string): Promise<boolean> {
  return (await db.value<number>(`select 1 from (${SEEN}) seen where community_id = ?`, [communityId])) !== undefined;
}

/** Ledger entries written in [startMs, endMs), oldest first, optionally of one community. */
export function ledgerEntries(db: Sql, startMs: number, endMs: number, communityId: string | null): Promise<ExportRow[]> {
  return db.all<ExportRow>(
    `select l.created_at as "createdAt", l.community_id as "communityId", l.user_id as "userId", a.display_name as "userName",
            l.kind as kind, l.delta as delta, l.job_id as "jobId", l.model as model, l.actor_id as "actorId", l.note as note
       from ledger l left join accounts a on a.community_id = l.community_id and a.user_id = l.user_id
      where l.created_at >= ? and l.created_at < ? and (cast(? as text) is null or l.community_id = ?)
      order by l.created_at, l.id`,
    [startMs, endMs, communityId, communityId],
  );
}
