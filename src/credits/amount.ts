/**
 * Amounts typed by moderators (`/quota grant @ana 20`) arrive as raw text so that each kind of
 * mistake gets its own explanation instead of a silent NaN or a 1e309 that becomes Infinity.
 */
import type { Failure } from '../errors.ts';

/** The most a single /quota amount may be: large enough for any real budget, small enough to catch typos. */
export const MAX_QUOTA_AMOUNT = 1_000_000;

const RANGE = 'a whole number of credits from 0 to 1,000,000';

/** What is wrong with an amount; `raw` is the text as typed, echoed back. */
export type AmountFault =
  | { readonly kind: 'missing' }
  | { readonly kind: 'too_large'; readonly raw: string }
  | { readonly kind: 'negative'; readonly raw: string }
  | { readonly kind: 'not_whole'; readonly raw: string }
  | { readonly kind: 'not_a_number'; readonly raw: string }
  /** A grant of 0 parses, but changes nothing: surely not what the moderator meant. */
  | { readonly kind: 'zero_grant' };

/** `quota.invalid_amount`: each kind of mistake in a /quota amount, explained. */
export function invalidAmount(fault: AmountFault): Failure {
  return { code: 'quota.invalid_amount', userMessage: describeFault(fault) };
}

function describeFault(fault: AmountFault): string {
  switch (fault.kind) {
    case 'missing':
      return `Give an amount: ${RANGE}, like \`20\`.`;
    case 'too_large':
      return `${shown(fault.raw)} is more than the limit of 1,000,000 credits.`;
    case 'negative':
      return `${shown(fault.raw)} is negative: use ${RANGE}. To lower someone's balance, \`/quota set\` it to the new amount.`;
    case 'not_whole':
      return `${shown(fault.raw)} is not a whole number: use ${RANGE}, like \`20\`.`;
    case 'not_a_number':
      return `${shown(fault.raw)} is not an amount: use ${RANGE}, like \`20\`.`;
    case 'zero_grant':
      return 'A grant of 0 credits changes nothing: give at least `1`.';
    default: {
      const unreachable: never = fault;
      throw new Error(`unhandled amount fault ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The amount as typed, as a `code` span: backticks swapped so it cannot end the span early. */
function shown(raw: string): string {
  const text = raw.trim();
  return `\`${text.replace(/`/g, "'").slice(0, 24)}${text.length > 24 ? '…' : ''}\``;
}

/** Parse a whole, non-negative number of credits (digits only, commas or underscores allowed as separators). */
export function parseCreditAmount(raw: string): { ok: true; amount: number } | { ok: false; failure: Failure } {
  const text = raw.trim();
  const invalid = (fault: AmountFault) => ({ ok: false as const, failure: invalidAmount(fault) });
  if (text === '') return invalid({ kind: 'missing' });
  const digits = text.replace(/[,_](?=\d{3}(?:\D|$))/g, '').replace(/^0+(?=\d)/, '');
  if (/^\d+$/.test(digits)) {
    // Compare as text length first: a 400-digit number would round to Infinity as a Number.
    const amount = digits.length > 7 ? Number.POSITIVE_INFINITY : Number(digits);
    if (amount > MAX_QUOTA_AMOUNT) return invalid({ kind: 'too_large', raw: text });
    return { ok: true, amount };
  }
  if (/^-\s*[\d.]/.test(text)) return invalid({ kind: 'negative', raw: text });
  if (/^[+]?\d*\.\d+$|^\d+\.$/.test(text)) return invalid({ kind: 'not_whole', raw: text });
  return invalid({ kind: 'not_a_number', raw: text });
}
