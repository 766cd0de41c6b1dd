import { describe, expect, it } from 'vitest';
import { retryAfterMs } from './gateway.ts';

describe('retryAfterMs', () => {
  const now = Date.UTC(2026, 9, 21, 7, 28, 0);

  it('prefers retry-after-ms, then retry-after in seconds', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3_000);
    expect(retryAfterMs(new Headers({}), now)).toBeNull();
  });

  it('measures a Retry-After date from the given time, never below zero', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 21 Oct 2026 07:28:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 21 Oct 2026 07:27:00 GMT' }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
  });
});
