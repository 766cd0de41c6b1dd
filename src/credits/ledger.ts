/**
 * The credit ledger: every credit a community member has, gets, holds or spends, as append-only
 * entries in the `ledger` table. Semantics (quoted by the README):
 *
 * Credits are whole numbers. A member's balance in a community is the sum of their entries' `delta`.
 * Each community has an allowance and a period (`day`, `week`, `month` or `none`; the operator's
 * DEFAULT_ALLOWANCE / DEFAULT_PERIOD until a moderator runs `/quota allowance`). Periods are UTC: a
 * calendar day, an ISO week starting Monday, a calendar month. Roll-over is lazy: the first time a
 * member is touched in a new period, one `allowance` entry tops their balance back UP to the
 * allowance (never down: moderator grants above it are kept, and unused allowance does not pile
 * up). With `none` the allowance is credited once, on first sight, and never refilled. An image's
 * price is `reserve`d before Runway is called, `adjust`ed to Runway's estimate (which wins, even if
 * the balance dips below 0), and finally `settle`d at the real cost (the difference comes back) or
 * `refund`ed in full when the generation fails. A reservation needs balance ≥ price and, if the
 * community has a cap, community spend in the cap period + price ≤ cap; both checks and the entry
 * happen in one IMMEDIATE transaction, so no number of concurrent reservations, even from several
 * processes on one database file, can overspend a balance or the cap. Spend (held or settled) is
 * attributed to the period in which the job was reserved (`spend_at`). Moderators can `grant`
 * credits or `set` a balance; allowance changes take effect at each member's next refill.
 * Settling or refunding a job twice changes nothing. Every entry names its actor ('system' for the
 * bot, else the moderator's user id) and carries a note.
 */
import type { Clock } from '../clock.ts';
import type { Sql } from '../store/sql.ts';
import { alreadyReserved, noReservation, readJobMoney, settledCharge, type JobMoney } from './job-money.ts';
import { LedgerSql, type EntryKind, type JobEntry, type NewEntry } from './ledger-sql.ts';
import { nextPeriodStart, periodKey, periodRange, periodStart, type Period } from './periods.ts';
import { assertCredits } from './assert-credits.ts';
import { CommunitySettingsStore } from './community-settings.ts';
import type { Budget, CapView, CommunitySettings, CreditDefaults, CreditsReport, CreditsView, ModeratorAction, ReserveOutcome, ReserveParams } from './types.ts';

export type { Period } from './periods.ts';
export type * from './types.ts';

const SYSTEM = 'system';
const TOP_SPENDERS = 10;

export class CreditLedger {
  private readonly sql: LedgerSql;
  /** What moderators and the operator set per community: allowance, cap, budget, block. */
  readonly communities: CommunitySettingsStore;

  constructor(
    private readonly db: Sql,
    private readonly clock: Clock,
    private readonly defaults: CreditDefaults,
  ) {
    assertCredits(defaults.allowance, 'default allowance');
    if (defaults.communityBudget) assertCredits(defaults.communityBudget.amount, 'default community budget');
    if (defaults.operatorBudget) assertCredits(defaults.operatorBudget.amount, 'operator budget');
    this.sql = new LedgerSql(db);
    this.communities = new CommunitySettingsStore(db, clock, defaults);
  }

  /** This ledger inside the caller's transaction `tx`: its writes commit or roll back with the caller's. */
  within(tx: Sql): CreditLedger {
    return new CreditLedger(tx, this.clock, this.defaults);
  }

  /**
   * Hold `amount` credits for a job, or say why not. Composes with the caller's transaction
   * (`within(tx)`: a savepoint); alone it takes the write lock before reading.
   */
  async reserve(p: ReserveParams): Promise<ReserveOutcome> {
    assertCredits(p.amount, 'reservation');
    return this.write(async (l): Promise<ReserveOutcome> => {
      if ((await l.jobMoney(p.jobId)).state !== 'none') throw alreadyReserved(p.jobId);
      const settings = await l.settings(p.communityId);
      const balance = await l.rollOver(p.communityId, p.userId, p.displayName, settings);
      if (balance < p.amount) {
        return {
          ok: false,
          reason: 'insufficient_credits',
          balance,
          price: p.amount,
          resetsAt: nextPeriodStart(settings.period, this.clock.now()),
          allowance: settings.allowance,
        };
      }
      if (settings.cap) {
        const spent = await l.communitySpend(p.communityId, settings.cap.period, p.atMs);
        if (spent + p.amount > settings.cap.amount) {
          return {
            ok: false,
            reason: 'community_cap',
            capRemaining: Math.max(0, settings.cap.amount - spent),
            price: p.amount,
            resetsAt: nextPeriodStart(settings.cap.period, p.atMs),
          };
        }
      }
      if (settings.budget) {
        const remaining = settings.budget.amount - (await l.communitySpend(p.communityId, settings.budget.period, p.atMs));
        if (p.amount > remaining) return budgetSpent('community_budget', settings.budget, remaining, p);
      }
      const operator = this.defaults.operatorBudget;
      if (operator) {
        const { startMs, endMs } = periodRange(operator.period, p.atMs);
        const remaining = operator.amount - (await l.sql.operatorSpend(startMs, endMs));
        if (p.amount > remaining) return budgetSpent('operator_budget', operator, remaining, p);
      }
      await l.insertEntry({
        communityId: p.communityId, userId: p.userId, jobId: p.jobId, kind: 'reserve', delta: 0 - p.amount,
        actorId: SYSTEM, note: `reserved ${p.amount} for ${p.model}`, model: p.model, spendAt: p.atMs,
      });
      return { ok: true, balanceAfter: balance - p.amount };
    });
  }

  /** Move a running job's hold to Runway's estimate (it wins, even past the balance). No-op once finished. */
  async adjust(jobId: string, newHeld: number, note: string): Promise<void> {
    assertCredits(newHeld, 'adjusted hold');
    return this.write(async (l) => {
      const money = await l.requireReserved(jobId, 'adjust');
      if (money.state !== 'held' || money.held === newHeld) return;
      await l.insertJobEntry(money.reserve, jobId, 'adjust', money.held - newHeld, note);
    });
  }

  /** Charge a job its final cost and return the rest of the hold. Settling twice changes nothing. */
  async settle(jobId: string, finalCostCredits: number): Promise<void> {
    assertCredits(finalCostCredits, 'final cost');
    return this.write(async (l) => {
      const money = finalCostCredits === 0 ? await l.jobMoney(jobId) : await l.requireReserved(jobId, 'settle');
      // Even a zero-delta settle is written: it marks the job finished, which is what makes this idempotent.
      if (money.state !== 'held') return;
      await l.insertJobEntry(money.reserve, jobId, 'settle', money.held - finalCostCredits, `final cost ${finalCostCredits}`);
    });
  }

  /** Return everything a job holds. Refunding twice, or a job never charged, changes nothing. */
  refund(jobId: string, note: string): Promise<void> {
    return this.write(async (l) => {
      const money = await l.jobMoney(jobId);
      if (money.state !== 'held') return;
      await l.insertJobEntry(money.reserve, jobId, 'refund', money.held, note);
    });
  }

  /**
   * Give back what a settled job was charged, once: its image was made but never reached the chat,
   * and a job that fails costs nothing. A job not settled, or already refunded, changes nothing.
   */
  refundSettled(jobId: string, note: string): Promise<void> {
    return this.write(async (l) => {
      const settled = settledCharge(await l.sql.jobEntries(jobId));
      if (settled && settled.charged > 0) await l.insertJobEntry(settled.reserve, jobId, 'refund', settled.charged, note);
    });
  }

  /** Credits a job holds right now: 0 before its reservation and after it settles or is refunded. */
  async heldFor(jobId: string): Promise<number> {
    const money = await this.jobMoney(jobId);
    return money.state === 'held' ? money.held : 0;
  }

  /** A member's balance, after crediting this period's allowance if they have not had it yet. */
  balance(communityId: string, userId: string, displayName?: string): Promise<number> {
    return this.write(async (l) => l.rollOver(communityId, userId, displayName, await l.settings(communityId)));
  }

  /** Everything `/credits` shows about one member. */
  creditsView(communityId: string, userId: string, displayName?: string): Promise<CreditsView> {
    return this.write(async (l) => {
      const settings = await l.settings(communityId);
      const balance = await l.rollOver(communityId, userId, displayName, settings);
      const now = this.clock.now();
      const { startMs, endMs } = periodRange(settings.period, now);
      return {
        balance,
        allowance: settings.allowance,
        period: settings.period,
        resetsAt: nextPeriodStart(settings.period, now),
        spentThisPeriod: await l.sql.finishedSpend(communityId, userId, startMs, endMs),
        heldNow: await l.sql.heldByMember(communityId, userId),
        asOf: now,
      };
    });
  }

  /** Top spenders, spend per model and the cap, for the current cap (or allowance) period. */
  async report(communityId: string): Promise<CreditsReport> {
    const settings = await this.settings(communityId);
    const now = this.clock.now();
    const period = settings.cap?.period ?? settings.period;
    const { startMs, endMs } = periodRange(period, now);
    const topSpenders = (await this.sql.topSpenders(communityId, startMs, endMs, TOP_SPENDERS)).map((row) => ({
      userId: row.userId,
      displayName: row.displayName ?? row.userId,
      spent: row.spent,
    }));
    const totalSpent = await this.communitySpend(communityId, period, now);
    return {
      topSpenders,
      spendPerModel: await this.sql.spendPerModel(communityId, startMs, endMs),
      cap: settings.cap ? await this.limitView(communityId, settings.cap, now) : null,
      budget: settings.budget ? await this.limitView(communityId, settings.budget, now) : null,
      totalSpent,
      period,
      periodStart: periodStart(period, now),
      asOf: now,
    };
  }

  /** Spend against one community limit (a cap or a budget) in its current period. */
  private async limitView(communityId: string, limit: Budget, now: number): Promise<CapView> {
    const spent = await this.communitySpend(communityId, limit.period, now);
    return { amount: limit.amount, period: limit.period, spent, remaining: Math.max(0, limit.amount - spent), resetsAt: nextPeriodStart(limit.period, now) };
  }

  /** The operator's budget across every community, with what is spent in its current period; null when unlimited. */
  async operatorBudgetView(): Promise<CapView | null> {
    const budget = this.defaults.operatorBudget;
    if (!budget) return null;
    const now = this.clock.now();
    const { startMs, endMs } = periodRange(budget.period, now);
    const spent = await this.sql.operatorSpend(startMs, endMs);
    return { amount: budget.amount, period: budget.period, spent, remaining: Math.max(0, budget.amount - spent), resetsAt: nextPeriodStart(budget.period, now) };
  }

  /** Add credits to a member's balance (on top of their allowance). */
  async grant(p: ModeratorAction): Promise<{ balanceAfter: number }> {
    assertCredits(p.amount, 'grant');
    return this.write(async (l) => {
      const balance = await l.rollOver(p.communityId, p.userId, p.displayName, await l.settings(p.communityId));
      await l.insertEntry({
        communityId: p.communityId, userId: p.userId, jobId: null, kind: 'grant', delta: p.amount,
        actorId: p.actorId, note: p.note ?? `granted ${p.amount}`, model: null, spendAt: null,
      });
      return { balanceAfter: balance + p.amount };
    });
  }

  /** Make a member's balance exactly `amount`, recorded as one `set` entry of the difference. */
  async set(p: ModeratorAction): Promise<{ balanceAfter: number; delta: number }> {
    assertCredits(p.amount, 'balance');
    return this.write(async (l) => {
      const balance = await l.rollOver(p.communityId, p.userId, p.displayName, await l.settings(p.communityId));
      const delta = p.amount - balance;
      // Written even when delta is 0: the moderator's decision is part of the record.
      await l.insertEntry({
        communityId: p.communityId, userId: p.userId, jobId: null, kind: 'set', delta,
        actorId: p.actorId, note: p.note ?? `set to ${p.amount}`, model: null, spendAt: null,
      });
      return { balanceAfter: p.amount, delta };
    });
  }

  /** The community's effective allowance, period, cap, budget and block (operator defaults where unset). */
  settings(communityId: string): Promise<CommunitySettings> {
    return this.communities.settings(communityId);
  }

  /** The name we last saw a member under, for messages about them; null if never seen. */
  displayNameOf(communityId: string, userId: string): Promise<string | null> {
    return this.sql.displayName(communityId, userId);
  }

  /**
   * Run `fn` as one write transaction, on this ledger bound to it: the write lock is taken before
   * the first read, so another process cannot commit between our balance check and our insert;
   * inside a caller's transaction it is a savepoint, and the caller's lock covers it.
   */
  private write<T>(fn: (ledger: CreditLedger) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(this.within(tx)));
  }

  /** Record the member (refreshing their name) and credit the current period's allowance if due. Returns the balance. */
  private async rollOver(communityId: string, userId: string, displayName: string | undefined, settings: CommunitySettings): Promise<number> {
    const account = await this.sql.account(communityId, userId);
    if (!account) await this.sql.insertAccount(communityId, userId, displayName ?? userId);
    else if (displayName !== undefined) await this.sql.renameAccount(communityId, userId, displayName);
    const balance = await this.sql.balance(communityId, userId);
    const key = periodKey(settings.period, this.clock.now());
    if (account?.key === key) return balance;
    // Top up, never down: grants above the allowance are kept and unused allowance does not pile up.
    const topUp = Math.max(0, settings.allowance - balance);
    // Credits held across the boundary count as spent here; if their jobs give them back later,
    // the part of this top-up they caused is taken back then (see returnToMember). A hold that
    // spans several boundaries keeps what earlier top-ups owed it.
    const held = await this.sql.heldByMember(communityId, userId);
    const owedToHolds = Math.min(held, topUp - Math.max(0, settings.allowance - balance - held) + (account?.topupFromHolds ?? 0));
    await this.sql.setAccountPeriodKey(communityId, userId, key, owedToHolds);
    if (topUp === 0) return balance;
    await this.insertEntry({
      communityId, userId, jobId: null, kind: 'allowance', delta: topUp,
      actorId: SYSTEM, note: `allowance for ${key}`, model: null, spendAt: null,
    });
    return balance + topUp;
  }

  /** Net credits spent (held or settled) on jobs reserved in the period containing `atMs`. */
  private communitySpend(communityId: string, period: Period, atMs: number): Promise<number> {
    const { startMs, endMs } = periodRange(period, atMs);
    return this.sql.communitySpend(communityId, startMs, endMs);
  }

  private async jobMoney(jobId: string): Promise<JobMoney> {
    return readJobMoney(await this.sql.jobEntries(jobId));
  }

  private async requireReserved(jobId: string, what: string): Promise<JobMoney> {
    const money = await this.jobMoney(jobId);
    if (money.state === 'none') throw noReservation(jobId, what);
    return money;
  }

  /** A job entry inherits the reservation's member, model and spend time. */
  private async insertJobEntry(reserve: JobEntry, jobId: string, kind: EntryKind, delta: number, note: string): Promise<void> {
    await this.insertEntry({
      communityId: reserve.community_id, userId: reserve.user_id, jobId, kind, delta,
      actorId: SYSTEM, note, model: reserve.model, spendAt: reserve.spend_at,
    });
    await this.takeBackTopUpOwedToHold(reserve, delta);
  }

  /**
   * A job gave back `returned` credits (0 when it settled at its hold; less than 0 when its hold
   * grew). If it was held when the member's allowance was last topped up, that top-up already made
   * up for them, so the part of it they caused is taken back: a refund never lifts a balance above
   * what it would have been without the hold. What stays owed is owed to the holds that top-up saw
   * and that are still held: once they have ended, nothing.
   */
  private async takeBackTopUpOwedToHold(reserve: JobEntry, returned: number): Promise<void> {
    const { community_id: communityId, user_id: userId } = reserve;
    if (reserve.spend_at === null) return;
    const account = await this.sql.account(communityId, userId);
    if (!account || account.topupFromHolds === 0) return;
    // Only a top-up adds to what is owed (a period whose top-up was 0 adds nothing), so the last
    // one saw every hold that is owed for. It came at the member's first touch in its period: it
    // saw the holds reserved before that period began, and a job reserved since was seen by none.
    const toppedUpAt = await this.sql.lastTopUpAt(communityId, userId);
    const seenBefore = toppedUpAt === null ? null : periodStart((await this.settings(communityId)).period, toppedUpAt);
    if (seenBefore === null || reserve.spend_at >= seenBefore) return;
    const takeBack = Math.min(Math.max(0, returned), account.topupFromHolds);
    // Left owed, it would be taken back from a later refund that no top-up ever made up for.
    const owed = Math.min(account.topupFromHolds - takeBack, await this.sql.heldByMemberBefore(communityId, userId, seenBefore));
    if (owed !== account.topupFromHolds) await this.sql.setTopupFromHolds(communityId, userId, owed);
    if (takeBack === 0) return;
    await this.insertEntry({
      communityId, userId, jobId: null, kind: 'allowance', delta: -takeBack,
      actorId: SYSTEM, note: `returned credits were already covered by the allowance for ${account.key}`, model: null, spendAt: null,
    });
  }

  private async insertEntry(e: Omit<NewEntry, 'createdAt'>): Promise<void> {
    await this.sql.insertEntry({ ...e, createdAt: this.clock.now() });
  }
}

/** A reservation refused because a budget at the operator's level is spent. */
function budgetSpent(reason: 'community_budget' | 'operator_budget', budget: Budget, remaining: number, p: ReserveParams): ReserveOutcome {
  return { ok: false, reason, remaining: Math.max(0, remaining), price: p.amount, period: budget.period, resetsAt: nextPeriodStart(budget.period, p.atMs) };
}
