/**
 * The operator's command line, read into one typed command. argv is user input: the arity of each
 * command is checked first (so a missing or extra word gets the command's usage), then every field
 * goes through a zod schema whose failure names the field's stable code and says what to type.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { MAX_QUOTA_AMOUNT, parseCreditAmount } from '../credits/amount.ts';
import { parsePeriod, type Period } from '../credits/periods.ts';
import { DatabaseUrlInvalidError, parseDatabaseUrl } from '../store/postgres-url.ts';
import type { AdminProblem } from './result.ts';

/** A calendar day typed as YYYY-MM-DD, with the UTC midnight that starts it. */
export interface Day {
  readonly iso: string;
  readonly startMs: number;
}

export type AdminCommand =
  | { readonly name: 'help' }
  | { readonly name: 'communities' }
  | { readonly name: 'budget'; readonly communityId: string; readonly amount: number | null; readonly period: Period | null }
  | { readonly name: 'block'; readonly communityId: string; readonly note: string | null }
  | { readonly name: 'unblock'; readonly communityId: string }
  | { readonly name: 'operator' }
  | { readonly name: 'export'; readonly from: Day | null; readonly to: Day | null; readonly communityId: string | null; readonly out: string | null }
  | BackupCommand
  | CopyCommand;

/** `backup <file> [--force]`: run by cli.ts itself (an asynchronous copy of the file, not a ledger change). */
export interface BackupCommand {
  readonly name: 'backup';
  readonly file: string;
  readonly force: boolean;
}

/** `copy-to-postgres <url>`: run by cli.ts itself (src/admin/copy.ts): the SQLite file into an empty PostgreSQL database. */
export interface CopyCommand {
  readonly name: 'copy-to-postgres';
  readonly url: string;
}

/** The commands that work through the ledger (src/admin/commands.ts). */
export type LedgerCommand = Exclude<AdminCommand, BackupCommand | CopyCommand>;

export const USAGE = `Usage: npm run admin -- <command>

  communities                            every community the bot has seen, biggest spender first
  budget <community> <amount|default> [day|week|month|none]
                                         set a community's budget (default: COMMUNITY_BUDGET)
  block <community> [note...]            refuse the community's requests
  unblock <community>                    accept them again
  operator                               the operator budget: spent, left, next refill
  export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--community <id>] [--out <file.csv>]
                                         the ledger as CSV (default: this month up to today)
  backup <file> [--force]                copy the database to <file>, safe while the bot runs
                                         (--force replaces an existing file; SQLite only)
  copy-to-postgres <postgres-url>        copy the SQLite database into an empty PostgreSQL one
                                         (stop the bot first; README: Scale)
  help                                   this text

Works on DATABASE_PATH or DATABASE_URL (environment or .env) while the bot runs.
Exit codes: 0 done; 2 a mistake in the command (nothing was changed); 1 the database or a file could not be used.
`;

const COMMANDS = ['communities', 'budget', 'block', 'unblock', 'operator', 'export', 'backup', 'copy-to-postgres', 'help'] as const;

/** Each command's words after its name, shown when a word is missing or extra. */
const SYNOPSIS = {
  communities: 'communities',
  budget: 'budget <community> <amount|default> [day|week|month|none], like: budget 123456789012345678 500 week',
  block: 'block <community> [note...], like: block 123456789012345678 spam',
  unblock: 'unblock <community>',
  operator: 'operator',
  export: 'export [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--community <id>] [--out <file.csv>]',
  backup: 'backup <file> [--force], like: backup /data/backups/before-upgrade.db',
  'copy-to-postgres': 'copy-to-postgres <postgres-url>, like: copy-to-postgres postgres://imagine:secret@db:5432/imagine',
  help: 'help',
} as const;

const MAX_NOTE = 500;
const RANGE = `a whole number of credits from 0 to ${MAX_QUOTA_AMOUNT.toLocaleString('en-US')}, or 'default'`;

/** Which stable code a failing field is reported under. */
const FIELD_CODES: Record<string, string> = {
  communityId: 'admin.invalid_community',
  amount: 'admin.invalid_amount',
  period: 'admin.invalid_period',
  from: 'admin.invalid_date',
  to: 'admin.invalid_date',
  note: 'admin.invalid_note',
  out: 'admin.invalid_out',
};

const communityId = z
  .string()
  .trim()
  .min(1, { error: "Give a community id (run 'communities' to list them)." })
  .max(200, { error: "That community id is too long to be one (run 'communities' to list them)." })
  .regex(/^[^\s\p{Cc}]+$/u, { error: "A community id has no spaces or control characters (run 'communities' to list them)." });

const amount = z.string().transform((raw, ctx): number | null => {
  const text = raw.trim();
  if (text.toLowerCase() === 'default') return null;
  const parsed = parseCreditAmount(text);
  if (parsed.ok) return parsed.amount;
  ctx.addIssue({ code: 'custom', message: amountMistake(text) });
  return z.NEVER;
});

const period = z.string().transform((raw, ctx): Period => {
  const parsed = parsePeriod(raw);
  if (parsed) return parsed;
  ctx.addIssue({ code: 'custom', message: `Period '${shown(raw)}' is not one of day, week, month or none.` });
  return z.NEVER;
});

const note = z.string().max(MAX_NOTE, { error: `The note is longer than ${MAX_NOTE} characters: shorten it.` });

const day = (flag: string) =>
  z.string().transform((raw, ctx): Day => {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw.trim());
    if (match) {
      const [year, month, date] = [Number(match[1]), Number(match[2]), Number(match[3])];
      const startMs = Date.UTC(year, month - 1, date);
      // Date.UTC rolls 2026-02-30 over into March: a round trip catches days that do not exist.
      if (new Date(startMs).toISOString().slice(0, 10) === match[0]) return { iso: match[0], startMs };
    }
    ctx.addIssue({ code: 'custom', message: `${flag} '${shown(raw)}' is not a date: use YYYY-MM-DD, like 2026-11-01.` });
    return z.NEVER;
  });

const out = z.string().trim().min(1, { error: '--out needs a file name, like --out ledger.csv.' });

const budgetSchema = z.object({ communityId, amount, period: period.nullable() });
const blockSchema = z.object({ communityId, note: note.nullable() });
const unblockSchema = z.object({ communityId });
const exportSchema = z.object({
  from: day('--from').nullable(),
  to: day('--to').nullable(),
  communityId: communityId.nullable(),
  out: out.nullable(),
});

type Parsed = { ok: true; command: AdminCommand } | { ok: false; problem: AdminProblem };

/** Read argv (without `node` and the script) into a command, or the one mistake to explain. */
export function parseAdminArgs(argv: readonly string[]): Parsed {
  const [word, ...rest] = argv;
  if (word === undefined || word === 'help' || word === '--help' || word === '-h') return { ok: true, command: { name: 'help' } };
  const name = COMMANDS.find((c) => c === word);
  if (!name) {
    return mistake('admin.unknown_command', `Unknown command '${shown(word)}': use communities, budget, block, unblock, operator, export, backup, copy-to-postgres or help.`);
  }
  switch (name) {
    case 'help':
    case 'communities':
    case 'operator':
      return rest.length === 0 ? { ok: true, command: { name } } : usage(name);
    case 'budget':
      if (rest.length < 2 || rest.length > 3) return usage(name);
      return validate(budgetSchema, { communityId: rest[0], amount: rest[1], period: rest[2] ?? null }, (v) => {
        // `default` follows COMMUNITY_BUDGET, period included: a period given with it would be ignored.
        if (v.amount === null && v.period !== null) {
          return mistake('admin.usage', `'default' takes COMMUNITY_BUDGET's period: drop '${rest[2] ?? ''}', or give an amount with it.`);
        }
        return { ok: true, command: { name, ...v } };
      });
    case 'block':
      if (rest.length < 1) return usage(name);
      return validate(blockSchema, { communityId: rest[0], note: rest.slice(1).join(' ').trim() || null }, (v) => ({ ok: true, command: { name, ...v } }));
    case 'unblock':
      return rest.length === 1 ? validate(unblockSchema, { communityId: rest[0] }, (v) => ({ ok: true, command: { name, ...v } })) : usage(name);
    case 'export':
      return parseExport(rest);
    case 'backup':
      return parseBackup(rest);
    case 'copy-to-postgres':
      return parseCopy(rest);
  }
}

/** `backup <file> [--force]`, the flag before or after the file. */
function parseBackup(args: readonly string[]): Parsed {
  const force = args.filter((arg) => arg === '--force').length;
  const words = args.filter((arg) => arg !== '--force');
  const unknown = words.find((arg) => arg.startsWith('--'));
  if (unknown !== undefined) return mistake('admin.unknown_option', `backup has no option '${shown(unknown)}': use --force to replace an existing file.`);
  if (words.length !== 1 || force > 1) return usage('backup');
  const file = out.safeParse(words[0]);
  if (!file.success) return mistake('admin.usage', `Usage: ${SYNOPSIS.backup}`);
  return { ok: true, command: { name: 'backup', file: file.data, force: force === 1 } };
}

/** `copy-to-postgres <url>`: the URL is checked here, so a typo is a mistake in the command (exit 2), never echoed (it holds a password). */
function parseCopy(args: readonly string[]): Parsed {
  if (args.length !== 1 || args[0] === undefined) return usage('copy-to-postgres');
  try {
    parseDatabaseUrl(args[0]);
  } catch (error) {
    if (error instanceof DatabaseUrlInvalidError) return mistake('admin.invalid_url', error.message);
    throw error;
  }
  return { ok: true, command: { name: 'copy-to-postgres', url: args[0] } };
}

const EXPORT_OPTIONS = { from: 'from', to: 'to', community: 'communityId', out: 'out' } as const;

/** parseArgs splits `--flag value` and `--flag=value`; which flags exist and what they hold is decided here. */
function parseExport(args: readonly string[]): Parsed {
  const { tokens } = parseArgs({
    args: [...args],
    options: { from: { type: 'string' }, to: { type: 'string' }, community: { type: 'string' }, out: { type: 'string' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string | null> = { from: null, to: null, communityId: null, out: null };
  for (const token of tokens) {
    if (token.kind === 'positional') return mistake('admin.usage', `export takes only options, not '${shown(token.value)}': ${SYNOPSIS.export}.`);
    if (token.kind !== 'option') continue;
    const field = Object.hasOwn(EXPORT_OPTIONS, token.name) ? EXPORT_OPTIONS[token.name as keyof typeof EXPORT_OPTIONS] : undefined;
    if (!field) return mistake('admin.unknown_option', `export has no option '${shown(token.rawName)}': use --from, --to, --community or --out.`);
    if (token.value === undefined) return mistake('admin.usage', `${token.rawName} needs a value: ${SYNOPSIS.export}.`);
    if (values[field] !== null) return mistake('admin.usage', `${token.rawName} is given twice: give it once.`);
    values[field] = token.value;
  }
  return validate(exportSchema, values, (v) => ({ ok: true, command: { name: 'export', ...v } }));
}

function validate<S extends z.ZodType>(schema: S, input: Record<string, unknown>, then: (value: z.output<S>) => Parsed): Parsed {
  const result = schema.safeParse(input);
  if (result.success) return then(result.data);
  const issue = result.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  return mistake(FIELD_CODES[field] ?? 'admin.usage', issue?.message ?? `Could not read ${field}.`);
}

function usage(name: keyof typeof SYNOPSIS): Parsed {
  return mistake('admin.usage', `Usage: ${SYNOPSIS[name]}`);
}

function mistake(code: string, message: string): Parsed {
  return { ok: false, problem: { code, message } };
}

/**
 * Say why parseCreditAmount refused `text`, in the operator's terms (the chat wording points at
 * /quota). Only the wording is decided here: what is accepted is parseCreditAmount's rule alone.
 */
function amountMistake(text: string): string {
  if (text === '') return `Give a budget: ${RANGE}.`;
  const value = `Budget '${shown(text)}'`;
  if (/^-\s*[\d.]/.test(text)) return `${value} is negative: use ${RANGE}.`;
  if (/^[+]?\d*\.\d+$|^\d+\.$/.test(text)) return `${value} is not a whole number: use ${RANGE}.`;
  if (/^[\d,_]+$/.test(text) && /\d{8}|^[1-9]\d{6}/.test(text.replace(/[,_]/g, ''))) {
    return `${value} is more than the limit of ${MAX_QUOTA_AMOUNT.toLocaleString('en-US')} credits.`;
  }
  return `${value} is not an amount: use ${RANGE}.`;
}

/** A user's word, shortened and stripped of control characters, so an error line stays one line. */
function shown(raw: string): string {
  const clean = raw.replace(/\p{Cc}/gu, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}
