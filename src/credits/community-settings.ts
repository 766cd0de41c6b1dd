/**
 * What is set per community, by its moderators (`/quota allowance`, `/quota cap`) and by the
 * operator (`npm run admin -- budget|block`), read with the operator's defaults where unset.
 */
import type { Clock } from '../clock.ts';
import type { Sql } from '../store/sql.ts';
import { assertCredits } from './assert-credits.ts';
import { LedgerSql } from './ledger-sql.ts';
import type { Period } from './periods.ts';
import type { CommunitySettings, CreditDefaults, SetCapOutcome } from './types.ts';

export class CommunitySettingsStore {
  private readonly sql: LedgerSql;

  constructor(
    private readonly db: Sql,
    private readonly clock: Clock,
    private readonly defaults: CreditDefaults,
  ) {
    this.sql = new LedgerSql(db);
  }

  /** Change the community's allowance (and optionally its period); members get it at their next refill. */
  async setAllowance(p: { communityId: string; amount: number; period?: Period | undefined; actorId: string }): Promise<CommunitySettings> {
    assertCredits(p.amount, 'allowance');
    return this.write(async (s) => {
      const period = p.period ?? (await s.settings(p.communityId)).period;
      await s.sql.saveAllowance(p.communityId, p.amount, period, p.actorId, this.clock.now());
      return s.settings(p.communityId);
    });
  }

  /**
   * Set (amount) or remove (null) the community-wide spend cap. Without a period the cap keeps its
   * current one, or takes the allowance's.
   */
  async setCap(p: { communityId: string; amount: number | null; period?: Period | undefined; actorId: string }): Promise<SetCapOutcome> {
    if (p.amount !== null) assertCredits(p.amount, 'cap');
    return this.write(async (s): Promise<SetCapOutcome> => {
      const current = await s.settings(p.communityId);
      // The operator pays: a moderator's cap can only lower the budget the operator gave the community.
      if (p.amount !== null && current.budget && p.amount > current.budget.amount) return { ok: false, reason: 'above_budget', budget: current.budget };
      const period = p.amount === null ? null : (p.period ?? current.cap?.period ?? current.period);
      await s.sql.saveCap(p.communityId, p.amount, period, p.actorId, this.clock.now());
      return { ok: true, settings: await s.settings(p.communityId) };
    });
  }

  /** The operator sets a community's budget (null: back to COMMUNITY_BUDGET); the period defaults to the current one. */
  async setBudget(p: { communityId: string; amount: number | null; period?: Period | undefined; actorId: string }): Promise<CommunitySettings> {
    if (p.amount !== null) assertCredits(p.amount, 'budget');
    return this.write(async (s) => {
      const period = p.amount === null ? null : (p.period ?? (await s.settings(p.communityId)).budget?.period ?? this.defaults.communityBudget?.period ?? 'day');
      await s.sql.saveBudget(p.communityId, p.amount, period, p.actorId, this.clock.now());
      return s.settings(p.communityId);
    });
  }

  /** The operator blocks (or unblocks) a community: a blocked one is refused like an unlisted one. */
  setBlocked(p: { communityId: string; blocked: boolean; note?: string | undefined; actorId: string }): Promise<CommunitySettings> {
    return this.write(async (s) => {
      const now = this.clock.now();
      await s.sql.saveBlocked(p.communityId, p.blocked ? now : null, p.blocked ? (p.note ?? null) : null, p.actorId, now);
      return s.settings(p.communityId);
    });
  }

  /** The community's effective allowance, period, cap, budget and block (operator defaults where unset). */
  async settings(communityId: string): Promise<CommunitySettings> {
    const row = await this.sql.settings(communityId);
    const period = row?.allowance_period ?? this.defaults.period;
    return {
      allowance: row?.allowance ?? this.defaults.allowance,
      period,
      cap: row?.cap != null ? { amount: row.cap, period: row.cap_period ?? period } : null,
      budget: row?.budget != null ? { amount: row.budget, period: row.budget_period ?? this.defaults.communityBudget?.period ?? 'day' } : (this.defaults.communityBudget ?? null),
      blocked: row?.blocked_at != null ? { atMs: row.blocked_at, note: row.blocked_note } : null,
    };
  }

  /** One write transaction (a savepoint inside a caller's), on this store bound to it. */
  private write<T>(fn: (settings: CommunitySettingsStore) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new CommunitySettingsStore(tx, this.clock, this.defaults)));
  }
}
