/**
 * Reference tags: the names a prompt uses (`@cat`) to point at a reference image.
 * Runway's rule: 3–16 characters, a letter first, then letters, digits or `_`.
 * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1text_to_image/post
 *
 * Case: Runway matches tags case-sensitively and the prompt is sent verbatim, so `@Cat` in a prompt
 * only finds a reference tagged `Cat`. Two tags that differ only by case (`cat`, `Cat`) are refused
 * as duplicates: that is always a slip, and it would make the prompt's meaning hang on one capital.
 */
import type { Failure } from '../errors.ts';
import { echo, listInWords } from './user-text.ts';

const TAG_PATTERN = /^[A-Za-z][A-Za-z0-9_]{2,15}$/;
export const TAG_MIN_CHARS = 3;
export const TAG_MAX_CHARS = 16;

export type TagCheck = { ok: true; tags: string[] } | { ok: false; failure: Failure };

/** Whether Runway accepts this as a reference tag. */
export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** The tags images get when the user names none: `image1`, `image2`, … in attachment order. */
export function defaultTags(count: number): string[] {
  const n = Number.isFinite(count) ? Math.max(0, Math.floor(count)) : 0;
  return Array.from({ length: n }, (_, i) => `image${i + 1}`);
}

/**
 * The tags a prompt mentions, each once, in order of first appearance. Only a whole tag-shaped word
 * right after `@` counts: Discord mentions (`<@123>`), Slack mentions (`<@U123>`), emails (`a@b.com`,
 * the `@` follows a word character) and `@me` (too short to be a tag) are left alone.
 */
export function findPromptTags(prompt: string): string[] {
  const found: string[] = [];
  for (const match of prompt.matchAll(/(?<![A-Za-z0-9_<@])@([A-Za-z][A-Za-z0-9_]*)/g)) {
    const word = match[1] ?? '';
    if (isValidTag(word) && !found.includes(word)) found.push(word);
  }
  return found;
}

/**
 * Tags as users type them, flattened: "cat dog", "cat,dog" and "@cat" all mean what they look like,
 * so an adapter can pass its raw option through.
 */
export function splitTagInput(tags: readonly string[]): string[] {
  return tags
    .flatMap((entry) => entry.split(/[\s,]+/))
    .map((tag) => tag.replace(/^@/, ''))
    .filter((tag) => tag !== '');
}

/** Why a tag that `isValidTag` refused is refused, in words. */
function tagFault(tag: string): string {
  if (tag.length < TAG_MIN_CHARS) return `it is too short (${tag.length} of at least ${TAG_MIN_CHARS} characters)`;
  if (tag.length > TAG_MAX_CHARS) return `it is too long (${tag.length} of at most ${TAG_MAX_CHARS} characters)`;
  if (!/^[A-Za-z]/.test(tag)) return 'it must start with a letter';
  return 'it may only hold letters, digits and _';
}

/**
 * The tag of each reference, in attachment order: the user's names first, `imageN` for the rest.
 * Refuses bad names, duplicates, and more names than images.
 */
export function checkTags(userTags: readonly string[] | undefined, referenceCount: number): TagCheck {
  const given = splitTagInput(userTags ?? []);
  const invalid = given.find((tag) => !isValidTag(tag));
  if (invalid !== undefined) return { ok: false, failure: invalidTag(invalid) };
  if (given.length > referenceCount) return { ok: false, failure: tooManyTags(given.length, referenceCount) };
  const tags = [...given, ...defaultTags(referenceCount).slice(given.length)];
  const seen = new Map<string, string>();
  for (const tag of tags) {
    const earlier = seen.get(tag.toLowerCase());
    if (earlier !== undefined) return { ok: false, failure: duplicateTag(earlier, tag, referenceCount) };
    seen.set(tag.toLowerCase(), tag);
  }
  return { ok: true, tags };
}

/** Every `@Tag` in the prompt must name a reference; null when they all do. */
export function checkPromptTags(prompt: string, tags: readonly string[]): Failure | null {
  const unknown = findPromptTags(prompt).filter((tag) => !tags.includes(tag));
  return unknown.length === 0 ? null : unknownPromptTag(unknown, tags);
}

/** `request.invalid_tag`: `tag` breaks Runway's rule; the message says which part of it. */
export function invalidTag(tag: string): Failure {
  return {
    code: 'request.invalid_tag',
    userMessage: `${echo(tag)} can't be a tag: ${tagFault(tag)}. A tag has ${TAG_MIN_CHARS} to ${TAG_MAX_CHARS} characters, starts with a letter and uses letters, digits and _ (for example \`cat\` or \`my_cat2\`).`,
  };
}

/** `request.too_many_tags`: more names than attached images. */
export function tooManyTags(tagCount: number, referenceCount: number): Failure {
  const images = referenceCount === 0 ? 'no images' : referenceCount === 1 ? 'only 1 image' : `only ${referenceCount} images`;
  return {
    code: 'request.too_many_tags',
    userMessage: `You gave ${tagCount} tags but attached ${images}: tags name reference images, one per image in attachment order. Attach more images or drop ${tagCount - referenceCount} of the tags.`,
  };
}

/** `request.duplicate_tag`: `tag` repeats `earlier`, exactly or but for capitals. */
export function duplicateTag(earlier: string, tag: string, referenceCount: number): Failure {
  const what = earlier === tag ? `The tag ${echo(tag)} is used twice` : `The tags ${echo(earlier)} and ${echo(tag)} differ only by capitals`;
  return {
    code: 'request.duplicate_tag',
    userMessage: `${what}: give each image its own name (images you don't name are called ${listInWords(defaultTags(Math.min(referenceCount, 3)).map((t) => `\`${t}\``), 'or')}).`,
  };
}

/** `request.unknown_prompt_tag`: the prompt mentions `unknown` tags that no attached image (tagged `tags`) has. */
export function unknownPromptTag(unknown: readonly string[], tags: readonly string[]): Failure {
  const mentioned = listInWords(unknown.map((tag) => `\`@${tag}\``));
  const noun = unknown.length === 1 ? 'that tag' : 'those tags';
  if (tags.length === 0) {
    return {
      code: 'request.unknown_prompt_tag',
      userMessage: `Your prompt mentions ${mentioned}, but no images are attached. Attach a reference image with ${noun}, or take the @ out of the prompt.`,
    };
  }
  // Runway's tags are case-sensitive: point at the near miss rather than leave the user guessing.
  const nearMisses = unknown.flatMap((tag) => {
    const same = tags.find((t) => t.toLowerCase() === tag.toLowerCase());
    return same ? [`\`@${same}\` for \`@${tag}\``] : [];
  });
  const hint = nearMisses.length > 0 ? ` Tags are case-sensitive: write ${listInWords(nearMisses)}.` : '';
  return {
    code: 'request.unknown_prompt_tag',
    userMessage: `Your prompt mentions ${mentioned}, but no image has ${noun}. The attached images are tagged ${listInWords(tags.map((t) => `\`${t}\``))}: use one of those, or name the images with tags.${hint}`,
  };
}

/** `request.tags_not_supported`: tags given for a model whose reference images carry none (Runway knows them by order). */
export function tagsNotSupported(model: { readonly id: string; readonly label: string }): Failure {
  return {
    code: 'request.tags_not_supported',
    userMessage: `${model.label} (\`${model.id}\`) knows reference images by their order, not by tags: leave the tags out and describe the images in the prompt by position, for example “the first image”.`,
  };
}
