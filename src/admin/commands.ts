/**
 * The operator's tool without its terminal: each command reads or changes the bot's database
 * through the credit ledger and returns what to print and the exit code. It validates everything
 * before writing, so a refused command (exit 2) changes nothing. It never touches the bot's
 * `instance_lease`: that lock is the bot's own, and the tool's writes are short ledger transactions
 * that SQLite (WAL, busy_timeout) serialises with the bot's.
 */
import type { Clock } from '../clock.ts';
import { CreditLedger } from '../credits/ledger.ts';
import { LedgerSql } from '../credits/ledger-sql.ts';
import { periodRange, type Period } from '../credits/periods.ts';
import type { CommunitySettings, CreditDefaults } from '../credits/types.ts';
import type { Sql } from '../store/sql.ts';
import { parseAdminArgs, USAGE, type Day, type LedgerCommand } from './args.ts';
import { toCsv } from './csv.ts';
import { describeCurrentPeriod, formatUtc } from '../credits/messages.ts';
import { budgetText, printable, table } from './format.ts';
import { isSeen, ledgerEntries, seenCommunities } from './queries.ts';
import { refused, succeeded, type AdminResult } from './result.ts';

const DAY_MS = 86_400_000;

/** Recorded as `updated_by` on every setting the tool changes. */
export const OPERATOR_ACTOR = 'operator';

export const EXPORT_HEADER = ['time', 'community', 'user_id', 'user_name', 'kind', 'credits', 'job_id', 'model', 'actor', 'note'] as const;

export interface AdminContext {
  readonly db: Sql;
  readonly ledger: CreditLedger;
  readonly clock: Clock;
  /** What the bot is configured with: COMMUNITY_BUDGET, OPERATOR_BUDGET and the allowance defaults. */
  readonly defaults: CreditDefaults;
  readonly actorId: string;
}

/** A context on `db` whose ledger applies the same defaults the bot does. */
export function adminContext(db: Sql, clock: Clock, defaults: CreditDefaults, actorId = OPERATOR_ACTOR): AdminContext {
  return { db, clock, defaults, actorId, ledger: new CreditLedger(db, clock, defaults) };
}

/** Read argv and run the command it names. */
export async function runAdmin(ctx: AdminContext, argv: readonly string[]): Promise<AdminResult> {
  const parsed = parseAdminArgs(argv);
  if (!parsed.ok) return refused(parsed.problem);
  // A backup copies the file asynchronously, outside any ledger context: cli.ts runs it (backup.ts).
  if (parsed.command.name === 'backup') return refused({ code: 'admin.usage', message: 'backup runs from the command line: npm run admin -- backup <file>' });
  if (parsed.command.name === 'copy-to-postgres') {
    return refused({ code: 'admin.usage', message: 'copy-to-postgres runs from the command line: npm run admin -- copy-to-postgres <postgres-url>' });
  }
  return runCommand(ctx, parsed.command);
}

/** Run one parsed ledger command. */
export async function runCommand(ctx: AdminContext, command: LedgerCommand): Promise<AdminResult> {
  switch (command.name) {
    case 'help':
      return succeeded(USAGE);
    case 'communities':
      return communities(ctx);
    case 'budget':
      return budget(ctx, command.communityId, command.amount, command.period);
    case 'block':
      return block(ctx, command.communityId, command.note);
    case 'unblock':
      return unblock(ctx, command.communityId);
    case 'operator':
      return operator(ctx);
    case 'export':
      return exportLedger(ctx, command);
  }
}

async function communities({ db, ledger, clock }: AdminContext): Promise<AdminResult> {
  const sql = new LedgerSql(db);
  const now = clock.now();
  const rows = [];
  for (const community of await seenCommunities(db)) {
    const settings = await ledger.settings(community.id);
    const ownBudget = (await sql.settings(community.id))?.budget != null;
    // Without a budget, spend is shown over the allowance period: the one members see in /credits.
    const period = settings.budget?.period ?? settings.period;
    const { startMs, endMs } = periodRange(period, now);
    rows.push({ community, settings, ownBudget, period, spent: await sql.communitySpend(community.id, startMs, endMs) });
  }
  if (rows.length === 0) return succeeded('No communities yet: the bot has not seen any.');
  rows.sort((a, b) => b.spent - a.spent || (a.community.id < b.community.id ? -1 : 1));
  const cells = rows.map(({ community, settings, ownBudget, period, spent }) => [
    printable(community.id),
    printable(community.platform ?? '-'),
    String(community.members),
    `${spent} ${describeCurrentPeriod(period)}`,
    budgetDescription(settings, ownBudget, ' (default)'),
    settings.cap ? budgetText(settings.cap) : 'none',
    settings.blocked ? `yes, since ${formatUtc(settings.blocked.atMs)}${settings.blocked.note ? `: ${printable(settings.blocked.note)}` : ''}` : 'no',
  ]);
  return succeeded(table(['community', 'platform', 'members', 'spent', 'budget', 'cap', 'blocked'], cells, new Set([2])));
}

async function budget(ctx: AdminContext, communityId: string, amount: number | null, period: Period | null): Promise<AdminResult> {
  const { db, ledger, clock, actorId } = ctx;
  if (!(await isSeen(db, communityId))) return unknownCommunity(communityId);
  const sql = new LedgerSql(db);
  const was = budgetDescription(await ledger.settings(communityId), (await sql.settings(communityId))?.budget != null, ', the default');
  const after = await ledger.communities.setBudget({ communityId, amount, period: period ?? undefined, actorId });
  const id = printable(communityId);
  const head = amount === null ? `${id}: budget back to the default, ${budgetDescription(after, false, '')} (was ${was}).` : `${id}: budget ${budgetDescription(after, true, '')} (was ${was}).`;
  if (!after.budget) return succeeded(head);
  const { startMs, endMs } = periodRange(after.budget.period, clock.now());
  const spent = await sql.communitySpend(communityId, startMs, endMs);
  return succeeded(`${head} Spent ${describeCurrentPeriod(after.budget.period)}: ${spent}, left: ${Math.max(0, after.budget.amount - spent)}.`);
}

async function block({ db, ledger, clock, actorId }: AdminContext, communityId: string, note: string | null): Promise<AdminResult> {
  if (!(await isSeen(db, communityId))) return unknownCommunity(communityId);
  const before = (await ledger.settings(communityId)).blocked;
  await ledger.communities.setBlocked({ communityId, blocked: true, note: note ?? undefined, actorId });
  const id = printable(communityId);
  const already = before ? ` It was already blocked since ${formatUtc(before.atMs)}.` : '';
  return succeeded(`${id} blocked at ${formatUtc(clock.now())}${note ? ` (${printable(note)})` : ''}: the bot refuses its requests until 'unblock ${id}'.${already}`);
}

async function unblock({ db, ledger, actorId }: AdminContext, communityId: string): Promise<AdminResult> {
  if (!(await isSeen(db, communityId))) return unknownCommunity(communityId);
  const id = printable(communityId);
  if (!(await ledger.settings(communityId)).blocked) return succeeded(`${id} was not blocked: nothing changed.`);
  await ledger.communities.setBlocked({ communityId, blocked: false, actorId });
  return succeeded(`${id} unblocked: its members can use the bot again.`);
}

async function operator({ ledger }: AdminContext): Promise<AdminResult> {
  const view = await ledger.operatorBudgetView();
  if (!view) return succeeded('Operator budget: unlimited (OPERATOR_BUDGET=off).');
  return succeeded(
    [
      `Operator budget: ${budgetText(view)}`,
      `Spent ${describeCurrentPeriod(view.period)}: ${view.spent}`,
      `Left: ${view.remaining}`,
      `Refills: ${view.resetsAt === null ? 'never (period none)' : formatUtc(view.resetsAt)}`,
    ].join('\n'),
  );
}

async function exportLedger(
  { db, clock }: AdminContext,
  command: { from: Day | null; to: Day | null; communityId: string | null; out: string | null },
): Promise<AdminResult> {
  const now = clock.now();
  const today = dayOf(now);
  const to = command.to ?? today;
  // The month of --to: with no dates at all, the current month up to today.
  const from = command.from ?? dayOf(Date.UTC(new Date(to.startMs).getUTCFullYear(), new Date(to.startMs).getUTCMonth(), 1));
  if (from.startMs > to.startMs) {
    return refused({
      code: 'admin.invalid_range',
      message: `--from ${from.iso} is after --to ${to.iso}${command.to ? '' : ' (today)'}: give an earlier --from or a later --to.`,
    });
  }
  if (command.communityId !== null && !(await isSeen(db, command.communityId))) return unknownCommunity(command.communityId);
  // --to names a whole day: entries up to its last millisecond.
  const entries = await ledgerEntries(db, from.startMs, to.startMs + DAY_MS, command.communityId);
  const csv = toCsv(
    EXPORT_HEADER,
    entries.map((e) => [new Date(e.createdAt).toISOString(), e.communityId, e.userId, e.userName, e.kind, e.delta, e.jobId, e.model, e.actorId, e.note]),
  );
  if (command.out === null) return succeeded(csv);
  const what = `${entries.length} ledger ${entries.length === 1 ? 'entry' : 'entries'} from ${from.iso} to ${to.iso}`;
  return succeeded(`Wrote ${what} to ${printable(command.out)}.`, { path: command.out, contents: csv });
}

/** `200/day`, with `suffix` when it is COMMUNITY_BUDGET rather than the community's own; `unlimited` when off. */
function budgetDescription(settings: CommunitySettings, own: boolean, suffix: string): string {
  if (!settings.budget) return `unlimited${suffix}`;
  return own ? budgetText(settings.budget) : `${budgetText(settings.budget)}${suffix}`;
}

function unknownCommunity(communityId: string): AdminResult {
  return refused({
    code: 'admin.unknown_community',
    message: `No community '${printable(communityId)}' in the database: no member, ledger entry, job or setting names it. Run 'communities' to list the ids.`,
  });
}

function dayOf(ms: number): Day {
  const startMs = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
  return { iso: new Date(startMs).toISOString().slice(0, 10), startMs };
}
