/**
 * Every SQL statement the credit ledger runs, prepared once per connection. It holds no rules:
 * `ledger.ts` decides what to write and wraps these calls in its transactions. Parameterised only.
 */
import type { Positional, Sql } from '../store/sql.ts';
import type { Period } from './periods.ts';

export type EntryKind = 'allowance' | 'grant' | 'set' | 'reserve' | 'adjust' | 'settle' | 'refund';

/** The fields of a job's entry that later entries of the same job copy. */
export interface JobEntry {
  kind: EntryKind;
  delta: number;
  community_id: string;
  user_id: string;
  model: string | null;
  spend_at: number | null;
}

export interface SettingsRow {
  allowance: number | null;
  allowance_period: Period | null;
  cap: number | null;
  cap_period: Period | null;
  budget: number | null;
  budget_period: Period | null;
  blocked_at: number | null;
  blocked_note: string | null;
}

export interface NewEntry {
  communityId: string;
  userId: string;
  jobId: string | null;
  kind: EntryKind;
  delta: number;
  actorId: string;
  note: string;
  model: string | null;
  spendAt: number | null;
  createdAt: number;
}

/** Entries of jobs that have settled or been refunded: what counts as spent rather than held. */
const FINISHED = `exists (select 1 from ledger f where f.job_id = l.job_id and f.kind in ('settle','refund'))`;

/** The ledger's statements on one executor: the database, or the transaction they are part of. */
export class LedgerSql {
  constructor(private readonly db: Sql) {}

  /**
   * The member's last credited allowance period and the part of that top-up owed to credits held
   * across the boundary; undefined if we have never seen them.
   */
  account(communityId: string, userId: string): Promise<{ key: string | null; topupFromHolds: number } | undefined> {
    return this.db.get('select allowance_period_key as key, topup_from_holds as "topupFromHolds" from accounts where community_id = ? and user_id = ?', [
      communityId,
      userId,
    ]);
  }

  async insertAccount(communityId: string, userId: string, displayName: string): Promise<void> {
    await this.db.run('insert into accounts (community_id, user_id, display_name, allowance_period_key) values (?, ?, ?, null)', [communityId, userId, displayName]);
  }

  async renameAccount(communityId: string, userId: string, displayName: string): Promise<void> {
    await this.db.run('update accounts set display_name = ? where community_id = ? and user_id = ? and display_name <> ?', [
      displayName,
      communityId,
      userId,
      displayName,
    ]);
  }

  async setAccountPeriodKey(communityId: string, userId: string, key: string, topupFromHolds: number): Promise<void> {
    await this.db.run('update accounts set allowance_period_key = ?, topup_from_holds = ? where community_id = ? and user_id = ?', [
      key,
      topupFromHolds,
      communityId,
      userId,
    ]);
  }

  async setTopupFromHolds(communityId: string, userId: string, topupFromHolds: number): Promise<void> {
    await this.db.run('update accounts set topup_from_holds = ? where community_id = ? and user_id = ?', [topupFromHolds, communityId, userId]);
  }

  async displayName(communityId: string, userId: string): Promise<string | null> {
    return (await this.db.value<string>('select display_name from accounts where community_id = ? and user_id = ?', [communityId, userId])) ?? null;
  }

  balance(communityId: string, userId: string): Promise<number> {
    return this.number('select coalesce(sum(delta), 0) from ledger where community_id = ? and user_id = ?', [communityId, userId]);
  }

  /** Net credits on job entries whose job was reserved in [startMs, endMs): held or settled. */
  communitySpend(communityId: string, startMs: number, endMs: number): Promise<number> {
    return this.number('select coalesce(-sum(delta), 0) from ledger where community_id = ? and spend_at >= ? and spend_at < ?', [communityId, startMs, endMs]);
  }

  /** Net credits on every community's job entries reserved in [startMs, endMs): what the operator is billed for. */
  operatorSpend(startMs: number, endMs: number): Promise<number> {
    return this.number('select coalesce(-sum(delta), 0) from ledger where spend_at >= ? and spend_at < ?', [startMs, endMs]);
  }

  /** A member's spend on finished jobs reserved in [startMs, endMs). */
  finishedSpend(communityId: string, userId: string, startMs: number, endMs: number): Promise<number> {
    return this.number(
      `select coalesce(-sum(l.delta), 0) from ledger l
        where l.community_id = ? and l.user_id = ? and l.job_id is not null and l.spend_at >= ? and l.spend_at < ? and ${FINISHED}`,
      [communityId, userId, startMs, endMs],
    );
  }

  /** Credits a member's running jobs hold, whenever they were reserved. */
  heldByMember(communityId: string, userId: string): Promise<number> {
    return this.number(
      `select coalesce(-sum(l.delta), 0) from ledger l
        where l.community_id = ? and l.user_id = ? and l.job_id is not null and not ${FINISHED}`,
      [communityId, userId],
    );
  }

  /** Credits held by a member's unfinished jobs reserved before `beforeMs`. */
  heldByMemberBefore(communityId: string, userId: string, beforeMs: number): Promise<number> {
    return this.number(
      `select coalesce(-sum(l.delta), 0) from ledger l
        where l.community_id = ? and l.user_id = ? and l.job_id is not null and l.spend_at < ? and not ${FINISHED}`,
      [communityId, userId, beforeMs],
    );
  }

  /** When the member's allowance was last topped up (an `allowance` entry that added credits), or null. */
  async lastTopUpAt(communityId: string, userId: string): Promise<number | null> {
    return (
      (await this.db.value<number | null>(
        "select max(created_at) from ledger where community_id = ? and user_id = ? and kind = 'allowance' and delta > 0",
        [communityId, userId],
      )) ?? null
    );
  }

  topSpenders(communityId: string, startMs: number, endMs: number, limit: number): Promise<{ userId: string; displayName: string | null; spent: number }[]> {
    return this.db.all(
      `select l.user_id as "userId", a.display_name as "displayName", -sum(l.delta) as spent
         from ledger l left join accounts a on a.community_id = l.community_id and a.user_id = l.user_id
        where l.community_id = ? and l.spend_at >= ? and l.spend_at < ?
        group by l.user_id, a.display_name having -sum(l.delta) > 0 order by spent desc, l.user_id limit ?`,
      [communityId, startMs, endMs, limit],
    );
  }

  /** Spend per model, and how many of its jobs settled (images made). */
  spendPerModel(communityId: string, startMs: number, endMs: number): Promise<{ model: string; spent: number; images: number }[]> {
    return this.db.all(
      `select model, -sum(delta) as spent, count(distinct case when kind = 'settle' then job_id end) as images
         from ledger where community_id = ? and spend_at >= ? and spend_at < ? and model is not null
        group by model having -sum(delta) > 0 or count(distinct case when kind = 'settle' then job_id end) > 0
        order by spent desc, model`,
      [communityId, startMs, endMs],
    );
  }

  jobEntries(jobId: string): Promise<JobEntry[]> {
    return this.db.all('select kind, delta, community_id, user_id, model, spend_at from ledger where job_id = ? order by id', [jobId]);
  }

  async insertEntry(e: NewEntry): Promise<void> {
    await this.db.run(
      `insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [e.communityId, e.userId, e.jobId, e.kind, e.delta, e.actorId, e.note, e.model, e.spendAt, e.createdAt],
    );
  }

  settings(communityId: string): Promise<SettingsRow | undefined> {
    return this.db.get(
      `select allowance, allowance_period, cap, cap_period, budget, budget_period, blocked_at, blocked_note
         from community_settings where community_id = ?`,
      [communityId],
    );
  }

  async saveAllowance(communityId: string, allowance: number, period: Period, actorId: string, atMs: number): Promise<void> {
    await this.db.run(
      `insert into community_settings (community_id, allowance, allowance_period, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set allowance = excluded.allowance, allowance_period = excluded.allowance_period,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      [communityId, allowance, period, actorId, atMs],
    );
  }

  async saveCap(communityId: string, cap: number | null, period: Period | null, actorId: string, atMs: number): Promise<void> {
    await this.db.run(
      `insert into community_settings (community_id, cap, cap_period, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set cap = excluded.cap, cap_period = excluded.cap_period,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      [communityId, cap, period, actorId, atMs],
    );
  }

  async saveBudget(communityId: string, budget: number | null, period: Period | null, actorId: string, atMs: number): Promise<void> {
    await this.db.run(
      `insert into community_settings (community_id, budget, budget_period, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set budget = excluded.budget, budget_period = excluded.budget_period,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      [communityId, budget, period, actorId, atMs],
    );
  }

  async saveBlocked(communityId: string, blockedAt: number | null, note: string | null, actorId: string, atMs: number): Promise<void> {
    await this.db.run(
      `insert into community_settings (community_id, blocked_at, blocked_note, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set blocked_at = excluded.blocked_at, blocked_note = excluded.blocked_note,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      [communityId, blockedAt, note, actorId, atMs],
    );
  }

  private async number(text: string, params: Positional): Promise<number> {
    return (await this.db.value<number>(text, params)) ?? 0;
  }
}
