import { describe, expect, it } from 'vitest';
import { upscaleRefusal, upscaleTooLarge, upscaleTooSmall } from './upscale.ts';

describe("Runway's upscaler limits, checked before anything is held", () => {
  it.each([
    { size: { width: 299, height: 1_000 }, factor: 2 as const, refused: 'small' },
    { size: { width: 300, height: 300 }, factor: 4 as const, refused: null },
    { size: { width: 8_000, height: 300 }, factor: 2 as const, refused: null },
    { size: { width: 8_001, height: 300 }, factor: 2 as const, refused: 'large' },
    // 25.3 million pixels out: the last square that fits ×2 and the first that does not, then ×4.
    { size: { width: 2_514, height: 2_514 }, factor: 2 as const, refused: null },
    { size: { width: 2_515, height: 2_515 }, factor: 2 as const, refused: 'large' },
    { size: { width: 1_257, height: 1_257 }, factor: 4 as const, refused: null },
    { size: { width: 1_258, height: 1_258 }, factor: 4 as const, refused: 'large' },
  ])('$size.width×$size.height ×$factor: $refused', ({ size, factor, refused }) => {
    const expected = refused === null ? null : refused === 'small' ? upscaleTooSmall(size) : upscaleTooLarge(size, factor);
    expect(upscaleRefusal(size, factor)).toEqual(expected);
  });

  it('offers ×2 in the refusal of ×4 only when ×2 fits', () => {
    expect(upscaleTooLarge({ width: 1_920, height: 1_080 }, 4).userMessage).toMatch(/ Use Upscale ×2 instead: it fits\.$/);
    expect(upscaleTooLarge({ width: 3_000, height: 3_000 }, 4).userMessage).toMatch(/ Use a smaller size of the image instead\.$/);
  });
});
