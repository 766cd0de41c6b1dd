import { formatCredits } from '../../src/credits/messages.ts';
import { friendlyRatioName, type RatioChoice } from '../../src/imagine/ratios.ts';
import { DEFAULT_MODEL_ID, findModel } from '../../src/models.ts';

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
  const model = findModel(modelId ?? DEFAULT_MODEL_ID) ?? findModel(DEFAULT_MODEL_ID);
  if (!model) return [];
  const needle = typed.trim().toLowerCase();
  return model.ratios
    .map((ratio) => {
      const isDefault = ratio.value === model.defaultRatio;
      const name = `${friendlyRatioName(ratio.value)} · ${orientationOf(ratio.value)} · ${formatCredits(ratio.costCredits)}${isDefault ? ' (default)' : ''}`;
      return { name, value: ratio.value };
    })
    .filter((choice) => needle === '' || choice.name.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES);
}
