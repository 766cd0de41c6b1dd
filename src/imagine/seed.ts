/**
 * Seeds: an integer from 0 to 4294967295 (Runway's range), for models that take one.
 * Text must be plain decimal digits, so `1e3`, `0x10`, `+7`, `1_000` and `1.0` are refused: a
 * seed is copied to reproduce an image, and a form that only sometimes means a number would make
 * the copy lie. A JavaScript number is judged by its value (the literal 1e3 is the number 1000).
 */
import type { Failure } from '../errors.ts';
import type { ModelInfo } from '../models.ts';
import { echo } from './user-text.ts';

export const MAX_SEED = 4_294_967_295;

export type SeedCheck = { ok: true; seed: number | null } | { ok: false; failure: Failure };

/** The seed the user gave, or null when none; an empty text counts as none. */
export function checkSeed(model: ModelInfo, raw: string | number | undefined): SeedCheck {
  const text = typeof raw === 'number' ? String(raw) : (raw ?? '').trim();
  if (text === '') return { ok: true, seed: null };
  if (!model.supportsSeed) return { ok: false, failure: seedNotSupported(model) };
  const seed = typeof raw === 'number' ? raw : /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) return { ok: false, failure: invalidSeed(text) };
  return { ok: true, seed };
}

/** `request.seed_not_supported`: the model takes no seed. */
export function seedNotSupported(model: Pick<ModelInfo, 'label' | 'id'>): Failure {
  return {
    code: 'request.seed_not_supported',
    userMessage: `${model.label} (\`${model.id}\`) doesn't take a seed: leave the seed out, or pick a model that takes one.`,
  };
}

/** `request.invalid_seed`: `text` (as typed) is not a seed. */
export function invalidSeed(text: string): Failure {
  return {
    code: 'request.invalid_seed',
    userMessage: `${echo(text)} isn't a seed: use a whole number from 0 to ${MAX_SEED}, written in digits (for example \`42\`), or leave it out for a random one.`,
  };
}
