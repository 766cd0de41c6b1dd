import { DEFAULT_MODEL_ID, findModel, type ModelInfo } from '../../src/models.ts';

/** Aspect ratios people know by name, to label Runway's exact pixel sizes. */
const COMMON_ASPECTS: readonly { readonly name: string; readonly value: number }[] = [
  { name: '1:1', value: 1 },
  { name: '4:3', value: 4 / 3 },
  { name: '3:4', value: 3 / 4 },
  { name: '3:2', value: 3 / 2 },
  { name: '2:3', value: 2 / 3 },
  { name: '5:4', value: 5 / 4 },
  { name: '4:5', value: 4 / 5 },
  { name: '16:9', value: 16 / 9 },
  { name: '9:16', value: 9 / 16 },
  { name: '7:4', value: 7 / 4 },
  { name: '4:7', value: 4 / 7 },
  { name: '21:9', value: 21 / 9 },
  { name: '7:3', value: 7 / 3 },
];

/** "landscape 16:9", "portrait ~4:5", "square": a ratio as a person would say it. */
export function friendlyRatioName(ratio: string): string {
  const [width, height] = ratio.split(':').map(Number);
  if (!width || !height) return ratio;
  const aspect = width / height;
  const orientation = Math.abs(aspect - 1) < 0.01 ? 'square' : aspect > 1 ? 'landscape' : 'portrait';
  if (orientation === 'square') return 'square';
  let nearest = COMMON_ASPECTS[0];
  for (const candidate of COMMON_ASPECTS) {
    if (nearest === undefined || Math.abs(candidate.value - aspect) < Math.abs(nearest.value - aspect)) nearest = candidate;
  }
  if (nearest === undefined) return orientation;
  const isExact = Math.abs(nearest.value - aspect) / aspect < 0.005;
  return `${orientation} ${isExact ? '' : '~'}${nearest.name}`;
}

export interface RatioChoice {
  readonly name: string;
  readonly value: string;
}

/** Discord allows at most 25 autocomplete choices. https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete */
const MAX_CHOICES = 25;

/**
 * The ratio choices for the model the user picked (or the default model), filtered by what they
 * typed: matches on the pixel value or the friendly name.
 */
export function ratioChoices(modelId: string | null, typed: string): RatioChoice[] {
  const model: ModelInfo | undefined = findModel(modelId ?? DEFAULT_MODEL_ID) ?? findModel(DEFAULT_MODEL_ID);
  if (!model) return [];
  const needle = typed.trim().toLowerCase();
  return model.ratios
    .map((ratio) => {
      const isDefault = ratio.value === model.defaultRatio;
      const credits = `${ratio.costCredits} credit${ratio.costCredits === 1 ? '' : 's'}`;
      const name = `${ratio.value} · ${friendlyRatioName(ratio.value)} · ${credits}${isDefault ? ' (default)' : ''}`;
      return { name, value: ratio.value };
    })
    .filter((choice) => needle === '' || choice.name.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES);
}
