import { describe, expect, it } from 'vitest';
import { checkTags, defaultTags, findPromptTags, isValidTag, splitTagInput } from './tags.ts';

describe('tags', () => {
  it('names untagged images image1..imageN in attachment order', () => {
    expect(defaultTags(3)).toEqual(['image1', 'image2', 'image3']);
    expect(defaultTags(0)).toEqual([]);
  });

  it.each(['cat', 'my_cat2', 'Abcdefghijklmnop'])('accepts %s', (tag) => expect(isValidTag(tag)).toBe(true));
  it.each(['1cat', 'ab', 'my-cat', '_cat', 'Abcdefghijklmnopq', 'café', ''])('refuses %s', (tag) => expect(isValidTag(tag)).toBe(false));

  it('finds each @Tag once, in order, and skips mentions, emails and short words', () => {
    expect(findPromptTags('@cat and @dog, then @cat again; <@123> <@U0ABC> me@home.com @me (@image1)')).toEqual(['cat', 'dog', 'image1']);
  });

  it('reads tags typed as one string, with commas or a leading @', () => {
    expect(splitTagInput(['cat dog', '@bird,fish'])).toEqual(['cat', 'dog', 'bird', 'fish']);
  });

  it('fills unnamed images with default tags', () => {
    expect(checkTags(['cat'], 3)).toEqual({ ok: true, tags: ['cat', 'image2', 'image3'] });
  });

  it('refuses tags differing only by case', () => {
    const check = checkTags(['cat', 'Cat'], 2);
    expect(check.ok || check.failure.code).toBe('request.duplicate_tag');
  });

  it('refuses tags when no images are attached', () => {
    const check = checkTags(['cat'], 0);
    expect(check.ok || check.failure.userMessage).toContain('no images');
  });
});
