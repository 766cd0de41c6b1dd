/**
 * Allowance and cap periods, all in UTC so every member of a community sees the same boundary
 * whatever their time zone: a day is a calendar day, a week an ISO week (starting Monday), a month
 * a calendar month. `none` is a single period that never ends.
 */

export const PERIODS = ['day', 'week', 'month', 'none'] as const;
export type Period = (typeof PERIODS)[number];

const DAY_MS = 86_400_000;

/** Read a period the way a moderator might type it (`day`, `Daily`, `weekly`…); null if unknown. */
export function parsePeriod(text: string): Period | null {
  const word = text.trim().toLowerCase();
  switch (word) {
    case 'day':
    case 'daily':
      return 'day';
    case 'week':
    case 'weekly':
      return 'week';
    case 'month':
    case 'monthly':
      return 'month';
    case 'none':
    case 'never':
      return 'none';
    default:
      return null;
  }
}

/** The first instant of the period containing `atMs`; null for `none` (it has no start). */
export function periodStart(period: Period, atMs: number): number | null {
  const date = new Date(atMs);
  const dayStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  switch (period) {
    case 'day':
      return dayStart;
    case 'week':
      // getUTCDay: Sunday = 0; ISO weeks start on Monday.
      return dayStart - ((date.getUTCDay() + 6) % 7) * DAY_MS;
    case 'month':
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    case 'none':
      return null;
    default:
      return assertNever(period);
  }
}

/** The first instant of the next period: when an allowance refills or a cap resets; null for `none`. */
export function nextPeriodStart(period: Period, atMs: number): number | null {
  const date = new Date(atMs);
  const start = periodStart(period, atMs);
  switch (period) {
    case 'day':
      return (start as number) + DAY_MS;
    case 'week':
      return (start as number) + 7 * DAY_MS;
    case 'month':
      // Date.UTC rolls month 12 over into January of the next year.
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    case 'none':
      return null;
    default:
      return assertNever(period);
  }
}

/**
 * A stable name for the period containing `atMs` (`day:2026-01-05`, `week:2026-01-05`,
 * `month:2026-01`, `none`), stored in `accounts.allowance_period_key` for lazy roll-over. The kind
 * is part of the key, so switching a community from weekly to daily refills once at the switch.
 */
export function periodKey(period: Period, atMs: number): string {
  const start = periodStart(period, atMs);
  if (start === null) return 'none';
  const iso = new Date(start).toISOString();
  return period === 'month' ? `month:${iso.slice(0, 7)}` : `${period}:${iso.slice(0, 10)}`;
}

/** Spend is attributed to [start, end): the whole history for `none`. */
export function periodRange(period: Period, atMs: number): { startMs: number; endMs: number } {
  return {
    startMs: periodStart(period, atMs) ?? Number.MIN_SAFE_INTEGER,
    endMs: nextPeriodStart(period, atMs) ?? Number.MAX_SAFE_INTEGER,
  };
}

function assertNever(value: never): never {
  throw new Error(`unknown period ${String(value)}`);
}
