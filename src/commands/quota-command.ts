/**
 * `/quota`: the moderator's controls over a community's credits (`set`, `grant`, `allowance`,
 * `cap`, `report`). Permission is checked here, on the server side, whatever the platform showed.
 * Changes are answered publicly, so the community sees who moved credits; refusals and the report
 * (which names other members' spending) are private.
 */
import { invalidAmount, parseCreditAmount } from '../credits/amount.ts';
import type { CreditLedger, CreditsReport } from '../credits/ledger.ts';
import { capAboveBudget, formatCredits, formatUtc, formatWhen } from '../credits/messages.ts';
import { parsePeriod, PERIODS, type Period } from '../credits/periods.ts';
import type { Failure } from '../errors.ts';
import type { QuotaCommand, Requester } from '../ports.ts';
import { NOT_MODERATOR, refuse, type CommandReplyCode, type CommandResult } from './credits-command.ts';

/** The /quota sub-commands about credits; `pardon` and `block-words` are moderation-command.ts's. */
export type CreditQuotaCommand = Exclude<QuotaCommand, { action: 'pardon' | 'block-words' }>;

/** Carry out a `/quota` sub-command for `requester`. */
export async function quotaCommand(ledger: CreditLedger, requester: Requester, command: CreditQuotaCommand): Promise<CommandResult> {
  if (!requester.isModerator) return refuse(NOT_MODERATOR);
  const communityId = requester.communityId;
  const actorId = requester.userId;
  const mod = requester.displayName;
  switch (command.action) {
    case 'grant': {
      const parsed = parseCreditAmount(command.amount);
      if (!parsed.ok) return refuse(parsed.failure);
      if (parsed.amount === 0) {
        return refuse(invalidAmount({ kind: 'zero_grant' }));
      }
      const name = await nameOf(ledger, communityId, command.userId, command.userName);
      const { balanceAfter } = await ledger.grant({ communityId, userId: command.userId, displayName: command.userName, amount: parsed.amount, actorId });
      return announce('quota.granted', `${mod} granted ${formatCredits(parsed.amount)} to ${name}: balance now \`${balanceAfter}\`.`);
    }
    case 'set': {
      const parsed = parseCreditAmount(command.amount);
      if (!parsed.ok) return refuse(parsed.failure);
      const name = await nameOf(ledger, communityId, command.userId, command.userName);
      const { balanceAfter, delta } = await ledger.set({ communityId, userId: command.userId, displayName: command.userName, amount: parsed.amount, actorId });
      const was = balanceAfter - delta;
      return announce('quota.set', `${mod} set ${name}'s balance to \`${balanceAfter}\` credits (it was ${was}).`);
    }
    case 'allowance': {
      const parsed = parseCreditAmount(command.amount);
      if (!parsed.ok) return refuse(parsed.failure);
      const period = readPeriod(command.period);
      if (!period.ok) return refuse(period.failure);
      const settings = await ledger.communities.setAllowance({ communityId, amount: parsed.amount, period: period.period, actorId });
      const when =
        settings.period === 'none'
          ? 'New members get it once; it does not refill.'
          : `Balances refill to it at the start of each ${settings.period} (UTC).`;
      return announce('quota.allowance_set', `${mod} set the allowance to ${formatCredits(settings.allowance)}${settings.period === 'none' ? '' : ` a ${settings.period}`}. ${when}`);
    }
    case 'cap': {
      const word = command.amount.trim().toLowerCase();
      if (word === 'off' || word === 'none') {
        await ledger.communities.setCap({ communityId, amount: null, actorId });
        return announce('quota.cap_removed', `${mod} removed the community's spending cap.`);
      }
      const parsed = parseCreditAmount(command.amount);
      if (!parsed.ok) return refuse(parsed.failure);
      const period = readPeriod(command.period);
      if (!period.ok) return refuse(period.failure);
      const set = await ledger.communities.setCap({ communityId, amount: parsed.amount, period: period.period, actorId });
      if (!set.ok) return refuse(capAboveBudget(set.budget));
      const { cap } = await ledger.report(communityId);
      const scope = cap && cap.period !== 'none' ? ` a ${cap.period}` : ' in total';
      const left = cap ? ` So far ${formatCredits(cap.spent)} spent, ${cap.remaining} left.` : '';
      return announce('quota.cap_set', `${mod} capped the community's spending at ${formatCredits(parsed.amount)}${scope}.${left}`);
    }
    case 'report':
      return { code: 'quota.report', reply: { visibility: 'private', text: await formatReport(await ledger.report(communityId), ledger, communityId) } };
    default:
      return assertNever(command);
  }
}

/** The report as a readable block: period, spend, cap, top spenders and spend per model. */
export async function formatReport(report: CreditsReport, ledger: CreditLedger, communityId: string): Promise<string> {
  const since = report.periodStart === null ? 'all time' : `since ${formatUtc(report.periodStart)}`;
  const settings = await ledger.settings(communityId);
  const lines = [`Credits report (${report.period === 'none' ? 'all time' : `this ${report.period}`}, ${since})`];
  lines.push(`Spent: ${formatCredits(report.totalSpent)}, including credits held by running jobs.`);
  lines.push(
    report.cap
      ? `Cap: ${report.cap.remaining} of ${formatCredits(report.cap.amount)} left${report.cap.resetsAt === null ? ' (it does not reset)' : `, resets ${formatWhen(report.cap.resetsAt, report.asOf)}`}.`
      : 'Cap: none (set one with `/quota cap <amount> [period]`).',
  );
  lines.push(
    report.budget
      ? `Operator's budget for this community: ${report.budget.remaining} of ${formatCredits(report.budget.amount)}${report.budget.period === 'none' ? ' in total' : ` a ${report.budget.period}`} left${report.budget.resetsAt === null ? '' : `, refills ${formatWhen(report.budget.resetsAt, report.asOf)}`}.`
      : "Operator's budget for this community: unlimited.",
  );
  // OPERATOR_BUDGET stops every community at once: without this line a moderator whose members are
  // refused `credits.operator_budget` would read "unlimited" above and find no reason.
  const operator = await ledger.operatorBudgetView();
  if (operator) {
    lines.push(
      `Operator's budget for every community together: ${operator.remaining} of ${formatCredits(operator.amount)}${operator.period === 'none' ? ' in total' : ` a ${operator.period}`} left${operator.resetsAt === null ? '' : `, refills ${formatWhen(operator.resetsAt, report.asOf)}`}.`,
    );
  }
  lines.push(`Allowance: ${formatCredits(settings.allowance)}${settings.period === 'none' ? ', given once' : ` a ${settings.period}`}.`);
  if (report.topSpenders.length === 0) {
    lines.push('No images in this period yet.');
    return lines.join('\n');
  }
  lines.push('Top spenders:');
  report.topSpenders.forEach((spender, index) => lines.push(`  ${index + 1}. ${spender.displayName}: ${formatCredits(spender.spent)}`));
  lines.push('Spend per model:');
  for (const model of report.spendPerModel) {
    lines.push(`  \`${model.model}\`: ${formatCredits(model.spent)}, ${model.images} ${model.images === 1 ? 'image' : 'images'}`);
  }
  return lines.join('\n');
}

/** `quota.invalid_period`: `raw` names no period. */
export function invalidPeriod(raw: string): Failure {
  const shown = raw.trim().replace(/`/g, "'").slice(0, 24);
  return {
    code: 'quota.invalid_period',
    userMessage: `\`${shown}\` is not a period: use one of ${PERIODS.map((p) => `\`${p}\``).join(', ')} (\`none\` means it never refills).`,
  };
}

function readPeriod(raw: string | undefined): { ok: true; period: Period | undefined } | { ok: false; failure: Failure } {
  if (raw === undefined || raw.trim() === '') return { ok: true, period: undefined };
  const period = parsePeriod(raw);
  if (period) return { ok: true, period };
  return { ok: false, failure: invalidPeriod(raw) };
}

/** The best name we have for a member: what the platform sent, what we saw last, or their id. */
async function nameOf(ledger: CreditLedger, communityId: string, userId: string, userName: string | undefined): Promise<string> {
  return userName ?? (await ledger.displayNameOf(communityId, userId)) ?? userId;
}

function announce(code: CommandReplyCode, text: string): CommandResult {
  return { code, reply: { visibility: 'public', text } };
}

function assertNever(value: never): never {
  throw new Error(`unknown quota action ${JSON.stringify(value)}`);
}
