import { describe, expect, it } from 'vitest';
import { parseImagineText, type ParsedImagineText } from './text-command.ts';

function problemCode(parsed: ParsedImagineText): string {
  if (parsed.ok) throw new Error(`expected a problem, got ${JSON.stringify(parsed)}`);
  return parsed.failure.code;
}

describe('parseImagineText', () => {
  it('reads the prompt and every flag', () => {
    expect(parseImagineText('a koi pond --ratio 16:9 --ref ./cat.png --model gen4_image --seed 7 --tags cat dog')).toEqual({
      ok: true,
      kind: 'imagine',
      prompt: 'a koi pond',
      model: 'gen4_image',
      ratio: '16:9',
      seed: '7',
      tags: ['cat', 'dog'],
      refs: ['./cat.png'],
    });
  });

  it('reads --flag=value, quoted values and repeated --ref', () => {
    expect(parseImagineText(`--ratio="16:9 720p" --ref "./my cat.png" --ref './b c.png' a koi pond`)).toEqual({
      ok: true,
      kind: 'imagine',
      prompt: 'a koi pond',
      ratio: '16:9 720p',
      refs: ['./my cat.png', './b c.png'],
    });
  });

  it('reads Slack/Mac smart quotes and em-dash flags', () => {
    expect(parseImagineText('a cat’s toy —model “gen4 image” –seed 3')).toEqual({
      ok: true,
      kind: 'imagine',
      prompt: 'a cat’s toy',
      model: 'gen4 image',
      seed: '3',
      refs: [],
    });
  });

  it('keeps quotes inside the prompt but strips quotes around the whole prompt', () => {
    expect(parseImagineText('a sign saying "OPEN" --seed 1')).toMatchObject({ prompt: 'a sign saying "OPEN"' });
    expect(parseImagineText('"a koi --pond" --seed 1')).toMatchObject({ prompt: 'a koi --pond', seed: '1' });
  });

  it('keeps a dashed word that names no flag in the prompt', () => {
    expect(parseImagineText('a cat —sleeping')).toMatchObject({ prompt: 'a cat —sleeping' });
  });

  it('lets --tags take words up to the next flag, commas too', () => {
    expect(parseImagineText('--tags cat,dog bird --seed 2 a pond')).toMatchObject({ prompt: 'a pond', tags: ['cat', 'dog', 'bird'], seed: '2' });
  });

  it.each(['help', 'HELP', '', '   ', '--help', 'a pond --help'])('asks for help on %j', (text) => {
    expect(parseImagineText(text)).toEqual({ ok: true, kind: 'help' });
  });

  it('refuses an unknown flag, listing the flags', () => {
    const parsed = parseImagineText('a pond --style anime');
    expect(problemCode(parsed)).toBe('request.unknown_flag');
    expect(!parsed.ok && parsed.failure.userMessage).toContain('`--ratio`');
  });

  it('refuses a flag with no value at the end', () => {
    expect(problemCode(parseImagineText('a pond --ratio'))).toBe('request.flag_missing_value');
  });

  it('refuses a flag followed by another flag', () => {
    expect(problemCode(parseImagineText('a pond --seed --model gen4_image'))).toBe('request.flag_missing_value');
  });

  it('refuses two different values for one flag', () => {
    expect(problemCode(parseImagineText('a pond --seed 1 --seed 2'))).toBe('request.repeated_flag');
  });

  it('leaves an unclosed apostrophe in the prompt', () => {
    expect(parseImagineText("a '90s diner --seed 4")).toMatchObject({ prompt: "a '90s diner", seed: '4' });
  });
});

describe('--count', () => {
  it('is read as a raw value, also as --n, and refused when given twice differently', () => {
    expect(parseImagineText('four koi --count 4')).toEqual({ ok: true, kind: 'imagine', prompt: 'four koi', count: '4', refs: [] });
    expect(parseImagineText('koi --n=2')).toEqual({ ok: true, kind: 'imagine', prompt: 'koi', count: '2', refs: [] });
    expect(parseImagineText('koi --count 2 --count 3')).toMatchObject({ ok: false, failure: { code: 'request.repeated_flag' } });
  });
});
