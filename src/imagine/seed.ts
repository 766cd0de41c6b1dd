/**
 * Seeds: an integer from 0 to 4294967295 (Runway's range), for models that take one.
 * Text must be plain decimal digits, so `1e3`, `0x10`, `+7`, `1_000` and `1.0` are refused: a
 * seed is copied to reproduce an image, and a form that only sometimes means a number would make
 * the copy lie. A JavaScript number is judged by its value (the literal 1e3 is the number 1000).
 */
import { problem, type Problem } from '../errors.ts';
import type { ModelInfo } from '../models.ts';
import { echo } from './user-text.ts';

export const MAX_SEED = 4_294_967_295;

export type SeedCheck = { ok: true; seed: number | null } | { ok: false; problem: Problem };

/** The seed the user gave, or null when none; an empty text counts as none. */
export function checkSeed(model: ModelInfo, raw: string | number | undefined): SeedCheck {
  const text = typeof raw === 'number' ? String(raw) : (raw ?? '').trim();
  if (text === '') return { ok: true, seed: null };
  if (!model.supportsSeed) {
    return {
      ok: false,
      problem: problem(
        'request.seed_not_supported',
        `${model.label} (\`${model.id}\`) doesn't take a seed: leave the seed out, or pick a model that takes one.`,
      ),
    };
  }
  const seed = typeof raw === 'number' ? raw : /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    return {
      ok: false,
      problem: problem(
        'request.invalid_seed',
        `${echo(text)} isn't a seed: use a whole number from 0 to ${MAX_SEED}, written in digits (for example \`42\`), or leave it out for a random one.`,
      ),
    };
  }
  return { ok: true, seed };
}
