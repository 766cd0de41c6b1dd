/**
 * Runway's organisation as one more budget: what `GET /v1/organization` says (the account's credit
 * balance, each model's tier limits, today's generations), and whether a request still fits in it.
 * Pure: the gateway reads the answer, src/jobs/organization-usage.ts counts what the bot itself has
 * started since, and src/runway/organization-watch.ts keeps the latest snapshot for the bot.
 * https://docs.dev.runwayml.com/api/#tag/Organization/paths/~1v1~1organization/get
 */
import { formatCredits, formatWhen } from '../credits/messages.ts';
import type { Failure } from '../errors.ts';
import { findModel } from '../models.ts';
import { modelTierSchema, modelUsageSchema, organizationSchema } from './task-schema.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A snapshot older than this is not trusted to refuse anyone: the runner re-reads every 10 minutes,
 * so an older one means the reads are failing, and a balance the operator may have topped up since
 * must not keep turning people away. Runway itself still refuses what it cannot run.
 */
export const SNAPSHOT_TRUSTED_MS = 60 * 60 * 1000;

/** One catalogue model's share of the organisation. */
export interface ModelStanding {
  /**
   * Generations Runway runs at once for the account; null: no limit (Runway's `null`). Absent when
   * Runway did not say, so that the runner keeps its cautious default rather than assume no limit.
   */
  readonly maxConcurrent?: number | null;
  /** Generations per UTC day; null: no limit (Runway's `null`) or not reported, either way nothing to refuse on. */
  readonly maxDaily: number | null;
  /** Generations of the model the account started today, as of `readAtMs` (0 when not reported). */
  readonly dailyUsed: number;
}

/** The organisation as Runway described it at `readAtMs`. */
export interface OrganizationSnapshot {
  /** Credits left in the Runway account; null when Runway did not say (the balance check is then skipped). */
  readonly creditBalance: number | null;
  /** The models of our catalogue that Runway reported; others are of no use to the bot and left out. */
  readonly models: ReadonlyMap<string, ModelStanding>;
  /** When the request was sent: what the bot starts from then on is not in Runway's counts (or may be, which errs on the safe side). */
  readonly readAtMs: number;
}

/** A read of the organisation: a snapshot, or why Runway's answer could not be used. */
export type OrganizationRead = { readonly ok: true; readonly snapshot: OrganizationSnapshot } | { readonly ok: false; readonly message: string };

/** Whether Runway's organisation can take one more request. */
export type OrganizationAdmission = { readonly ok: true } | { readonly ok: false; readonly failure: Failure };

/** What the bot asks before accepting a request (src/bot.ts): would Runway's organisation take it? */
export interface OrganizationGuard {
  check(modelId: string, priceCredits: number): Promise<OrganizationAdmission>;
}

/**
 * What the bot's own jobs add to a snapshot: Runway's figures are as of `readAtMs`, and the bot has
 * moved on since.
 */
export interface BotUsage {
  /** Credits held by the bot's jobs not finished yet (reserved … running): Runway will charge about that much. */
  readonly heldCredits: number;
  /** Credits Runway charged for the bot's jobs finished since the read: the snapshot's balance does not show them yet. */
  readonly chargedSinceRead: number;
  /** Generations of the request's model the bot started since `dailyCountFrom(…)`, or will start (they wait in its queue). */
  readonly startedSince: number;
}

/** Parse Runway's answer: `null` limits mean no limit, models outside the catalogue are ignored, missing fields cost only themselves. */
export function parseOrganization(raw: unknown, readAtMs: number): OrganizationRead {
  const root = organizationSchema.safeParse(raw);
  if (!root.success) return unreadable(root.error.issues.map((issue) => describeIssue([], issue)));
  const tier = root.data.tier?.models ?? {};
  const usage = root.data.usage?.models ?? {};
  const issues: string[] = [];
  const models = new Map<string, ModelStanding>();
  for (const id of new Set([...Object.keys(tier), ...Object.keys(usage)])) {
    if (!findModel(id)) continue;
    const limits = modelTierSchema.safeParse(Object.hasOwn(tier, id) ? tier[id] : {});
    const used = modelUsageSchema.safeParse(Object.hasOwn(usage, id) ? usage[id] : {});
    if (!limits.success) issues.push(...limits.error.issues.map((issue) => describeIssue(['tier', 'models', id], issue)));
    if (!used.success) issues.push(...used.error.issues.map((issue) => describeIssue(['usage', 'models', id], issue)));
    if (!limits.success || !used.success) continue;
    const { maxConcurrentGenerations, maxDailyGenerations } = limits.data;
    models.set(id, {
      ...(maxConcurrentGenerations === undefined ? {} : { maxConcurrent: maxConcurrentGenerations }),
      maxDaily: maxDailyGenerations ?? null,
      dailyUsed: used.data.dailyGenerations ?? 0,
    });
  }
  // A wrong type is not a missing field: Runway's answer changed shape, and guessing could refuse everyone.
  if (issues.length > 0) return unreadable(issues);
  return { ok: true, snapshot: { creditBalance: root.data.creditBalance ?? null, models, readAtMs } };
}

/** Slots per model for the runner: Runway's limit, Infinity for no limit; models with no concurrency reported are left out (the runner's default). */
export function concurrencyOf(snapshot: OrganizationSnapshot): Map<string, number> {
  const slots = new Map<string, number>();
  for (const [id, standing] of snapshot.models) {
    if (standing.maxConcurrent !== undefined) slots.set(id, standing.maxConcurrent ?? Number.POSITIVE_INFINITY);
  }
  return slots;
}

/**
 * From when the bot's own generations add to the snapshot's daily count: the read, or the last
 * midnight UTC when the read was on an earlier day (its count was that day's, and has reset since).
 */
export function dailyCountFrom(snapshot: OrganizationSnapshot, nowMs: number): number {
  return Math.max(snapshot.readAtMs, utcDayStart(nowMs));
}

/**
 * Would Runway's organisation take this request? No when the account cannot pay for it on top of
 * what the bot's jobs already hold, or when the model's daily limit is reached. Unknown figures
 * (no balance, no limit, a stale snapshot) never refuse: Runway has the last word, and a create it
 * refuses is refunded.
 */
export function admitByOrganization(
  snapshot: OrganizationSnapshot,
  request: { readonly modelId: string; readonly priceCredits: number },
  usage: BotUsage,
  nowMs: number,
): OrganizationAdmission {
  if (nowMs - snapshot.readAtMs > SNAPSHOT_TRUSTED_MS) return { ok: true };
  if (snapshot.creditBalance !== null && snapshot.creditBalance - usage.chargedSinceRead < usage.heldCredits + request.priceCredits) {
    return { ok: false, failure: organizationOutOfCredits(request.priceCredits) };
  }
  const standing = snapshot.models.get(request.modelId);
  if (standing && standing.maxDaily !== null) {
    const usedByRunway = snapshot.readAtMs >= utcDayStart(nowMs) ? standing.dailyUsed : 0;
    if (usedByRunway + usage.startedSince >= standing.maxDaily) {
      return { ok: false, failure: dailyLimitReached({ modelId: request.modelId, maxDaily: standing.maxDaily, nowMs }) };
    }
  }
  return { ok: true };
}

/** `runway.organization_out_of_credits`: the Runway account itself cannot pay; the account's balance is the operator's business, so it is not shown. */
export function organizationOutOfCredits(priceCredits: number): Failure {
  return {
    code: 'runway.organization_out_of_credits',
    userMessage: [
      `The bot's Runway account does not have enough credits left for this image (${formatCredits(priceCredits)}), so Runway would refuse it. Nothing was charged.`,
      "No images can be made until the bot's operator tops up the Runway account; please try again later.",
    ].join('\n'),
  };
}

/** `runway.daily_limit_reached`: Runway's per-model daily cap for the account is used up; it resets at 00:00 UTC. */
export function dailyLimitReached(p: { readonly modelId: string; readonly maxDaily: number; readonly nowMs: number }): Failure {
  const resetsAt = utcDayStart(p.nowMs) + DAY_MS;
  return {
    code: 'runway.daily_limit_reached',
    userMessage: [
      `The bot's Runway account has reached Runway's daily limit for \`${p.modelId}\` (${p.maxDaily} ${p.maxDaily === 1 ? 'image' : 'images'} a day). Nothing was charged.`,
      `The limit resets at 00:00 UTC, ${formatWhen(resetsAt, p.nowMs)}: try again then, or pick another model.`,
    ].join('\n'),
  };
}

/**
 * Whether the balance is below the warning threshold, and whether that is news: a warning is due
 * once per crossing, not on every read while it stays low. An unknown balance changes nothing.
 */
export function lowBalanceCrossing(wasBelow: boolean, creditBalance: number | null, thresholdCredits: number): { readonly below: boolean; readonly warn: boolean } {
  if (creditBalance === null) return { below: wasBelow, warn: false };
  const below = creditBalance < thresholdCredits;
  return { below, warn: below && !wasBelow };
}

function utcDayStart(atMs: number): number {
  return Math.floor(atMs / DAY_MS) * DAY_MS;
}

/** Paths and zod's messages only, like the task parser: short enough for one log line. */
function describeIssue(prefix: readonly string[], issue: { readonly path: readonly PropertyKey[]; readonly message: string }): string {
  const path = [...prefix, ...issue.path.map(String)].join('.');
  return `${path || '(root)'}: ${issue.message}`;
}

function unreadable(issues: readonly string[]): OrganizationRead {
  return { ok: false, message: `unexpected organisation answer: ${issues.join('; ')}`.slice(0, 300) };
}
