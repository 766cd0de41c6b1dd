/**
 * Every SQL statement the credit ledger runs, prepared once per connection. It holds no rules:
 * `ledger.ts` decides what to write and wraps these calls in its transactions. Parameterised only.
 */
import type Database from 'better-sqlite3';
import type { Db } from '../store/database.ts';
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

export class LedgerSql {
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  constructor(private readonly db: Db) {}

  /**
   * The member's last credited allowance period and the part of that top-up owed to credits held
   * across the boundary; undefined if we have never seen them.
   */
  account(communityId: string, userId: string): { key: string | null; topupFromHolds: number } | undefined {
    return this.sql<[string, string], { key: string | null; topupFromHolds: number }>(
      'select allowance_period_key as key, topup_from_holds as topupFromHolds from accounts where community_id = ? and user_id = ?',
    ).get(communityId, userId);
  }

  insertAccount(communityId: string, userId: string, displayName: string): void {
    this.sql('insert into accounts (community_id, user_id, display_name, allowance_period_key) values (?, ?, ?, null)')
      .run(communityId, userId, displayName);
  }

  renameAccount(communityId: string, userId: string, displayName: string): void {
    this.sql('update accounts set display_name = ? where community_id = ? and user_id = ? and display_name <> ?')
      .run(displayName, communityId, userId, displayName);
  }

  setAccountPeriodKey(communityId: string, userId: string, key: string, topupFromHolds: number): void {
    this.sql('update accounts set allowance_period_key = ?, topup_from_holds = ? where community_id = ? and user_id = ?')
      .run(key, topupFromHolds, communityId, userId);
  }

  setTopupFromHolds(communityId: string, userId: string, topupFromHolds: number): void {
    this.sql('update accounts set topup_from_holds = ? where community_id = ? and user_id = ?').run(topupFromHolds, communityId, userId);
  }

  displayName(communityId: string, userId: string): string | null {
    return (
      this.sql<[string, string], { name: string }>('select display_name as name from accounts where community_id = ? and user_id = ?')
        .get(communityId, userId)?.name ?? null
    );
  }

  balance(communityId: string, userId: string): number {
    return (
      this.sql<[string, string], { balance: number }>(
        'select coalesce(sum(delta), 0) as balance from ledger where community_id = ? and user_id = ?',
      ).get(communityId, userId)?.balance ?? 0
    );
  }

  /** Net credits on job entries whose job was reserved in [startMs, endMs): held or settled. */
  communitySpend(communityId: string, startMs: number, endMs: number): number {
    return (
      this.sql<[string, number, number], { spent: number }>(
        'select coalesce(-sum(delta), 0) as spent from ledger where community_id = ? and spend_at >= ? and spend_at < ?',
      ).get(communityId, startMs, endMs)?.spent ?? 0
    );
  }

  /** Net credits on every community's job entries reserved in [startMs, endMs): what the operator is billed for. */
  operatorSpend(startMs: number, endMs: number): number {
    return (
      this.sql<[number, number], { spent: number }>(
        'select coalesce(-sum(delta), 0) as spent from ledger where spend_at >= ? and spend_at < ?',
      ).get(startMs, endMs)?.spent ?? 0
    );
  }

  /** A member's spend on finished jobs reserved in [startMs, endMs). */
  finishedSpend(communityId: string, userId: string, startMs: number, endMs: number): number {
    return (
      this.sql<[string, string, number, number], { spent: number }>(
        `select coalesce(-sum(l.delta), 0) as spent from ledger l
          where l.community_id = ? and l.user_id = ? and l.job_id is not null and l.spend_at >= ? and l.spend_at < ? and ${FINISHED}`,
      ).get(communityId, userId, startMs, endMs)?.spent ?? 0
    );
  }

  /** Credits a member's running jobs hold, whenever they were reserved. */
  heldByMember(communityId: string, userId: string): number {
    return (
      this.sql<[string, string], { held: number }>(
        `select coalesce(-sum(l.delta), 0) as held from ledger l
          where l.community_id = ? and l.user_id = ? and l.job_id is not null and not ${FINISHED}`,
      ).get(communityId, userId)?.held ?? 0
    );
  }

  topSpenders(communityId: string, startMs: number, endMs: number, limit: number): { userId: string; displayName: string | null; spent: number }[] {
    return this.sql<[string, number, number, number], { userId: string; displayName: string | null; spent: number }>(
      `select l.user_id as userId, a.display_name as displayName, -sum(l.delta) as spent
         from ledger l left join accounts a on a.community_id = l.community_id and a.user_id = l.user_id
        where l.community_id = ? and l.spend_at >= ? and l.spend_at < ?
        group by l.user_id having spent > 0 order by spent desc, l.user_id limit ?`,
    ).all(communityId, startMs, endMs, limit);
  }

  /** Spend per model, and how many of its jobs settled (images made). */
  spendPerModel(communityId: string, startMs: number, endMs: number): { model: string; spent: number; images: number }[] {
    return this.sql<[string, number, number], { model: string; spent: number; images: number }>(
      `select model, -sum(delta) as spent, count(distinct case when kind = 'settle' then job_id end) as images
         from ledger where community_id = ? and spend_at >= ? and spend_at < ? and model is not null
        group by model having spent > 0 or images > 0 order by spent desc, model`,
    ).all(communityId, startMs, endMs);
  }

  jobEntries(jobId: string): JobEntry[] {
    return this.sql<[string], JobEntry>(
      'select kind, delta, community_id, user_id, model, spend_at from ledger where job_id = ? order by id',
    ).all(jobId);
  }

  insertEntry(e: NewEntry): void {
    this.sql(
      `insert into ledger (community_id, user_id, job_id, kind, delta, actor_id, note, model, spend_at, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(e.communityId, e.userId, e.jobId, e.kind, e.delta, e.actorId, e.note, e.model, e.spendAt, e.createdAt);
  }

  settings(communityId: string): SettingsRow | undefined {
    return this.sql<[string], SettingsRow>(
      `select allowance, allowance_period, cap, cap_period, budget, budget_period, blocked_at, blocked_note
         from community_settings where community_id = ?`,
    ).get(communityId);
  }

  saveAllowance(communityId: string, allowance: number, period: Period, actorId: string, atMs: number): void {
    this.sql(
      `insert into community_settings (community_id, allowance, allowance_period, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set allowance = excluded.allowance, allowance_period = excluded.allowance_period,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    ).run(communityId, allowance, period, actorId, atMs);
  }

  saveCap(communityId: string, cap: number | null, period: Period | null, actorId: string, atMs: number): void {
    this.sql(
      `insert into community_settings (community_id, cap, cap_period, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set cap = excluded.cap, cap_period = excluded.cap_period,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    ).run(communityId, cap, period, actorId, atMs);
  }

  saveBudget(communityId: string, budget: number | null, period: Period | null, actorId: string, atMs: number): void {
    this.sql(
      `insert into community_settings (community_id, budget, budget_period, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set budget = excluded.budget, budget_period = excluded.budget_period,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    ).run(communityId, budget, period, actorId, atMs);
  }

  saveBlocked(communityId: string, blockedAt: number | null, note: string | null, actorId: string, atMs: number): void {
    this.sql(
      `insert into community_settings (community_id, blocked_at, blocked_note, updated_by, updated_at) values (?, ?, ?, ?, ?)
       on conflict (community_id) do update set blocked_at = excluded.blocked_at, blocked_note = excluded.blocked_note,
         updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    ).run(communityId, blockedAt, note, actorId, atMs);
  }

  /** Prepared on first use and kept: compiling SQL on every call would dominate a reservation's cost. */
  private sql<P extends unknown[] = unknown[], R = unknown>(source: string): Database.Statement<P, R> {
    let statement = this.statements.get(source);
    if (!statement) {
      statement = this.db.prepare(source);
      this.statements.set(source, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }
}
