/** Rules that must hold for every input, not just the ones we thought of. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MODELS, takesRatio } from '../models.ts';
import { resolveRatio } from './ratios.ts';
import { validateImagineRequest } from './request.ts';
import { isValidTag } from './tags.ts';
import { parseImagineText } from './text-command.ts';

const RUNWAY_TAG = /^[A-Za-z][A-Za-z0-9_]{2,15}$/;
const tagChars = fc.constantFrom(...'abcXYZ019_-@ é'.split(''));
const tagLike = fc.oneof(fc.string(), fc.string({ unit: tagChars, maxLength: 20 }), fc.stringMatching(RUNWAY_TAG));
const ratioLike = fc.oneof(
  fc.string(),
  fc.constantFrom('16:9', '9:16', '1:1', '4:3', '21:9', 'landscape', 'portrait', 'square', 'wide', '720p', '1080p', '16:9 720p'),
  fc.tuple(fc.nat(5000), fc.nat(5000), fc.constantFrom(':', 'x', ' x ')).map(([w, h, sep]) => `${w}${sep}${h}`),
);
const model = fc.constantFrom(...MODELS);

describe('properties', () => {
  it('isValidTag accepts exactly the tags Runway accepts', () => {
    expect(() => fc.assert(fc.property(tagLike, (tag) => isValidTag(tag) === RUNWAY_TAG.test(tag)))).not.toThrow();
  });

  it('every ratio resolveRatio returns is one the model offers', () => {
    expect(() =>
      fc.assert(
        fc.property(model, ratioLike, (m, raw) => {
          const result = resolveRatio(m, raw);
          return !result.ok || takesRatio(m, result.ratio);
        }),
      ),
    ).not.toThrow();
  });

  it('parseImagineText never throws and always answers in one of its shapes', () => {
    const flaggy = fc.array(fc.oneof(fc.string(), fc.constantFrom('--model', '—ratio', '--tags', '--ref', '"', '“', "'", '=', '--seed=', ' ')), { maxLength: 12 }).map((parts) => parts.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), flaggy), (text) => {
        const parsed = parseImagineText(text);
        expect(parsed.ok ? parsed.kind : parsed.failure.code).toBeTypeOf('string');
      }),
    );
  });

  it('validateImagineRequest never throws, and what it accepts is priced and within limits', () => {
    expect(() =>
      fc.assert(
        fc.property(
          fc.record({
            prompt: fc.oneof(fc.string({ maxLength: 1200 }), tagLike.map((t) => `a photo of @${t} <@123> x@${t}`)),
            model: fc.option(fc.oneof(fc.string(), fc.constantFrom(...MODELS.map((m) => m.id))), { nil: undefined }),
            ratio: fc.option(ratioLike, { nil: undefined }),
            seed: fc.option(fc.oneof(fc.string(), fc.double(), fc.integer()), { nil: undefined }),
            tags: fc.option(fc.array(tagLike, { maxLength: 4 }), { nil: undefined }),
            referenceCount: fc.integer({ min: -1, max: 5 }),
          }),
          (input) => {
            const check = validateImagineRequest(input);
            if (!check.ok) return check.failure.code.startsWith('request.') && check.failure.userMessage.length > 0;
            const m = MODELS.find((x) => x.id === check.request.modelId);
            return (
              m !== undefined &&
              takesRatio(m, check.request.ratio) &&
              check.request.prompt.length <= m.maxPromptUnits &&
              check.request.tags.every(isValidTag) &&
              check.priceCredits > 0
            );
          },
        ),
      ),
    ).not.toThrow();
  });
});
