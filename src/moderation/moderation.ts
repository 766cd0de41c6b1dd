/**
 * Runway bills moderated generations like successful ones and suspends accounts that send too
 * many (https://docs.dev.runwayml.com/usage/moderation), so one member must not be able to spend
 * the operator's account into suspension. Two guards, both checked before anything is held or
 * sent: a community's blocked words, and a pause for members whose prompts Runway declined too
 * often in a window (strikes, counted from the jobs table, forgiven by a moderator's pardon).
 */
import type { Clock } from '../clock.ts';
import { formatWhen } from '../credits/messages.ts';
import { nextPeriodStart, periodRange } from '../credits/periods.ts';
import type { Failure } from '../errors.ts';
import type { Sql } from '../store/sql.ts';
import { findBlocked, normaliseEntry } from './words.ts';

/** MODERATION_STRIKES: this many moderated generations per member in a window pause their /imagine. */
export interface StrikeRule {
  readonly count: number;
  readonly period: 'day' | 'week' | 'month';
}

/** At most this many blocked entries per community, each at most this long: enough for real lists, bounded for the check on every prompt. */
export const MAX_BLOCKED_ENTRIES = 200;
export const MAX_ENTRY_LENGTH = 60;

export type MemberStanding =
  | { readonly paused: false; readonly strikes: number }
  | { readonly paused: true; readonly strikes: number; readonly untilMs: number };

export class Moderation {
  constructor(
    private readonly db: Sql,
    private readonly clock: Clock,
    private readonly rule: StrikeRule | null,
  ) {}

  /** The strike rule in force, or null when pauses are off. */
  get strikeRule(): StrikeRule | null {
    return this.rule;
  }

  /** Why this member may not start an image now (a blocked word, a pause), or null. */
  async refusal(communityId: string, userId: string, prompt: string): Promise<Failure | null> {
    const word = findBlocked(prompt, await this.blockedWords(communityId));
    if (word !== null) return blockedWord(word);
    const standing = await this.standing(communityId, userId);
    return standing.paused ? memberPaused(standing, this.clock.now()) : null;
  }

  /** Strikes in the current window since the member's last pardon, and whether they are paused. */
  async standing(communityId: string, userId: string): Promise<MemberStanding> {
    if (!this.rule) return { paused: false, strikes: 0 };
    const now = this.clock.now();
    const { startMs, endMs } = periodRange(this.rule.period, now);
    const strikes =
      (await this.db.value<number>(
        `select count(*) from jobs j left join accounts a on a.community_id = j.community_id and a.user_id = j.user_id
          where j.community_id = ? and j.user_id = ? and j.moderated = 1 and j.finished_at >= ? and j.finished_at < ?
            and j.finished_at > coalesce(a.pardoned_at, -1)`,
        [communityId, userId, startMs, endMs],
      )) ?? 0;
    if (strikes < this.rule.count) return { paused: false, strikes };
    return { paused: true, strikes, untilMs: nextPeriodStart(this.rule.period, now) ?? endMs };
  }

  /**
   * What to tell the community's moderators after `jobId`, a moderated generation of this member: the
   * notice of their pause when this job is the strike that paused them, else null (one notice per
   * pause). Decided by the job's place among the member's strikes in its window (by finish time,
   * then id), not by the count now: two declines that finish together must neither both announce the
   * pause nor both leave it to the other.
   */
  async pauseNotice(communityId: string, userId: string, userName: string, jobId: string): Promise<string | null> {
    if (!this.rule) return null;
    const finishedAt = await this.db.value<number | null>('select finished_at from jobs where id = ? and moderated = 1', [jobId]);
    if (finishedAt === undefined || finishedAt === null) return null;
    const { startMs, endMs } = periodRange(this.rule.period, finishedAt);
    const place =
      (await this.db.value<number>(
        `select count(*) from jobs j left join accounts a on a.community_id = j.community_id and a.user_id = j.user_id
          where j.community_id = ? and j.user_id = ? and j.moderated = 1 and j.finished_at >= ? and j.finished_at < ?
            and j.finished_at > coalesce(a.pardoned_at, -1) and (j.finished_at < ? or (j.finished_at = ? and j.id <= ?))`,
        [communityId, userId, startMs, endMs, finishedAt, finishedAt, jobId],
      )) ?? 0;
    const now = this.clock.now();
    const untilMs = nextPeriodStart(this.rule.period, finishedAt) ?? endMs;
    // Not the strike that paused them, or the pause is already over.
    if (place !== this.rule.count || untilMs <= now) return null;
    return (
      `Moderators: Runway's content moderation declined ${place} requests from ${userName} this ${this.rule.period}, so their /imagine is paused; ` +
      `it resumes ${formatWhen(untilMs, now)}. Runway bills declined requests and suspends accounts that send too many. ` +
      'To lift the pause sooner, use `/quota pardon`.'
    );
  }

  /** Moderated generations in the community this window, per member (most first): for `/quota report`. */
  communityStrikes(communityId: string): Promise<{ userId: string; displayName: string; strikes: number }[]> {
    const period = this.rule?.period ?? 'day';
    const { startMs, endMs } = periodRange(period, this.clock.now());
    return this.db.all(
      `select j.user_id as "userId", coalesce(a.display_name, j.user_id) as "displayName", count(*) as strikes
         from jobs j left join accounts a on a.community_id = j.community_id and a.user_id = j.user_id
        where j.community_id = ? and j.moderated = 1 and j.finished_at >= ? and j.finished_at < ?
        group by j.user_id, a.display_name order by strikes desc, j.user_id`,
      [communityId, startMs, endMs],
    );
  }

  /** Lift a member's pause: strikes before now stop counting. Returns how many were forgiven. */
  async pardon(communityId: string, userId: string, displayName: string): Promise<number> {
    const forgiven = (await this.standing(communityId, userId)).strikes;
    const now = this.clock.now();
    await this.db.run(
      `insert into accounts (community_id, user_id, display_name, allowance_period_key, pardoned_at) values (?, ?, ?, null, ?)
       on conflict (community_id, user_id) do update set pardoned_at = excluded.pardoned_at`,
      [communityId, userId, displayName, now],
    );
    return forgiven;
  }

  /** The community's blocked entries, normalised, in the order they were added. */
  blockedWords(communityId: string): Promise<string[]> {
    return blockedWordsOf(this.db, communityId);
  }

  /** Add entries (comma-separated phrases or single words); says which were new, known already, or unusable. */
  async addBlockedWords(communityId: string, entries: readonly string[], actorId: string): Promise<{ added: string[]; known: string[]; unusable: string[]; full: string[] }> {
    const result = { added: [] as string[], known: [] as string[], unusable: [] as string[], full: [] as string[] };
    await this.db.transaction(async (tx) => {
      const listed = new Set(await blockedWordsOf(tx, communityId));
      for (const raw of entries) {
        const entry = normaliseEntry(raw);
        if (entry === '' || entry.length > MAX_ENTRY_LENGTH) result.unusable.push(raw);
        else if (listed.has(entry)) result.known.push(entry);
        else if (listed.size >= MAX_BLOCKED_ENTRIES) result.full.push(entry);
        else {
          await tx.run('insert into blocked_words (community_id, word, added_by, added_at) values (?, ?, ?, ?) on conflict do nothing', [
            communityId,
            entry,
            actorId,
            this.clock.now(),
          ]);
          listed.add(entry);
          result.added.push(entry);
        }
      }
    });
    return result;
  }

  /** Remove entries; says which were removed and which were not on the list. */
  async removeBlockedWords(communityId: string, entries: readonly string[]): Promise<{ removed: string[]; missing: string[] }> {
    const result = { removed: [] as string[], missing: [] as string[] };
    await this.db.transaction(async (tx) => {
      for (const raw of entries) {
        const entry = normaliseEntry(raw);
        if (entry !== '' && (await tx.run('delete from blocked_words where community_id = ? and word = ?', [communityId, entry])).changes === 1) {
          result.removed.push(entry);
        } else result.missing.push(entry === '' ? raw : entry);
      }
    });
    return result;
  }
}

/** The community's blocked entries, in the order they were added (rowid: insertion order in both dialects). */
async function blockedWordsOf(db: Sql, communityId: string): Promise<string[]> {
  const rows = await db.all<{ word: string }>('select word from blocked_words where community_id = ? order by rowid', [communityId]);
  return rows.map((row) => row.word);
}

/** `moderation.blocked_word`: the prompt holds a word the community's moderators blocked. */
export function blockedWord(entry: string): Failure {
  return {
    code: 'moderation.blocked_word',
    userMessage: `Your prompt contains "${entry}", which this community's moderators don't allow. Nothing was charged; please rephrase it.`,
  };
}

/** `moderation.paused`: Runway declined this member's requests too often in the window. */
export function memberPaused(standing: Extract<MemberStanding, { paused: true }>, nowMs: number): Failure {
  return {
    code: 'moderation.paused',
    userMessage:
      `Runway's content moderation declined ${standing.strikes} of your requests recently, so /imagine is paused for you; it resumes ${formatWhen(standing.untilMs, nowMs)}. ` +
      'Nothing was charged. Please keep prompts within the rules; a moderator can lift the pause with `/quota pardon`.',
  };
}
