/**
 * `/credits [user]`: a member's balance, allowance, next refill, spend this period and credits held
 * by running jobs. Anyone may see their own; only moderators may see someone else's.
 */
import type { CreditLedger, CreditsView } from '../credits/ledger.ts';
import { describeCurrentPeriod, formatCredits, formatWhen } from '../credits/messages.ts';
import type { Period } from '../credits/periods.ts';
import type { ErrorCode, Failure } from '../errors.ts';
import type { Reply, Requester } from '../ports.ts';

/**
 * The codes of command answers that are not failures: a balance shown, a change made. Kept apart
 * from ErrorCode so that only refusals count as errors in logs and dashboards.
 */
export const COMMAND_REPLY_CODES = [
  'credits.view',
  'quota.granted',
  'quota.set',
  'quota.allowance_set',
  'quota.cap_removed',
  'quota.cap_set',
  'quota.report',
  'quota.pardoned',
  'quota.blocked_words',
] as const;

/** The code of a command answer that is not a failure. */
export type CommandReplyCode = (typeof COMMAND_REPLY_CODES)[number];

/**
 * What a command returns: the `reply` an adapter shows as is, and a stable `code` for logs and
 * tests (`Reply` itself has no code field).
 */
export interface CommandResult {
  readonly code: CommandReplyCode | ErrorCode;
  readonly reply: Reply;
}

/**
 * `quota.not_moderator`: a member tried a moderator-only command (`/quota`, or `/credits` for
 * someone else). One text for both, naming who counts as a moderator on each platform.
 */
export const NOT_MODERATOR: Failure = {
  code: 'quota.not_moderator',
  userMessage:
    "Only moderators (Manage Server on Discord, workspace admins on Slack, or members the operator names) can change credits, see the report or see another member's credits. `/credits` on its own shows yours.",
};

/** A refusal as a command's private answer. */
export function refuse(failure: Failure): CommandResult {
  return { code: failure.code, reply: { visibility: 'private', text: failure.userMessage } };
}

/** Answer `/credits`, for the requester or (moderators only) for `subject`. */
export async function creditsCommand(
  ledger: CreditLedger,
  requester: Requester,
  subject?: { userId: string; displayName: string },
): Promise<CommandResult> {
  const isSelf = subject === undefined || subject.userId === requester.userId;
  if (!isSelf && !requester.isModerator) return refuse(NOT_MODERATOR);
  const who = isSelf ? { userId: requester.userId, displayName: requester.displayName } : subject;
  const view = await ledger.creditsView(requester.communityId, who.userId, who.displayName);
  const heading = isSelf ? `Your credits: \`${view.balance}\`` : `${who.displayName}'s credits: \`${view.balance}\``;
  return { code: 'credits.view', reply: { visibility: 'private', text: [heading, ...describeView(view)].join('\n') } };
}

function describeView(view: CreditsView): string[] {
  const lines = [allowanceLine(view.allowance, view.period, view.resetsAt, view.asOf)];
  const spent = `Spent ${describeCurrentPeriod(view.period)}: ${formatCredits(view.spentThisPeriod)}.`;
  lines.push(view.heldNow > 0 ? `${spent} Held by running jobs: ${formatCredits(view.heldNow)}.` : spent);
  if (view.balance < 0) lines.push('The balance is below zero because Runway charged more than the estimate; it refills as usual.');
  return lines;
}

/** "Allowance: 50 credits a day, refills in 3 h (2026-01-02 00:00 UTC)." */
export function allowanceLine(allowance: number, period: Period, resetsAt: number | null, nowMs: number): string {
  if (resetsAt === null) return `Allowance: ${formatCredits(allowance)}, given once (it does not refill).`;
  return `Allowance: ${formatCredits(allowance)} a ${period}, refills ${formatWhen(resetsAt, nowMs)}.`;
}
