import { describe, expect, it } from 'vitest';
import { findBlocked, normaliseEntry, wordsOf } from './words.ts';

describe('blocked words: what counts as the same word', () => {
  it.each([
    ['a CAT on a mat', 'cat'],
    ['a Ｃａｔ on a mat', 'cat'],
    ['a c\u200Bat on a mat', 'cat'],
    ['a c\u200Da\u00ADt on a mat', 'cat'],
    ['a cat\uFE0F!', 'cat'],
    ['CAT.', 'cat'],
    ['draw a big   cat', 'big cat'],
  ])('%j is caught by %j', (prompt, entry) => {
    expect(findBlocked(prompt, [normaliseEntry(entry)])).toBe(normaliseEntry(entry));
  });

  it.each([
    ['concatenate the files', 'cat'],
    ['a bigcat', 'big cat'],
    ['cats', 'cat'],
    ['a cat that is big', 'big cat'],
  ])('%j is not caught by %j: whole words only', (prompt, entry) => {
    expect(findBlocked(prompt, [normaliseEntry(entry)])).toBeNull();
  });

  it('folds case beyond ASCII and keeps letters of every script', () => {
    expect(wordsOf('STRASSE Straße ÉCOLE 猫と犬')).toEqual(['strasse', 'straße', 'école', '猫と犬']);
    expect(normaliseEntry('  Ｂｉｇ\u200B  CAT ')).toBe('big cat');
    expect(normaliseEntry('!!!')).toBe('');
  });
});
