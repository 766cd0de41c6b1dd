/**
 * The credit ledger's public shapes: what callers pass in (`ReserveParams`, `ModeratorAction`) and
 * what they get back (outcomes, `/credits` and `/quota` views). The rules live in `ledger.ts`.
 */
import type { Period } from './periods.ts';

/** A spending limit per period: what the operator can be billed for, at one level. */
export interface Budget {
  readonly amount: number;
  readonly period: Period;
}

/**
 * What the operator configured: the allowance every community starts with, the budget each
 * community gets unless the operator sets another, and the operator's own budget across all of
 * them (null: unlimited, chosen explicitly with `off`).
 */
export interface CreditDefaults {
  readonly allowance: number;
  readonly period: Period;
  /** Absent or null: no budget at that level (the config gives every deployment finite ones). */
  readonly communityBudget?: Budget | null;
  readonly operatorBudget?: Budget | null;
}

export interface ReserveParams {
  readonly communityId: string;
  readonly userId: string;
  readonly displayName: string;
  readonly jobId: string;
  readonly model: string;
  readonly amount: number;
  /** The reservation time: the job's spend counts in the period containing it. */
  readonly atMs: number;
}

export type ReserveOutcome =
  | { ok: true; balanceAfter: number }
  | { ok: false; reason: 'insufficient_credits'; balance: number; price: number; resetsAt: number | null; allowance: number }
  | { ok: false; reason: 'community_cap'; capRemaining: number; price: number; resetsAt: number | null }
  /** The operator's budget for this community (COMMUNITY_BUDGET or the admin tool's) is spent. */
  | { ok: false; reason: 'community_budget'; remaining: number; price: number; period: Period; resetsAt: number | null }
  /** The operator's budget across every community (OPERATOR_BUDGET) is spent. */
  | { ok: false; reason: 'operator_budget'; remaining: number; price: number; period: Period; resetsAt: number | null };

export interface CreditsView {
  balance: number;
  allowance: number;
  period: Period;
  /** When the allowance next refills; null when the period is `none`. */
  resetsAt: number | null;
  /** Credits spent on finished jobs reserved in the current allowance period. */
  spentThisPeriod: number;
  /** Credits held by jobs still running. */
  heldNow: number;
  /** When this view was taken, for relative times ("refills in 3 h"). */
  asOf: number;
}

export interface CapView {
  amount: number;
  period: Period;
  /** Spend in the current cap period, including credits held by running jobs. */
  spent: number;
  remaining: number;
  resetsAt: number | null;
}

export interface CreditsReport {
  topSpenders: { userId: string; displayName: string; spent: number }[];
  spendPerModel: { model: string; spent: number; images: number }[];
  cap: CapView | null;
  /** The operator's budget for this community, which a moderator's cap can only lower. */
  budget: CapView | null;
  totalSpent: number;
  /** The period the report covers: the cap's if there is one, else the allowance's. */
  period: Period;
  /** Start of the covered period; null for `none` (all time). */
  periodStart: number | null;
  /** When this report was taken. */
  asOf: number;
}

export interface CommunitySettings {
  allowance: number;
  period: Period;
  /** The moderators' own cap (`/quota cap`), at most the budget. */
  cap: Budget | null;
  /** The operator's budget for the community: its own, else COMMUNITY_BUDGET; null: unlimited. */
  budget: Budget | null;
  /** Set when the operator blocked the community: it is refused like an unlisted one. */
  blocked: { atMs: number; note: string | null } | null;
}

export interface ModeratorAction {
  readonly communityId: string;
  readonly userId: string;
  readonly displayName?: string | undefined;
  readonly amount: number;
  /** The moderator's user id, recorded on the entry. */
  readonly actorId: string;
  readonly note?: string | undefined;
}

/** A moderator's cap is refused above the operator's budget for the community. */
export type SetCapOutcome = { ok: true; settings: CommunitySettings } | { ok: false; reason: 'above_budget'; budget: Budget };
