/**
 * `/quota` typed as text (Slack's slash command, the terminal sandbox) into a `QuotaCommand`.
 * Amounts and periods stay raw: `quotaCommand` explains bad ones, the same way for every platform.
 */
import { problem, type Problem } from '../errors.ts';
import type { QuotaCommand } from '../ports.ts';

/** Turns a user token (`<@U123|ana>` on Slack, `ana` in the sandbox) into a member, or null. */
export type ResolveUser = (token: string) => { userId: string; userName: string } | null;

const USAGE = {
  set: '`/quota set <user> <amount>`: make their balance exactly that',
  grant: '`/quota grant <user> <amount>`: add credits to their balance',
  allowance: '`/quota allowance <amount> [day|week|month|none]`: what everyone gets each period',
  cap: '`/quota cap <amount|off> [day|week|month|none]`: the most the whole community may spend a period',
  report: '`/quota report`: top spenders, spend per model, the cap',
} as const;

type SubCommand = keyof typeof USAGE;

/** The help shown for `/quota help` or a bare `/quota`. */
export function quotaHelpText(): string {
  return ['Moderator commands for credits:', ...Object.values(USAGE).map((line) => `  ${line}`)].join('\n');
}

/** Parse the text after `/quota`. `help` (or nothing) comes back as the problem `quota.help` carrying the help text. */
export function parseQuotaText(
  text: string,
  resolveUser: ResolveUser,
): { ok: true; command: QuotaCommand } | { ok: false; problem: Problem } {
  const [first, ...args] = text.trim().split(/\s+/).filter((token) => token !== '');
  const word = (first ?? '').toLowerCase();
  if (word === '' || word === 'help') return fail(problem('quota.help', quotaHelpText()));
  if (!isSubCommand(word)) {
    const shown = word.replace(/`/g, "'").slice(0, 24);
    return fail(
      problem(
        'quota.unknown_subcommand',
        `\`${shown}\` is not a /quota command. Use one of: ${Object.keys(USAGE).map((k) => `\`${k}\``).join(', ')}.\n${quotaHelpText()}`,
      ),
    );
  }
  const usage = problem('quota.usage', `Usage: ${USAGE[word]}.`);
  switch (word) {
    case 'set':
    case 'grant': {
      const [userToken, amount, ...extra] = args;
      if (userToken === undefined || amount === undefined || extra.length > 0) return fail(usage);
      const user = resolveUser(userToken);
      if (!user) {
        const shown = userToken.replace(/`/g, "'").slice(0, 40);
        return fail(problem('quota.unknown_user', `I can't tell who \`${shown}\` is: mention them, like \`/quota ${word} @name ${amount}\`.`));
      }
      return { ok: true, command: { action: word, userId: user.userId, userName: user.userName, amount } };
    }
    case 'allowance':
    case 'cap': {
      const [amount, period, ...extra] = args;
      if (amount === undefined || extra.length > 0) return fail(usage);
      return { ok: true, command: { action: word, amount, period } };
    }
    case 'report':
      return args.length > 0 ? fail(usage) : { ok: true, command: { action: 'report' } };
    default:
      return assertNever(word);
  }
}

function isSubCommand(word: string): word is SubCommand {
  return Object.hasOwn(USAGE, word);
}

function fail(p: Problem): { ok: false; problem: Problem } {
  return { ok: false, problem: p };
}

function assertNever(value: never): never {
  throw new Error(`unhandled /quota sub-command ${String(value)}`);
}
