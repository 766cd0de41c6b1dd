/**
 * Text as a blocked-words check must see it: Unicode-normalised (NFKC folds fullwidth `ｃａｔ` and
 * ligatures into plain letters), invisible characters removed (zero-width joiners and spaces, soft
 * hyphens, variation selectors, bidi controls), case-folded, then split into words of letters,
 * marks and digits. A word list compares word sequences, so `cat` never matches inside `concatenate`.
 */

// Characters that render as nothing and so can hide a word from a naive match.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]|\uDB40[\uDD00-\uDDEF]/g;

/** The words of `text`, normalised for comparison. */
export function wordsOf(text: string): string[] {
  return text
    .normalize('NFKC')
    .replace(INVISIBLE, '')
    .toLocaleLowerCase('und')
    .normalize('NFKC')
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter((word) => word !== '');
}

/** A blocked entry as stored: its words joined by single spaces (`"big cat"`), or '' when it has none. */
export function normaliseEntry(text: string): string {
  return wordsOf(text).join(' ');
}

/** The first entry whose whole words appear, in order and adjacent, in `text`; null when none does. */
export function findBlocked(text: string, entries: readonly string[]): string | null {
  if (entries.length === 0) return null;
  const padded = ` ${wordsOf(text).join(' ')} `;
  return entries.find((entry) => entry !== '' && padded.includes(` ${entry} `)) ?? null;
}
