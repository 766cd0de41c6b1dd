/**
 * How many images one request asks for (`count`): Runway's `outputCount`, among the values the
 * model's catalogue entry takes. A model without `outputCount` makes one image; asking it for more
 * is refused before anything is spent. Text must be plain digits, like a seed.
 */
import type { Failure } from '../errors.ts';
import { offeredModels, type ModelInfo } from '../models.ts';
import { echo } from './user-text.ts';

export type CountCheck = { ok: true; count: number } | { ok: false; failure: Failure };

/** The count asked for (1 when none); an empty text counts as none. */
export function checkCount(model: ModelInfo, raw: string | number | undefined): CountCheck {
  const text = typeof raw === 'number' ? String(raw) : (raw ?? '').trim();
  if (text === '') return { ok: true, count: 1 };
  const count = typeof raw === 'number' ? raw : /^\d{1,3}$/.test(text) ? Number(text) : Number.NaN;
  // One image is what every model makes: `count 1` is never a mistake.
  if (count === 1) return { ok: true, count: 1 };
  if (model.outputCounts.length === 0) return { ok: false, failure: countNotSupported(model) };
  if (!Number.isInteger(count) || !model.outputCounts.includes(count)) return { ok: false, failure: countOutOfRange(model, text) };
  return { ok: true, count };
}

/** The largest count any offered model takes (1 when none takes `outputCount`): Discord's option maximum. */
export function largestOfferedCount(): number {
  return Math.max(1, ...offeredModels().flatMap((model) => model.outputCounts));
}

/** The counts a model takes, for messages and help: `1–10`, or `1 or 4`. */
export function describeCounts(counts: readonly number[]): string {
  const sorted = [...counts].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) return '1';
  const contiguous = sorted.every((n, i) => n === first + i);
  if (contiguous && sorted.length > 2) return `${first}–${last}`;
  return sorted.length === 1 ? `${first}` : `${sorted.slice(0, -1).join(', ')} or ${last}`;
}

/** `request.count_not_supported`: several images asked of a model that makes one per request. */
export function countNotSupported(model: Pick<ModelInfo, 'label' | 'id'>): Failure {
  const example = offeredModels().find((m) => m.outputCounts.length > 0);
  const alternative = example ? `, or pick a model that makes several, such as \`${example.id}\` (${describeCounts(example.outputCounts)})` : '';
  return {
    code: 'request.count_not_supported',
    userMessage: `${model.label} (\`${model.id}\`) makes one image per request: leave the count out${alternative}. Nothing was charged.`,
  };
}

/** `request.count_out_of_range`: `text` (as typed) is not a count the model takes. */
export function countOutOfRange(model: Pick<ModelInfo, 'label' | 'id' | 'outputCounts'>, text: string): Failure {
  return {
    code: 'request.count_out_of_range',
    userMessage: `${model.label} (\`${model.id}\`) makes ${describeCounts(model.outputCounts)} images per request, not ${echo(text)}: pick one of those counts. Nothing was charged.`,
  };
}
