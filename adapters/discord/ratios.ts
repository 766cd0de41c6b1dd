import { friendlyRatioName } from '../../src/imagine/ratios.ts';
import { DEFAULT_MODEL_ID, findModel, type ModelInfo } from '../../src/models.ts';

export interface RatioChoice {
  readonly name: string;
  readonly value: string;
}

/** Discord allows at most 25 autocomplete choices. https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete */
const MAX_CHOICES = 25;

/** So typing "landscape" or "portrait" finds the right sizes. */
function orientationOf(value: string): string {
  const [width = 0, height = 0] = value.split(':').map(Number);
  return width === height ? 'square' : width > height ? 'landscape' : 'portrait';
}

/**
 * The ratio choices for the model the user picked (or the default model), filtered by what they
 * typed: "1920:1080 (16:9, 1080p) · landscape · 8 credits (default)". Names come from the core's
 * catalogue helpers, so Discord says what help text and error messages say.
 */
export function ratioChoices(modelId: string | null, typed: string): RatioChoice[] {
  const model: ModelInfo | undefined = findModel(modelId ?? DEFAULT_MODEL_ID) ?? findModel(DEFAULT_MODEL_ID);
  if (!model) return [];
  const needle = typed.trim().toLowerCase();
  return model.ratios
    .map((ratio) => {
      const isDefault = ratio.value === model.defaultRatio;
      const credits = `${ratio.costCredits} credit${ratio.costCredits === 1 ? '' : 's'}`;
      const name = `${friendlyRatioName(ratio.value)} · ${orientationOf(ratio.value)} · ${credits}${isDefault ? ' (default)' : ''}`;
      return { name, value: ratio.value };
    })
    .filter((choice) => needle === '' || choice.name.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES);
}
