/**
 * Amounts typed by moderators (`/quota grant @ana 20`) arrive as raw text so that each kind of
 * mistake gets its own explanation instead of a silent NaN or a 1e309 that becomes Infinity.
 */
import { problem, type Problem } from '../errors.ts';

/** The most a single /quota amount may be: large enough for any real budget, small enough to catch typos. */
export const MAX_QUOTA_AMOUNT = 1_000_000;

const RANGE = 'a whole number of credits from 0 to 1,000,000';

/** Parse a whole, non-negative number of credits (digits only, commas or underscores allowed as separators). */
export function parseCreditAmount(raw: string): { ok: true; amount: number } | { ok: false; problem: Problem } {
  const text = raw.trim();
  const shown = `\`${text.replace(/`/g, "'").slice(0, 24)}${text.length > 24 ? '…' : ''}\``;
  const invalid = (why: string) => ({ ok: false as const, problem: problem('quota.invalid_amount', why) });
  if (text === '') return invalid(`Give an amount: ${RANGE}, like \`20\`.`);
  const digits = text.replace(/[,_](?=\d{3}(?:\D|$))/g, '').replace(/^0+(?=\d)/, '');
  if (/^\d+$/.test(digits)) {
    // Compare as text length first: a 400-digit number would round to Infinity as a Number.
    const amount = digits.length > 7 ? Number.POSITIVE_INFINITY : Number(digits);
    if (amount > MAX_QUOTA_AMOUNT) return invalid(`${shown} is more than the limit of 1,000,000 credits.`);
    return { ok: true, amount };
  }
  if (/^-\s*[\d.]/.test(text)) {
    return invalid(`${shown} is negative: use ${RANGE}. To lower someone's balance, \`/quota set\` it to the new amount.`);
  }
  if (/^[+]?\d*\.\d+$|^\d+\.$/.test(text)) return invalid(`${shown} is not a whole number: use ${RANGE}, like \`20\`.`);
  return invalid(`${shown} is not an amount: use ${RANGE}, like \`20\`.`);
}
