/**
 * What is set per community, by its moderators (`/quota allowance`, `/quota cap`) and by the
 * operator (`npm run admin -- budget|block`), read with the operator's defaults where unset.
 */
import type { Clock } from '../clock.ts';
import type { Db } from '../store/database.ts';
import { assertCredits } from './assert-credits.ts';
import type { LedgerSql } from './ledger-sql.ts';
import type { Period } from './periods.ts';
import type { CommunitySettings, CreditDefaults, SetCapOutcome } from './types.ts';

export class CommunitySettingsStore {
  constructor(
    private readonly db: Db,
    private readonly sql: LedgerSql,
    private readonly clock: Clock,
    private readonly defaults: CreditDefaults,
  ) {}

  /** Change the community's allowance (and optionally its period); members get it at their next refill. */
  setAllowance(p: { communityId: string; amount: number; period?: Period | undefined; actorId: string }): CommunitySettings {
    assertCredits(p.amount, 'allowance');
    return this.write(() => {
      const period = p.period ?? this.settings(p.communityId).period;
      this.sql.saveAllowance(p.communityId, p.amount, period, p.actorId, this.clock.now());
      return this.settings(p.communityId);
    });
  }

  /**
   * Set (amount) or remove (null) the community-wide spend cap. Without a period the cap keeps its
   * current one, or takes the allowance's.
   */
  setCap(p: { communityId: string; amount: number | null; period?: Period | undefined; actorId: string }): SetCapOutcome {
    if (p.amount !== null) assertCredits(p.amount, 'cap');
    return this.write((): SetCapOutcome => {
      const current = this.settings(p.communityId);
      // The operator pays: a moderator's cap can only lower the budget the operator gave the community.
      if (p.amount !== null && current.budget && p.amount > current.budget.amount) return { ok: false, reason: 'above_budget', budget: current.budget };
      const period = p.amount === null ? null : (p.period ?? current.cap?.period ?? current.period);
      this.sql.saveCap(p.communityId, p.amount, period, p.actorId, this.clock.now());
      return { ok: true, settings: this.settings(p.communityId) };
    });
  }

  /** The operator sets a community's budget (null: back to COMMUNITY_BUDGET); the period defaults to the current one. */
  setBudget(p: { communityId: string; amount: number | null; period?: Period | undefined; actorId: string }): CommunitySettings {
    if (p.amount !== null) assertCredits(p.amount, 'budget');
    return this.write(() => {
      const period = p.amount === null ? null : (p.period ?? this.settings(p.communityId).budget?.period ?? this.defaults.communityBudget?.period ?? 'day');
      this.sql.saveBudget(p.communityId, p.amount, period, p.actorId, this.clock.now());
      return this.settings(p.communityId);
    });
  }

  /** The operator blocks (or unblocks) a community: a blocked one is refused like an unlisted one. */
  setBlocked(p: { communityId: string; blocked: boolean; note?: string | undefined; actorId: string }): CommunitySettings {
    return this.write(() => {
      const now = this.clock.now();
      this.sql.saveBlocked(p.communityId, p.blocked ? now : null, p.blocked ? (p.note ?? null) : null, p.actorId, now);
      return this.settings(p.communityId);
    });
  }

  /** The community's effective allowance, period, cap, budget and block (operator defaults where unset). */
  settings(communityId: string): CommunitySettings {
    const row = this.sql.settings(communityId);
    const period = row?.allowance_period ?? this.defaults.period;
    return {
      allowance: row?.allowance ?? this.defaults.allowance,
      period,
      cap: row?.cap != null ? { amount: row.cap, period: row.cap_period ?? period } : null,
      budget: row?.budget != null ? { amount: row.budget, period: row.budget_period ?? this.defaults.communityBudget?.period ?? 'day' } : (this.defaults.communityBudget ?? null),
      blocked: row?.blocked_at != null ? { atMs: row.blocked_at, note: row.blocked_note } : null,
    };
  }

  /** One IMMEDIATE transaction, nested as a savepoint inside a caller's. */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
