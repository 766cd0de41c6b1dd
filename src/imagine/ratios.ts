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
 * - `auto`, `auto_1k`, `auto_2k` (the model picks the shape) are taken as typed, never by an aspect.
 * - A model with a freeform pixel range (seedream5_lite) also takes any `W:H` within it, as typed.
 */
import type { Failure } from '../errors.ts';
import { isFreeformSize, sizeOf, type ModelInfo } from '../models.ts';
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

const parseSize = (text: string): Size | null => sizeOf(text);

const aspectOf = (size: Size): number => size.width / size.height;
const isNear = (aspect: number, target: number): boolean => Math.abs(aspect / target - 1) <= ASPECT_TOLERANCE;
const pixels = (size: Size): number => size.width * size.height;

/** What `auto`-like values say in names: the model picks the shape, at a resolution tier if named. */
function describeAuto(value: string): string {
  const tier = /^auto_(\d+k)$/i.exec(value);
  return tier ? `the model picks the shape, ${tier[1]?.toUpperCase()}` : 'the model picks the shape';
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `16:9` for 1920:1080 and for 1360:768 (0.4% off); the reduced fraction when no common name fits. */
export function aspectName(value: string): string {
  const size = parseSize(value);
  if (!size) return value;
  const named = NAMED_ASPECTS.find(([w, h]) => isNear(aspectOf(size), w / h));
  if (named) return `${named[0]}:${named[1]}`;
  const d = gcd(size.width, size.height);
  return `${size.width / d}:${size.height / d}`;
}

/** "1920:1080 (16:9, 1080p)": the value first, so it can be copied as is. */
export function friendlyRatioName(value: string): string {
  const size = parseSize(value);
  if (!size) return `${value} (${describeAuto(value)})`;
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
    const size = parseSize(value);
    if (!size || !isNear(aspectOf(size), aspect)) continue;
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
  const size = parseSize(value);
  return size ? pixels(size) : 0;
}

/** Whether two values have the same shape (used to suggest cheaper sizes of the same picture). */
export function isSameShape(a: string, b: string): boolean {
  const sizeA = parseSize(a);
  const sizeB = parseSize(b);
  return sizeA !== null && sizeB !== null && isNear(aspectOf(sizeA), aspectOf(sizeB));
}

type Token =
  | { kind: 'value'; value: string }
  | { kind: 'size'; size: Size }
  | { kind: 'aspect'; aspect: number }
  | { kind: 'height'; shortSide: number };

function readToken(model: ModelInfo, token: string): Token | null {
  const listed = model.ratios.find((r) => r.value.toLowerCase() === token);
  if (listed) return { kind: 'value', value: listed.value };
  const word = RATIO_WORDS.get(token);
  const size = parseSize(word ?? token);
  if (size) {
    if (Math.max(size.width, size.height) <= MAX_ASPECT_TERM) return { kind: 'aspect', aspect: aspectOf(size) };
    // `01920:1080` is `1920:1080`: a freeform size is sent as Runway reads it.
    const canonical = `${size.width}:${size.height}`;
    return isFreeformSize(model, canonical) ? { kind: 'value', value: canonical } : { kind: 'size', size };
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
  const defaultSize = parseSize(model.defaultRatio);
  const shape = aspect ?? (shortSide !== undefined && defaultSize ? aspectOf(defaultSize) : undefined);
  const value = shape === undefined ? null : bestValueForAspect(model, shape, shortSide);
  return value ? { ok: true, ratio: value } : notOffered(model, raw);
}

/** What each ratio word means for this model, e.g. "`landscape` = 1920:1080"; words it cannot serve are left out. */
export function describeRatioWords(model: ModelInfo): string[] {
  return [...RATIO_WORDS].flatMap(([word, aspect]) => {
    const size = parseSize(aspect);
    const value = size ? bestValueForAspect(model, aspectOf(size)) : null;
    return value ? [`\`${word}\` = ${value}`] : [];
  });
}

function notOffered(model: ModelInfo, raw: string, suggestion?: string | null): RatioResolution {
  return { ok: false, failure: ratioNotOffered(model, raw, suggestion) };
}

/** Up to this many ratios a refusal lists them all; beyond, it lists each shape's largest size. */
const MAX_LISTED_RATIOS = 16;

/**
 * The ratios a refusal names: all of them for a short list; for a long one (GPT's 31, Gemini 3.1
 * Flash's 56) each shape once at its largest size, plus the `auto` values, so the message stays short.
 */
function ratiosToList(model: ModelInfo): { values: string[]; isSummary: boolean } {
  const all = model.ratios.map((r) => r.value);
  if (all.length <= MAX_LISTED_RATIOS) return { values: all, isSummary: false };
  const largest = new Map<string, string>();
  for (const value of all) {
    const shape = parseSize(value) ? aspectName(value) : value;
    const kept = largest.get(shape);
    if (kept === undefined || pixelsOf(value) > pixelsOf(kept)) largest.set(shape, value);
  }
  return { values: [...largest.values()], isSummary: true };
}

/** `request.ratio_not_offered`: the model has no ratio `raw`; `suggestion` is the same shape at a size it has. */
export function ratioNotOffered(model: ModelInfo, raw: string, suggestion?: string | null): Failure {
  const { values, isSummary } = ratiosToList(model);
  const choices = values.map((value) => `\`${value}\`${friendlyRatioName(value).slice(value.length)}`);
  const closest = suggestion ? ` The same shape on this model is \`${suggestion}\`.` : '';
  const smaller = isSummary ? " (most shapes also come smaller: type the size exactly, or pick it from Discord's ratio list)" : '';
  const range = model.freeformPixels;
  const freeform = range ? ` Or give any size \`W:H\` of ${formatPixels(range.min)} to ${formatPixels(range.max)} pixels in all.` : '';
  const words = describeRatioWords(model);
  return {
    code: 'request.ratio_not_offered',
    userMessage:
      `${model.label} (\`${model.id}\`) doesn't offer the ratio ${echo(raw)}.${closest} Pick one of: ${choices.join(', ')}${smaller}.${freeform} ` +
      `${words.length > 0 ? `Shortcuts: ${listInWords(words)}; a` : 'A'}n aspect such as \`16:9\` takes its largest size, and \`720p\` or \`1080p\` picks the height.`,
  };
}

/** 3686400 → "3,686,400". */
function formatPixels(n: number): string {
  return n.toLocaleString('en-US');
}
