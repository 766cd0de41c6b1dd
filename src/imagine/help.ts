/**
 * The /imagine help text, read from the catalogue so it can never disagree with validation.
 * Plain text with `code` spans: it renders on Discord, Slack and in a terminal.
 */
import { defaultModel, offeredModels, type ModelInfo } from '../models.ts';
import { describeRatioWords } from './ratios.ts';
import { describeCounts } from './count.ts';
import { MAX_SEED } from './seed.ts';
import { TAG_MAX_CHARS, TAG_MIN_CHARS } from './tags.ts';
import { listInWords } from './user-text.ts';

/** "5–8 credits"; "about 20–41 credits" where the figure is the catalogue's guess, not Runway's price. */
function priceRange(model: ModelInfo): string {
  const costs = model.ratios.map((r) => r.costCredits);
  const low = Math.min(...costs);
  const high = Math.max(...costs);
  const range = low === high ? `${low} ${low === 1 ? 'credit' : 'credits'}` : `${low}–${high} credits`;
  const perReference = model.price.perReferenceCredits > 0 ? ` +${model.price.perReferenceCredits} per reference` : '';
  return `${model.price.source === 'guess' ? 'about ' : ''}${range}${perReference}`;
}

function referenceRange(model: ModelInfo): string {
  const named = model.referenceTags === 'none' ? ' (by order, no tags)' : '';
  if (model.minReferences === 0) return `up to ${model.maxReferences} reference images${named}`;
  return `needs ${model.minReferences}–${model.maxReferences} reference images${named}`;
}

function modelLine(model: ModelInfo, defaultId: string): string {
  const facts = [
    priceRange(model),
    referenceRange(model),
    model.supportsSeed ? 'seed' : 'no seed',
    model.outputCounts.length > 0 ? `count ${describeCounts(model.outputCounts)}` : 'one image',
    `${model.ratios.length} ratios${model.freeformPixels ? ' or any size' : ''}, default ${model.defaultRatio}`,
  ];
  const isDefault = model.id === defaultId ? ' (default)' : '';
  return `• ${model.label}: \`${model.id}\`${isDefault} — ${facts.join(', ')}`;
}

function seedTakers(models: readonly ModelInfo[]): string {
  const takers = models.filter((m) => m.supportsSeed).map((m) => `\`${m.id}\``);
  if (takers.length === 0) return 'None of the models offered here takes one.';
  return `Only ${listInWords(takers)} ${takers.length === 1 ? 'takes' : 'take'} one.`;
}

/** Syntax, the offered models, ratio shortcuts and tag rules, for `/imagine help`. */
export function imagineHelpText(): string {
  const models = offeredModels();
  const fallback = defaultModel();
  const shortcuts = describeRatioWords(fallback).join(', ');
  const withoutTags = models.filter((m) => m.referenceTags === 'none').map((m) => `\`${m.id}\``);
  const autoModels = models.filter((m) => m.ratios.some((r) => r.value.startsWith('auto'))).map((m) => `\`${m.id}\``);
  return [
    '*/imagine* makes an image from your prompt.',
    `\`/imagine a koi pond at dawn --model ${fallback.id} --ratio 16:9${fallback.supportsSeed ? ' --seed 42' : ''}\``,
    'Every option is optional: `--model`, `--ratio`, `--seed`, `--count` (several images in one request, each charged, where the model takes it), `--tags`, and `--ref ./file.png` (terminal) to add a reference image; on chat platforms attach the images instead. Quote values with spaces: `--ratio "16:9 720p"`.',
    '',
    '*Models*',
    ...models.map((model) => modelLine(model, fallback.id)),
    'Prices marked "about" are estimates: Runway\'s own estimate replaces them once it takes the request, and you pay what Runway reports.',
    '',
    '*Ratios*',
    `Exact sizes such as \`1920:1080\` (or \`1920x1080\`), an aspect such as \`16:9\`, \`4:3\` or \`21:9\` (the model's largest size of that shape), or a word: ${shortcuts} on \`${fallback.id}\`. Add \`720p\` or \`1080p\` to pick the height (\`16:9 720p\` = 1280:720 on gen4). Each model has its own sizes: an unknown ratio lists them.${autoModels.length > 0 ? ` \`auto\` (or \`auto_1k\`, \`auto_2k\`) lets ${listInWords(autoModels)} pick the shape.` : ''}`,
    '',
    '*Reference images and tags*',
    `Images are tagged \`image1\`, \`image2\`, \`image3\`… in the order attached; \`--tags cat dog\` names them. Use them in the prompt as \`@cat\`. A tag has ${TAG_MIN_CHARS}–${TAG_MAX_CHARS} characters: a letter, then letters, digits or _. Tags are case-sensitive.${withoutTags.length > 0 ? ` ${listInWords(withoutTags)} take no tags: describe their images by order (“the first image”).` : ''}`,
    '',
    `*Seed*: a whole number from 0 to ${MAX_SEED}; the same seed and settings give a similar image again. ${seedTakers(models)}`,
  ].join('\n');
}
