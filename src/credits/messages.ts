/**
 * The sentences the credit rules say to people: plain text with `code` spans, numbers included,
 * so every platform can show them as they are.
 */
import type { Failure } from '../errors.ts';
import type { Period } from './periods.ts';

/** "1 credit", "5 credits", "1,000 credits". */
export function formatCredits(amount: number): string {
  return `${amount.toLocaleString('en-US')} ${Math.abs(amount) === 1 ? 'credit' : 'credits'}`;
}

/** An absolute UTC time everyone in a community reads the same way: `2026-01-05 00:00 UTC`. */
export function formatUtc(atMs: number): string {
  const iso = new Date(atMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "in 3 h 20 min (2026-01-05 00:00 UTC)": relative for the reader, absolute to remove any doubt. */
export function formatWhen(atMs: number, nowMs: number): string {
  const minutes = Math.max(1, Math.ceil((atMs - nowMs) / 60_000));
  let relative: string;
  if (minutes < 60) relative = `${minutes} min`;
  else if (minutes < 48 * 60) {
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    relative = rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  } else relative = `${Math.round(minutes / (24 * 60))} days`;
  return `in ${relative} (${formatUtc(atMs)})`;
}

/** "day" → "today", for sentences about the current period. */
export function describeCurrentPeriod(period: Period): string {
  switch (period) {
    case 'day':
      return 'today';
    case 'week':
      return 'this week';
    case 'month':
      return 'this month';
    case 'none':
      return 'so far';
  }
}

export interface InsufficientCreditsInput {
  readonly balance: number;
  readonly price: number;
  readonly modelId: string;
  readonly ratio: string;
  /** Ready-made hints such as "`gen4_image` at 1280:720 (5 credits)", cheapest first. */
  readonly cheaperOptions: readonly string[];
  readonly resetsAt: number | null;
  readonly allowance: number;
  /** Now, for the relative refill time ("in 3 h"). */
  readonly nowMs: number;
}

/**
 * `credits.insufficient`: "You have 3 credits; this image costs 5 (`gen4_image` at 1920:1080).
 * Cheaper: … Your balance refills to 50 credits in 3 h (…)." Nothing has been charged when this is shown.
 */
export function insufficientCredits(p: InsufficientCreditsInput): Failure {
  const lines = [
    `You have ${formatCredits(p.balance)}; this image costs ${p.price} (\`${p.modelId}\` at ${p.ratio}). Nothing was charged.`,
  ];
  const affordable = p.cheaperOptions.filter((option) => option.trim() !== '');
  if (affordable.length > 0) lines.push(`Cheaper: ${affordable.join(', ')}.`);
  if (p.resetsAt === null) {
    lines.push('Your allowance does not refill on its own: a moderator can add credits with `/quota grant`.');
  } else if (p.allowance < p.price) {
    // Waiting would not help: say so rather than promise a refill that still falls short.
    lines.push(
      `Even a full allowance (${formatCredits(p.allowance)}) is less than this image costs: pick a cheaper option or ask a moderator for a \`/quota grant\`.`,
    );
  } else {
    lines.push(`Your balance refills to ${formatCredits(p.allowance)} ${formatWhen(p.resetsAt, p.nowMs)}.`);
  }
  return { code: 'credits.insufficient', userMessage: lines.join('\n') };
}

export interface CommunityCapInput {
  readonly capRemaining: number;
  readonly price: number;
  readonly resetsAt: number | null;
  readonly period?: Period | undefined;
  readonly nowMs: number;
}

/** `credits.community_cap`: the whole community has used its shared budget; how much is left and when it resets. */
export function communityCapReached(p: CommunityCapInput): Failure {
  const when = p.period ? ` ${describeCurrentPeriod(p.period)}` : '';
  const lines = [
    `This community has used its shared image budget${when}: ${formatCredits(p.capRemaining)} left, and this image costs ${p.price}. Nothing was charged.`,
  ];
  lines.push(
    p.resetsAt !== null
      ? `The budget resets ${formatWhen(p.resetsAt, p.nowMs)}; a cheaper option may still fit.`
      : 'It does not reset on its own: a moderator can raise it with `/quota cap`.',
  );
  return { code: 'credits.community_cap', userMessage: lines.join('\n') };
}

export interface BudgetSpentInput {
  readonly remaining: number;
  readonly price: number;
  readonly period: Period;
  readonly resetsAt: number | null;
  readonly nowMs: number;
}

/** `credits.community_budget`: the operator's budget for this community is spent; no member of it can start an image. */
export function communityBudgetSpent(p: BudgetSpentInput): Failure {
  const left = p.remaining > 0 ? ` (${formatCredits(p.remaining)} left, and this image costs ${p.price})` : '';
  return {
    code: 'credits.community_budget',
    userMessage: [
      `This community has reached the image budget the bot's operator set for it ${describeCurrentPeriod(p.period)}${left}. Nothing was charged.`,
      p.resetsAt !== null ? `It refills ${formatWhen(p.resetsAt, p.nowMs)}; try again then.` : "It does not refill on its own: ask the bot's operator to raise it.",
    ].join('\n'),
  };
}

/** `credits.operator_budget`: the operator's budget across every community is spent; nobody can start an image until it refills. */
export function operatorBudgetSpent(p: BudgetSpentInput): Failure {
  const left = p.remaining > 0 ? ` (${formatCredits(p.remaining)} left, and this image costs ${p.price})` : '';
  return {
    code: 'credits.operator_budget',
    userMessage: [
      `The bot has reached its operator's spending limit ${describeCurrentPeriod(p.period)}${left}. Nothing was charged.`,
      p.resetsAt !== null ? `Image generation resumes ${formatWhen(p.resetsAt, p.nowMs)}; try again then.` : "It does not refill on its own: ask the bot's operator.",
    ].join('\n'),
  };
}

/** `quota.cap_above_budget`: a moderator's cap can only lower the budget the operator gives the community. */
export function capAboveBudget(budget: { amount: number; period: Period }): Failure {
  const per = budget.period === 'none' ? ' in total' : ` a ${budget.period}`;
  return {
    code: 'quota.cap_above_budget',
    userMessage: `The bot's operator gives this community ${formatCredits(budget.amount)}${per}; a cap can only lower that. Choose at most \`${budget.amount}\`.`,
  };
}
