/**
 * `/imagine` as typed on text platforms (Slack, the terminal sandbox):
 *   a koi pond --ratio 16:9 --ref ./cat.png --model gen4_image --seed 7 --tags cat dog
 * - The prompt is all text that is not a flag or a flag's value, before or after the flags.
 * - `--flag value` or `--flag=value`; flag names ignore case. `—model` and `–model` count too:
 *   macOS, iOS and Slack turn a typed `--` into an em or en dash. A dash-prefixed word that is no
 *   flag (`a cat —sleeping`) stays in the prompt; an unknown `--word` is refused, it is surely a typo.
 * - Values may be quoted with "…", '…' or smart quotes “…” ‘…’. In the prompt only double quotes
 *   group words, so apostrophes (`a '90s diner`, `cat's`) stay text; the prompt keeps its quotes
 *   (`a sign saying "OPEN"`), unless the whole prompt is one quoted string.
 * - `--tags` takes the following words (or a comma list) up to the next flag; `--ref` repeats.
 * - `help`, `--help` or nothing at all asks for help.
 */
import type { Failure } from '../errors.ts';
import { echo } from './user-text.ts';

export type ParsedImagineText =
  | { ok: true; kind: 'help' }
  | { ok: true; kind: 'imagine'; prompt: string; model?: string; ratio?: string; seed?: string; count?: string; tags?: string[]; refs: string[] }
  | { ok: false; failure: Failure };

/** A flag's canonical name. */
export type FlagName = 'model' | 'ratio' | 'seed' | 'count' | 'tags' | 'ref' | 'help';

/** Each flag, its spellings, and the example shown when its value is missing. */
const FLAG_SPECS: readonly { name: FlagName; spellings: readonly string[]; example: string }[] = [
  { name: 'model', spellings: ['model'], example: '--model gen4_image' },
  { name: 'ratio', spellings: ['ratio', 'ar', 'aspect'], example: '--ratio 16:9' },
  { name: 'seed', spellings: ['seed'], example: '--seed 42' },
  { name: 'count', spellings: ['count', 'n'], example: '--count 4' },
  { name: 'tags', spellings: ['tags', 'tag'], example: '--tags cat dog' },
  { name: 'ref', spellings: ['ref', 'reference', 'image'], example: '--ref ./cat.png' },
  { name: 'help', spellings: ['help'], example: '--help' },
];

const FLAGS: ReadonlyMap<string, FlagName> = new Map(FLAG_SPECS.flatMap((spec) => spec.spellings.map((s) => [s, spec.name] as const)));
const HELP_WORDS = new Set(['', 'help', '?', '-h']);

/** Closing quotes for each opening quote; lenient, because phones and Macs mix straight and curly. */
const DOUBLE_QUOTES: ReadonlyMap<string, string> = new Map([
  ['"', '"”'],
  ['“', '”"“'],
  ['„', '“”"'],
]);
const SINGLE_QUOTES: ReadonlyMap<string, string> = new Map([
  ["'", "'’"],
  ['‘', "’'"],
]);

interface Token {
  /** The text as typed, quotes included (what the prompt keeps). */
  readonly raw: string;
  /** The text without its surrounding quotes (what a value means). */
  readonly text: string;
  readonly isQuoted: boolean;
  readonly end: number;
}

type FlagToken =
  | { kind: 'known'; name: FlagName; spelled: string; inlineValueAt: number | null }
  | { kind: 'unknown'; spelled: string };

const isSpace = (ch: string | undefined): boolean => ch !== undefined && /\s/.test(ch);

/** A small scanner over the command text; `noCloserFrom` keeps unclosed quotes from going quadratic. */
class Scanner {
  private readonly noCloserFrom = new Map<string, number>();
  constructor(readonly text: string) {}

  skipSpace(i: number): number {
    while (isSpace(this.text[i])) i++;
    return i;
  }

  /** The token at `i`; in a value position single quotes group words too. */
  readToken(i: number, isValue: boolean): Token {
    const open = this.text[i] ?? '';
    const closers = DOUBLE_QUOTES.get(open) ?? (isValue ? SINGLE_QUOTES.get(open) : undefined);
    if (closers) {
      const close = this.findCloser(i + 1, closers);
      if (close !== -1) {
        return { raw: this.text.slice(i, close + 1), text: this.text.slice(i + 1, close), isQuoted: true, end: close + 1 };
      }
    }
    let end = i;
    while (end < this.text.length && !isSpace(this.text[end])) end++;
    const raw = this.text.slice(i, end);
    return { raw, text: raw, isQuoted: false, end };
  }

  /** A closing quote counts only before a space or the end, so `"OPEN"s` or `it's` don't close early. */
  private findCloser(from: number, closers: string): number {
    if ((this.noCloserFrom.get(closers) ?? Infinity) <= from) return -1;
    for (let j = from; j < this.text.length; j++) {
      if (closers.includes(this.text[j] ?? '') && (j + 1 === this.text.length || isSpace(this.text[j + 1]))) return j;
    }
    this.noCloserFrom.set(closers, from);
    return -1;
  }
}

/** Whether a token is a flag; `start` is where the token begins, to locate an inline `=value`. */
function readFlag(token: Token, start: number): FlagToken | null {
  if (token.isQuoted) return null;
  const match = /^(--|—|–)([A-Za-z][A-Za-z0-9_-]*)(=?)/.exec(token.raw);
  if (!match) return null;
  const [whole, prefix = '', spelled = ''] = match;
  const name = FLAGS.get(spelled.toLowerCase());
  if (name) {
    // "--model=x" carries its value; "--modelx" is no flag we know.
    if (match[3] === '=') return { kind: 'known', name, spelled, inlineValueAt: start + whole.length };
    if (whole.length === token.raw.length) return { kind: 'known', name, spelled, inlineValueAt: null };
  }
  // A dash-prefixed word is prose unless it names a flag; a double hyphen is always meant as one.
  return prefix === '--' ? { kind: 'unknown', spelled: token.raw.split('=')[0] ?? token.raw } : null;
}

function flagList(): string {
  return FLAG_SPECS.filter((s) => s.name !== 'help')
    .map((s) => `\`--${s.name}\``)
    .join(', ');
}

function exampleOf(name: FlagName): string {
  return FLAG_SPECS.find((s) => s.name === name)?.example ?? `--${name}`;
}

/** `request.unknown_flag`: a `--word` that is no option, surely a typo. */
export function unknownFlag(spelled: string): Failure {
  return {
    code: 'request.unknown_flag',
    userMessage: `${echo(spelled)} isn't an option. The options are ${flagList()}; everything else is the prompt. Type \`help\` for examples.`,
  };
}

/** `request.flag_missing_value`: a flag with nothing after it. */
export function flagMissingValue(name: FlagName): Failure {
  return { code: 'request.flag_missing_value', userMessage: `\`--${name}\` needs a value right after it, for example \`${exampleOf(name)}\`.` };
}

/** `request.repeated_flag`: a single-valued flag given twice with different values. */
export function repeatedFlag(name: FlagName, earlier: string, value: string): Failure {
  return { code: 'request.repeated_flag', userMessage: `\`--${name}\` is given twice (${echo(earlier)} and ${echo(value)}): keep the one you mean.` };
}

/** Parse a text-platform /imagine into raw options (validated later by validateImagineRequest). */
export function parseImagineText(text: string): ParsedImagineText {
  const input = typeof text === 'string' ? text : '';
  if (HELP_WORDS.has(input.trim().toLowerCase())) return { ok: true, kind: 'help' };

  const scanner = new Scanner(input);
  const promptTokens: Token[] = [];
  const single: Partial<Record<'model' | 'ratio' | 'seed' | 'count', string>> = {};
  const tags: string[] = [];
  let sawTags = false;
  const refs: string[] = [];
  const fail = (failure: Failure): ParsedImagineText => ({ ok: false, failure });

  let i = scanner.skipSpace(0);
  while (i < input.length) {
    const token = scanner.readToken(i, false);
    const flag = readFlag(token, i);
    if (!flag) {
      promptTokens.push(token);
      i = scanner.skipSpace(token.end);
      continue;
    }
    if (flag.kind === 'unknown') return fail(unknownFlag(flag.spelled));
    if (flag.name === 'help') return { ok: true, kind: 'help' };

    // Collect the flag's value(s): inline after "=", else the next token(s) that are not flags.
    const values: string[] = [];
    if (flag.inlineValueAt !== null) {
      const value = scanner.readToken(flag.inlineValueAt, true);
      if (value.text.trim() !== '') values.push(value.text);
      i = scanner.skipSpace(Math.max(value.end, token.end));
    } else {
      i = scanner.skipSpace(token.end);
      while (i < input.length) {
        const next = scanner.readToken(i, true);
        if (readFlag(next, i)) break;
        if (next.text.trim() !== '') values.push(next.text);
        i = scanner.skipSpace(next.end);
        if (flag.name !== 'tags') break;
      }
    }
    if (values.length === 0) return fail(flagMissingValue(flag.name));

    switch (flag.name) {
      case 'tags':
        sawTags = true;
        tags.push(...values.flatMap((v) => v.split(/[\s,]+/)).filter((t) => t !== ''));
        break;
      case 'ref':
        refs.push(...values);
        break;
      case 'model':
      case 'ratio':
      case 'seed':
      case 'count': {
        const earlier = single[flag.name];
        const value = values[0] ?? '';
        if (earlier !== undefined && earlier !== value) return fail(repeatedFlag(flag.name, earlier, value));
        single[flag.name] = value;
        break;
      }
      default: {
        const unreachable: never = flag.name;
        return unreachable;
      }
    }
  }

  return {
    ok: true,
    kind: 'imagine',
    prompt: promptText(promptTokens),
    ...(single.model !== undefined && { model: single.model }),
    ...(single.ratio !== undefined && { ratio: single.ratio }),
    ...(single.seed !== undefined && { seed: single.seed }),
    ...(single.count !== undefined && { count: single.count }),
    ...(sawTags && { tags }),
    refs,
  };
}

/** The prompt keeps the user's quotes, except around a prompt that is one quoted string. */
function promptText(tokens: readonly Token[]): string {
  const [only] = tokens;
  if (tokens.length === 1 && only?.isQuoted) return only.text.trim();
  return tokens.map((t) => t.raw).join(' ');
}
