import { describe, expect, it } from 'vitest';
import { nextPeriodStart, parsePeriod, periodKey, periodStart } from './periods.ts';

describe('UTC periods', () => {
  it('a day runs from 00:00 to 00:00 UTC', () => {
    const t = Date.UTC(2026, 2, 10, 23, 59, 59, 999);
    expect(periodStart('day', t)).toBe(Date.UTC(2026, 2, 10));
    expect(nextPeriodStart('day', t)).toBe(Date.UTC(2026, 2, 11));
    expect(periodKey('day', t)).toBe('day:2026-03-10');
  });

  it('a week is an ISO week starting Monday, even across the year end', () => {
    // Sunday 2026-01-04 belongs to the week of Monday 2025-12-29.
    expect(periodStart('week', Date.UTC(2026, 0, 4, 22))).toBe(Date.UTC(2025, 11, 29));
    expect(periodStart('week', Date.UTC(2026, 0, 5))).toBe(Date.UTC(2026, 0, 5));
    expect(nextPeriodStart('week', Date.UTC(2026, 0, 1))).toBe(Date.UTC(2026, 0, 5));
    expect(periodKey('week', Date.UTC(2026, 0, 1))).toBe('week:2025-12-29');
  });

  it('a month is a calendar month, December rolling into January', () => {
    expect(periodStart('month', Date.UTC(2024, 1, 29, 12))).toBe(Date.UTC(2024, 1, 1));
    expect(nextPeriodStart('month', Date.UTC(2025, 11, 31, 23))).toBe(Date.UTC(2026, 0, 1));
    expect(periodKey('month', Date.UTC(2025, 11, 31))).toBe('month:2025-12');
  });

  it('none never starts or ends', () => {
    expect(periodStart('none', 0)).toBeNull();
    expect(nextPeriodStart('none', 0)).toBeNull();
    expect(periodKey('none', 123)).toBe('none');
  });

  it('reads periods the way moderators type them', () => {
    expect(parsePeriod(' Weekly ')).toBe('week');
    expect(parsePeriod('DAY')).toBe('day');
    expect(parsePeriod('fortnight')).toBeNull();
  });
});
