import { describe, expect, it } from 'vitest';
import { communityCapReached, formatWhen, insufficientCredits } from './messages.ts';

const NOW = Date.UTC(2026, 0, 1, 20, 40);

describe('insufficientCredits', () => {
  it('gives the balance, the price, cheaper options and when the balance refills', () => {
    expect(
      insufficientCredits({
        balance: 3, price: 5, modelId: 'gen4_image', ratio: '1920:1080', allowance: 50, nowMs: NOW,
        cheaperOptions: ['`gen4_image_turbo` with a reference image (2 credits)'], resetsAt: Date.UTC(2026, 0, 2),
      }).userMessage,
    ).toBe(
      [
        'You have 3 credits; this image costs 5 (`gen4_image` at 1920:1080). Nothing was charged.',
        'Cheaper: `gen4_image_turbo` with a reference image (2 credits).',
        'Your balance refills to 50 credits in 3 h 20 min (2026-01-02 00:00 UTC).',
      ].join('\n'),
    );
  });

  it('does not promise a refill that never comes or falls short', () => {
    const base = { balance: 1, price: 8, modelId: 'gen4_image', ratio: '1920:1080', cheaperOptions: [], nowMs: NOW };
    expect(insufficientCredits({ ...base, allowance: 10, resetsAt: null }).userMessage).toContain('does not refill on its own');
    expect(insufficientCredits({ ...base, allowance: 5, resetsAt: NOW + 1000 }).userMessage).toContain('Even a full allowance (5 credits)');
    expect(insufficientCredits({ ...base, balance: 1, price: 5, allowance: 1, resetsAt: null }).userMessage).toMatch(/^You have 1 credit;/);
  });
});

describe('communityCapReached', () => {
  it('says what is left of the shared budget and when it resets', () => {
    expect(communityCapReached({ capRemaining: 4, price: 8, resetsAt: Date.UTC(2026, 0, 5), period: 'week', nowMs: NOW }).userMessage).toBe(
      [
        'This community has used its shared image budget this week: 4 credits left, and this image costs 8. Nothing was charged.',
        'The budget resets in 3 days (2026-01-05 00:00 UTC); a cheaper option may still fit.',
      ].join('\n'),
    );
    expect(communityCapReached({ capRemaining: 0, price: 5, resetsAt: null, nowMs: NOW }).userMessage).toContain('`/quota cap`');
  });
});

describe('formatWhen', () => {
  it('is relative for the reader and absolute in UTC', () => {
    expect(formatWhen(NOW + 120_000, NOW)).toBe('in 2 min (2026-01-01 20:42 UTC)');
    expect(formatWhen(NOW + 2 * 3_600_000, NOW)).toBe('in 2 h (2026-01-01 22:40 UTC)');
  });
});
