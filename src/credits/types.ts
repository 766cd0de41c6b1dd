/**
 * The credit ledger's public shapes: what callers pass in (`ReserveParams`, `ModeratorAction`) and
 * what they get back (outcomes, `/credits` and `/quota` views). The rules live in `ledger.ts`.
 */
import type { Period } from './periods.ts';

/** What the operator configured: the allowance every community starts with. */
export interface CreditDefaults {
  readonly allowance: number;
  readonly period: Period;
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
  | { ok: false; reason: 'community_cap'; capRemaining: number; price: number; resetsAt: number | null };

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
  cap: { amount: number; period: Period } | null;
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
