/** The /imagine request: parse, validate against the catalogue, price, explain. Pure, platform-free. */
export { validateImagineRequest, type ImagineRequest, type ImagineRequestInput, type RequestCheck } from './request.ts';
export {
  resolveRatio,
  listRatioChoices,
  friendlyRatioName,
  aspectName,
  describeRatioWords,
  RATIO_WORDS,
  type RatioChoice,
  type RatioResolution,
} from './ratios.ts';
export { isValidTag, defaultTags, findPromptTags, splitTagInput, checkTags, checkPromptTags, type TagCheck } from './tags.ts';
export { priceOf, cheaperOptions } from './price.ts';
export { checkSeed, MAX_SEED, type SeedCheck } from './seed.ts';
export { resolveModel, listModelIds, type ModelChoice } from './model-choice.ts';
export { checkReferenceCount } from './references.ts';
export { parseImagineText, type ParsedImagineText } from './text-command.ts';
export { imagineHelpText } from './help.ts';
