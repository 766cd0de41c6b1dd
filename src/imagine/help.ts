/**
 * The /imagine help text, read from the catalogue so it can never disagree with validation.
 * Plain text with `code` spans: it renders on Discord, Slack and in a terminal.
 */
import { DEFAULT_MODEL_ID, MODELS, type ModelInfo } from '../models.ts';
import { describeRatioWords } from './ratios.ts';
import { MAX_SEED } from './seed.ts';
import { TAG_MAX_CHARS, TAG_MIN_CHARS } from './tags.ts';

function priceRange(model: ModelInfo): string {
  const costs = model.ratios.map((r) => r.costCredits);
  const low = Math.min(...costs);
  const high = Math.max(...costs);
  return low === high ? `${low} credits` : `${low}–${high} credits`;
}

function referenceRange(model: ModelInfo): string {
  if (model.minReferences === 0) return `up to ${model.maxReferences} reference images`;
  return `needs ${model.minReferences}–${model.maxReferences} reference images`;
}

function modelLine(model: ModelInfo): string {
  const facts = [
    priceRange(model),
    referenceRange(model),
    model.supportsSeed ? 'seed' : 'no seed',
    `default ratio ${model.defaultRatio}`,
  ];
  const isDefault = model.id === DEFAULT_MODEL_ID ? ' (default)' : '';
  return `• ${model.label}: \`${model.id}\`${isDefault} — ${facts.join(', ')}`;
}

/** Syntax, models, ratio shortcuts and tag rules, for `/imagine help`. */
export function imagineHelpText(): string {
  const defaultModel = MODELS.find((m) => m.id === DEFAULT_MODEL_ID) ?? MODELS[0];
  const shortcuts = defaultModel ? describeRatioWords(defaultModel).join(', ') : '';
  return [
    '*/imagine* makes an image from your prompt.',
    '`/imagine a koi pond at dawn --model gen4_image --ratio 16:9 --seed 42 --tags cat dog`',
    'Every option is optional: `--model`, `--ratio`, `--seed`, `--tags`, and `--ref ./file.png` (terminal) to add a reference image; on chat platforms attach the images instead. Quote values with spaces: `--ratio "16:9 720p"`.',
    '',
    '*Models*',
    ...MODELS.map(modelLine),
    '',
    '*Ratios*',
    `Exact sizes such as \`1920:1080\` (or \`1920x1080\`), an aspect such as \`16:9\`, \`4:3\` or \`21:9\` (the model's largest size of that shape), or a word: ${shortcuts} on \`${defaultModel?.id ?? DEFAULT_MODEL_ID}\`. Add \`720p\` or \`1080p\` to pick the height (\`16:9 720p\` = 1280:720 on gen4). Each model has its own sizes: an unknown ratio lists them.`,
    '',
    '*Reference images and tags*',
    `Images are tagged \`image1\`, \`image2\`, \`image3\` in the order attached; \`--tags cat dog\` names them. Use them in the prompt as \`@cat\`. A tag has ${TAG_MIN_CHARS}–${TAG_MAX_CHARS} characters: a letter, then letters, digits or _. Tags are case-sensitive.`,
    '',
    `*Seed*: a whole number from 0 to ${MAX_SEED}; the same seed and settings give a similar image again.`,
  ].join('\n');
}
