/**
 * Output ratios: the catalogue's exact `W:H` values, plus the friendly forms people type.
 *
 * Accepted (case-insensitive, `x`, `×` or `/` for `:`):
 * - an exact value of the model: `1920:1080`, `1920x1080`;
 * - an aspect (both numbers ≤ 64): `16:9`, `4:3`, `21:9`, or a word: `landscape` (16:9),
 *   `portrait` (9:16), `square` (1:1), `wide` (21:9);
 * - a height hint: `720p`, `1080p` (the short side), alone (the default ratio's shape) or with an aspect.
 * An aspect maps to the model's values within 3% of it (Gemini's 1184:864 is Google's "4:3", 2.8% off);
 * when several match, the highest resolution (most pixels) wins, so `16:9` on gen4 is 1920:1080 and
 * `16:9 720p` is 1280:720. A resolution the model lacks (`1280:720` on Gemini) is refused with the
 * model's value of the same shape as a suggestion, never swapped silently.
 */
import type { Failure } from '../errors.ts';
import type { ModelInfo } from '../models.ts';
import { echo, listInWords } from './user-text.ts';

export type RatioResolution = { ok: true; ratio: string } | { ok: false; failure: Failure };

/** A ratio as help and autocomplete show it: `{ value: '1920:1080', name: '1920:1080 (16:9, 1080p)' }`. */
export interface RatioChoice {
  readonly value: string;
  readonly name: string;
}

/** How far (relative) a value's shape may be from an aspect and still count as it. */
const ASPECT_TOLERANCE = 0.03;
/** Numbers this small describe a shape, not a size: `16:9` is an aspect, `1280:720` a resolution. */
const MAX_ASPECT_TERM = 64;
/** Heights with a common "p" name, used to label values. */
const NAMED_HEIGHTS = [480, 720, 1080, 1440, 2160] as const;

/** Common aspects by name, for reading input and labelling values. */
const NAMED_ASPECTS: readonly (readonly [number, number])[] = [
  [1, 1], [16, 9], [9, 16], [4, 3], [3, 4], [3, 2], [2, 3], [5, 4], [4, 5], [21, 9], [9, 21],
];

/** Ratio words and the aspect they stand for (a Map: user text must never reach Object.prototype). */
export const RATIO_WORDS: ReadonlyMap<string, string> = new Map([
  ['landscape', '16:9'],
  ['portrait', '9:16'],
  ['square', '1:1'],
  ['wide', '21:9'],
]);

interface Size {
  readonly width: number;
  readonly height: number;
}

function parseSize(text: string): Size | null {
  const match = /^(\d{1,6}):(\d{1,6})$/.exec(text);
  if (!match) return null;
  const width = Number(match[1]);
  const height = Number(match[2]);
  return width > 0 && height > 0 ? { width, height } : null;
}

const aspectOf = (size: Size): number => size.width / size.height;
const isNear = (aspect: number, target: number): boolean => Math.abs(aspect / target - 1) <= ASPECT_TOLERANCE;
const pixels = (size: Size): number => size.width * size.height;

function sizeOfValue(value: string): Size {
  // Catalogue values are `W:H` by construction; a malformed one must not take the bot down.
  return parseSize(value) ?? { width: 1, height: 1 };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `16:9` for 1920:1080 and for 1360:768 (0.4% off); the reduced fraction when no common name fits. */
export function aspectName(value: string): string {
  const size = sizeOfValue(value);
  const named = NAMED_ASPECTS.find(([w, h]) => isNear(aspectOf(size), w / h));
  if (named) return `${named[0]}:${named[1]}`;
  const d = gcd(size.width, size.height);
  return `${size.width / d}:${size.height / d}`;
}

/** "1920:1080 (16:9, 1080p)": the value first, so it can be copied as is. */
export function friendlyRatioName(value: string): string {
  const size = sizeOfValue(value);
  const shortSide = Math.min(size.width, size.height);
  const height = NAMED_HEIGHTS.find((h) => h === shortSide);
  return `${value} (${aspectName(value)}${height ? `, ${height}p` : ''})`;
}

/** Every ratio the model offers, with friendly names, in catalogue order (help, Discord autocomplete). */
export function listRatioChoices(model: ModelInfo): RatioChoice[] {
  return model.ratios.map((r) => ({ value: r.value, name: friendlyRatioName(r.value) }));
}

/** The model's best value for a shape: within tolerance, optional short side, most pixels, then closest. */
export function bestValueForAspect(model: ModelInfo, aspect: number, shortSide?: number): string | null {
  let best: { value: string; pixels: number; distance: number } | null = null;
  for (const { value } of model.ratios) {
    const size = sizeOfValue(value);
    if (!isNear(aspectOf(size), aspect)) continue;
    if (shortSide !== undefined && Math.min(size.width, size.height) !== shortSide) continue;
    const candidate = { value, pixels: pixels(size), distance: Math.abs(aspectOf(size) / aspect - 1) };
    if (!best || candidate.pixels > best.pixels || (candidate.pixels === best.pixels && candidate.distance < best.distance)) {
      best = candidate;
    }
  }
  return best?.value ?? null;
}

/** The pixel count of a `W:H` value: how "large" a ratio is. */
export function pixelsOf(value: string): number {
  return pixels(sizeOfValue(value));
}

/** Whether two values have the same shape (used to suggest cheaper sizes of the same picture). */
export function isSameShape(a: string, b: string): boolean {
  return isNear(aspectOf(sizeOfValue(a)), aspectOf(sizeOfValue(b)));
}

type Token =
  | { kind: 'value'; value: string }
  | { kind: 'size'; text: string; size: Size }
  | { kind: 'aspect'; aspect: number }
  | { kind: 'height'; shortSide: number };

function readToken(model: ModelInfo, token: string): Token | null {
  if (model.ratios.some((r) => r.value === token)) return { kind: 'value', value: token };
  const word = RATIO_WORDS.get(token);
  const size = parseSize(word ?? token);
  if (size) {
    return Math.max(size.width, size.height) <= MAX_ASPECT_TERM ? { kind: 'aspect', aspect: aspectOf(size) } : { kind: 'size', text: token, size };
  }
  const height = /^(\d{3,4})p$/.exec(token);
  if (height) return { kind: 'height', shortSide: Number(height[1]) };
  return null;
}

/** Turn what the user typed into one of the model's ratio values, or explain what it offers. */
export function resolveRatio(model: ModelInfo, raw: string): RatioResolution {
  const text = raw
    .toLowerCase()
    .replace(/(\d)\s*[:x×/]\s*(\d)/g, '$1:$2')
    .trim();
  if (text === '') return { ok: true, ratio: model.defaultRatio };
  // "1920:1080 (16:9, 1080p)" pasted from help or autocomplete reads as its parts.
  const tokens = text.split(/[\s,()]+/).filter((t) => t !== '');
  let aspect: number | undefined;
  let shortSide: number | undefined;
  for (const part of tokens) {
    const token = readToken(model, part);
    if (!token) return notOffered(model, raw);
    switch (token.kind) {
      case 'value':
        return { ok: true, ratio: token.value };
      case 'size': {
        const sameShape = bestValueForAspect(model, aspectOf(token.size));
        return notOffered(model, raw, sameShape);
      }
      case 'aspect':
        aspect ??= token.aspect;
        break;
      case 'height':
        shortSide ??= token.shortSide;
        break;
      default: {
        const unreachable: never = token;
        return unreachable;
      }
    }
  }
  const shape = aspect ?? (shortSide !== undefined ? aspectOf(sizeOfValue(model.defaultRatio)) : undefined);
  const value = shape === undefined ? null : bestValueForAspect(model, shape, shortSide);
  return value ? { ok: true, ratio: value } : notOffered(model, raw);
}

/** What each ratio word means for this model, e.g. "`landscape` = 1920:1080"; words it cannot serve are left out. */
export function describeRatioWords(model: ModelInfo): string[] {
  return [...RATIO_WORDS].flatMap(([word, aspect]) => {
    const value = bestValueForAspect(model, aspectOf(sizeOfValue(aspect)));
    return value ? [`\`${word}\` = ${value}`] : [];
  });
}

function notOffered(model: ModelInfo, raw: string, suggestion?: string | null): RatioResolution {
  return { ok: false, failure: ratioNotOffered(model, raw, suggestion) };
}

/** `request.ratio_not_offered`: the model has no ratio `raw`; `suggestion` is the same shape at a size it has. */
export function ratioNotOffered(model: ModelInfo, raw: string, suggestion?: string | null): Failure {
  const choices = listRatioChoices(model).map((c) => `\`${c.value}\`${c.name.slice(c.value.length)}`);
  const closest = suggestion ? ` The same shape on this model is \`${suggestion}\`.` : '';
  return {
    code: 'request.ratio_not_offered',
    userMessage:
      `${model.label} (\`${model.id}\`) doesn't offer the ratio ${echo(raw)}.${closest} Pick one of: ${choices.join(', ')}. ` +
      `Shortcuts: ${listInWords(describeRatioWords(model))}; an aspect such as \`16:9\` takes its largest size, and \`720p\` or \`1080p\` picks the height.`,
  };
}
