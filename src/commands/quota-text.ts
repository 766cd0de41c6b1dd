/**
 * `/quota` typed as text (Slack's slash command, the terminal sandbox) into a `QuotaCommand`.
 * Amounts and periods stay raw: `quotaCommand` explains bad ones, the same way for every platform.
 */
import type { Failure } from '../errors.ts';
import type { QuotaCommand } from '../ports.ts';
import { splitEntries } from './moderation-command.ts';

/** Turns a user token (`<@U123|ana>` on Slack, `ana` in the sandbox) into a member, or null. */
export type ResolveUser = (token: string) => { userId: string; userName: string } | null;

const USAGE = {
  set: '`/quota set <user> <amount>`: make their balance exactly that',
  grant: '`/quota grant <user> <amount>`: add credits to their balance',
  allowance: '`/quota allowance <amount> [day|week|month|none]`: what everyone gets each period',
  cap: '`/quota cap <amount|off> [day|week|month|none]`: the most the whole community may spend a period',
  report: '`/quota report`: top spenders, spend per model, the cap',
  pardon: "`/quota pardon <user>`: lift a member's pause after Runway's moderation declined their prompts",
  'block-words': '`/quota block-words add|remove|list [word, another phrase]`: prompts with these are refused',
} as const;

/** A /quota sub-command's name. */
export type SubCommand = keyof typeof USAGE;

/** The help shown for `/quota help` or a bare `/quota`. */
export function quotaHelpText(): string {
  return ['Moderator commands for credits:', ...Object.values(USAGE).map((line) => `  ${line}`)].join('\n');
}

/** `quota.help`: the help, for `/quota help` or a bare `/quota`. */
export function quotaHelp(): Failure {
  return { code: 'quota.help', userMessage: quotaHelpText() };
}

/** `quota.unknown_subcommand`: `word` is no /quota sub-command; the help follows. */
export function unknownSubcommand(word: string): Failure {
  const shown = word.replace(/`/g, "'").slice(0, 24);
  return {
    code: 'quota.unknown_subcommand',
    userMessage: `\`${shown}\` is not a /quota command. Use one of: ${Object.keys(USAGE).map((k) => `\`${k}\``).join(', ')}.\n${quotaHelpText()}`,
  };
}

/** `quota.usage`: the sub-command got too few or too many words. */
export function quotaUsage(subCommand: SubCommand): Failure {
  return { code: 'quota.usage', userMessage: `Usage: ${USAGE[subCommand]}.` };
}

/** `quota.unknown_user`: `token` names no member; the example repeats the sub-command and amount typed. */
export function unknownUser(token: string, subCommand: 'set' | 'grant' | 'pardon', amount?: string): Failure {
  const shown = token.replace(/`/g, "'").slice(0, 40);
  const example = amount === undefined ? `/quota ${subCommand} @name` : `/quota ${subCommand} @name ${amount}`;
  return { code: 'quota.unknown_user', userMessage: `I can't tell who \`${shown}\` is: mention them, like \`${example}\`.` };
}

/** Parse the text after `/quota`. `help` (or nothing) comes back as the failure `quota.help` carrying the help text. */
export function parseQuotaText(
  text: string,
  resolveUser: ResolveUser,
): { ok: true; command: QuotaCommand } | { ok: false; failure: Failure } {
  const [first, ...args] = text.trim().split(/\s+/).filter((token) => token !== '');
  const word = (first ?? '').toLowerCase();
  if (word === '' || word === 'help') return fail(quotaHelp());
  if (!isSubCommand(word)) return fail(unknownSubcommand(word));
  const usage = quotaUsage(word);
  switch (word) {
    case 'set':
    case 'grant': {
      const [userToken, amount, ...extra] = args;
      if (userToken === undefined || amount === undefined || extra.length > 0) return fail(usage);
      const user = resolveUser(userToken);
      if (!user) return fail(unknownUser(userToken, word, amount));
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
    case 'pardon': {
      const [userToken, ...extra] = args;
      if (userToken === undefined || extra.length > 0) return fail(usage);
      const user = resolveUser(userToken);
      if (!user) return fail(unknownUser(userToken, 'pardon'));
      return { ok: true, command: { action: 'pardon', userId: user.userId, userName: user.userName } };
    }
    case 'block-words': {
      const [operation, ...rest] = args;
      const op = operation?.toLowerCase();
      if (op !== 'add' && op !== 'remove' && op !== 'list') return fail(usage);
      if (op === 'list' ? rest.length > 0 : rest.length === 0) return fail(usage);
      return { ok: true, command: { action: 'block-words', operation: op, entries: splitEntries(rest.join(' ')) } };
    }
    default:
      return assertNever(word);
  }
}

function isSubCommand(word: string): word is SubCommand {
  return Object.hasOwn(USAGE, word);
}

function fail(failure: Failure): { ok: false; failure: Failure } {
  return { ok: false, failure };
}

function assertNever(value: never): never {
  throw new Error(`unhandled /quota sub-command ${String(value)}`);
}
