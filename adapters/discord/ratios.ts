import { formatCredits } from '../../src/credits/messages.ts';
import { friendlyRatioName, type RatioChoice } from '../../src/imagine/ratios.ts';
import { defaultModel, findModel, isOffered, sizeOf } from '../../src/models.ts';

/** Discord allows at most 25 autocomplete choices. https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-autocomplete */
const MAX_CHOICES = 25;

/** So typing "landscape" or "portrait" finds the right sizes; `auto` values have no orientation of their own. */
function orientationOf(value: string): string {
  const size = sizeOf(value);
  if (!size) return 'any shape';
  return size.width === size.height ? 'square' : size.width > size.height ? 'landscape' : 'portrait';
}

/**
 * The ratio choices for the model the user picked (or the default model, also for a model that is
 * unknown or not offered), filtered by what they typed: "1920:1080 (16:9, 1080p) · landscape ·
 * 8 credits (default)". Names come from the core's catalogue helpers, so Discord says what help text
 * and error messages say. A model with more sizes than Discord shows (Gemini 3.1 Flash has 56) is
 * narrowed by typing a part of the value or a word such as `portrait`.
 */
export function ratioChoices(modelId: string | null, typed: string): RatioChoice[] {
  const picked = modelId === null ? undefined : findModel(modelId);
  const model = picked && isOffered(picked.id) ? picked : defaultModel();
  const needle = typed.trim().toLowerCase();
  return model.ratios
    .map((ratio) => {
      const isDefault = ratio.value === model.defaultRatio;
      const estimate = model.price.source === 'guess' ? 'about ' : '';
      const name = `${friendlyRatioName(ratio.value)} · ${orientationOf(ratio.value)} · ${estimate}${formatCredits(ratio.costCredits)}${isDefault ? ' (default)' : ''}`;
      return { name, value: ratio.value };
    })
    .filter((choice) => needle === '' || choice.name.toLowerCase().includes(needle))
    .slice(0, MAX_CHOICES);
}
