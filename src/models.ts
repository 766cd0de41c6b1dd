/**
 * The Runway model catalogue: the one table that validation, help text, Discord choices, the
 * simulator and the first hold's price are read from. Adding a model is one entry (plus its line in
 * models.test.ts's expectations).
 *
 * Every entry is derived from `TextToImageCreateParams` in the pinned @runwayml/sdk
 * (node_modules/@runwayml/sdk/resources/text-to-image.d.ts), and tied to it twice:
 * - here, at compile time: `ENTRIES satisfies Catalogue` needs one entry per model id of the SDK's
 *   union and no other, each ratio one of that model's ratio literals, `supportsSeed`,
 *   `contentModeration`, reference tags and subjects, `outputCounts` and every other option exactly
 *   where the model's SDK interface has them;
 * - in models.test.ts, by reading the .d.ts text: the id union, each ratio union (complete, not
 *   just a subset), and the limits its doc comments state.
 *
 * Where the SDK states no limit (some prompts, seedream's references, some outputCount ranges) the
 * entry carries the bot's own cap and says so (`'assumed'`). Prices are only a first estimate to
 * size the hold before Runway answers: Runway's `estimatedCost` on create replaces the hold, and the
 * task's reported `cost` is what is charged. Each entry says where its estimate comes from.
 */
import type { TextToImageCreateParams } from '@runwayml/sdk/resources/text-to-image';

/** Every model `textToImage.create` takes, as the pinned SDK spells them. */
export type ModelId = TextToImageCreateParams['model'];

/** Where a limit comes from: the SDK's types (and their doc comments), or the bot's own cap where they state none. */
export type LimitSource = 'sdk' | 'assumed';

export interface RatioInfo {
  /** Runway's value, sent as is: `W:H`, or `auto`, `auto_1k`, `auto_2k` (the model picks the shape). */
  readonly value: string;
  /** The catalogue's estimate in credits for one image at this ratio (see `PriceInfo`). */
  readonly costCredits: number;
}

/** Where a model's catalogue estimate comes from. Runway's own `estimatedCost` replaces it on create. */
export interface PriceInfo {
  /**
   * `runway_pricing`: Runway's published API pricing; `sdk_types`: stated in the SDK's doc comments;
   * `guess`: neither states it, so the figure is a deliberately high guess (a hold too high only
   * refuses a member near the end of their credits; one too low lets Runway's estimate overdraw them).
   */
  readonly source: 'runway_pricing' | 'sdk_types' | 'guess';
  /** The reference or the reasoning, for the README and anyone checking a figure. */
  readonly note: string;
  /** Credits each reference image adds to one image, where Runway documents a surcharge. */
  readonly perReferenceCredits: number;
}

/** Values an option takes, for options the bot does not offer yet but the model accepts. */
export type OptionValues = readonly (string | boolean)[];

export interface ModelInfo {
  readonly id: ModelId;
  /** What users see in choices and help. */
  readonly label: string;
  /** One short line for Discord's model choices (label + description fit in 100 characters). */
  readonly description: string;
  readonly ratios: readonly RatioInfo[];
  readonly defaultRatio: string;
  /** Runway also takes any `W:H` whose pixel count is within this range (seedream5_lite); null otherwise. */
  readonly freeformPixels: { readonly min: number; readonly max: number } | null;
  /** Maximum prompt length in UTF-16 code units: how Runway counts it (`'😀'.length === 2`). */
  readonly maxPromptUnits: number;
  readonly promptLimitSource: LimitSource;
  readonly minReferences: number;
  readonly maxReferences: number;
  readonly maxReferencesSource: LimitSource;
  /**
   * How references are named. `optional`: each may carry a tag, used as `@tag` in the prompt;
   * `unique`: the same, and no two may share a tag; `none`: bare images, known by their order.
   */
  readonly referenceTags: 'none' | 'optional' | 'unique';
  /** Gemini 3's per-subject limits (`subject: 'human' | 'object'`); the bot sends no subject. Null elsewhere. */
  readonly referenceSubjects: { readonly human: number; readonly object: number } | null;
  readonly supportsSeed: boolean;
  /** Takes `contentModeration.publicFigureThreshold`; the bot never sends it (Runway's default applies). */
  readonly contentModeration: boolean;
  /** The `outputCount` values the model takes; empty when it takes none (one image, and none is ever sent). */
  readonly outputCounts: readonly number[];
  readonly outputCountSource: LimitSource;
  /** Every other option the model accepts, with its values. The bot sends none of them yet (Runway's defaults apply). */
  readonly options: Readonly<Record<string, OptionValues>>;
  readonly price: PriceInfo;
  /** A first guess at how long a generation takes, before the bot has learned from real jobs. */
  readonly expectedDurationMs: number;
}

// ---------------------------------------------------------------------------------------------
// The compile-time tie to the SDK: what each entry may say follows from the model's SDK interface.

type ParamsOf<K extends ModelId> = Extract<TextToImageCreateParams, { model: K }>;
type ReferenceOf<K extends ModelId> = NonNullable<ParamsOf<K>['referenceImages']>[number];
type Has<T, Key extends PropertyKey> = Key extends keyof T ? true : false;
/** A union's string literals, without `string & {}` (seedream5_lite's "any other size"). */
type Literals<T> = T extends string ? (string extends T ? never : T) : never;
/** The keys every entry handles by name; the rest of a model's keys are its `options`. */
type NamedKey = 'model' | 'promptText' | 'ratio' | 'referenceImages' | 'seed' | 'contentModeration' | 'outputCount';
type OutputCountOf<K extends ModelId> = NonNullable<ParamsOf<K>[Extract<'outputCount', keyof ParamsOf<K>>]>;

interface EntryOf<K extends ModelId> extends Omit<ModelInfo, 'id' | 'ratios' | 'defaultRatio' | 'freeformPixels' | 'minReferences' | 'referenceTags' | 'referenceSubjects' | 'supportsSeed' | 'contentModeration' | 'outputCounts' | 'options'> {
  readonly id: K;
  readonly ratios: readonly { readonly value: Literals<ParamsOf<K>['ratio']>; readonly costCredits: number }[];
  readonly defaultRatio: Literals<ParamsOf<K>['ratio']>;
  readonly freeformPixels: string extends ParamsOf<K>['ratio'] ? { readonly min: number; readonly max: number } : null;
  /** 0 unless the SDK makes `referenceImages` required. */
  readonly minReferences: undefined extends ParamsOf<K>['referenceImages'] ? 0 : number;
  readonly referenceTags: Has<ReferenceOf<K>, 'tag'> extends true ? 'optional' | 'unique' : 'none';
  readonly referenceSubjects: Has<ReferenceOf<K>, 'subject'> extends true ? { readonly human: number; readonly object: number } : null;
  readonly supportsSeed: Has<ParamsOf<K>, 'seed'>;
  readonly contentModeration: Has<ParamsOf<K>, 'contentModeration'>;
  readonly outputCounts: Has<ParamsOf<K>, 'outputCount'> extends true ? readonly [OutputCountOf<K>, ...OutputCountOf<K>[]] : readonly [];
  readonly options: { readonly [O in Exclude<keyof ParamsOf<K>, NamedKey>]-?: readonly NonNullable<ParamsOf<K>[O]>[] };
}

/** One entry per SDK model id, no more, no fewer. */
type Catalogue = { readonly [K in ModelId]: EntryOf<K> };

// ---------------------------------------------------------------------------------------------
// Ratios, grouped as the SDK lists them, so each group can carry its price tier.

const priced = <V extends string>(values: readonly V[], costCredits: number): { value: V; costCredits: number }[] =>
  values.map((value) => ({ value, costCredits }));

const GEN4_720P = ['1280:720', '720:1280', '720:720', '960:720', '720:960', '1680:720'] as const;
const GEN4_1080P = ['1920:1080', '1080:1920', '1024:1024', '1080:1080', '1360:768', '1168:880', '1440:1080', '1080:1440', '1808:768', '2112:912'] as const;

/** Gemini's 1K sizes: all of gemini_2.5_flash's, and the 1K tier of the Gemini 3 models. */
const GEMINI_1K = ['1344:768', '768:1344', '1024:1024', '1184:864', '864:1184', '1536:672', '832:1248', '1248:832', '896:1152', '1152:896'] as const;
const GEMINI_2K = ['2048:2048', '1696:2528', '2528:1696', '1792:2400', '2400:1792', '1856:2304', '2304:1856', '1536:2752', '2752:1536', '3168:1344'] as const;
const GEMINI_4K = ['4096:4096', '3392:5056', '5056:3392', '3584:4800', '4800:3584', '3712:4608', '4608:3712', '3072:5504', '5504:3072', '6336:2688'] as const;
/** gemini_image3.1_flash's four tiers of 14 sizes, as the SDK lists them (panoramas down to 1:8 included). */
const FLASH_05K = ['512:512', '416:624', '624:416', '432:592', '592:432', '448:576', '576:448', '384:672', '672:384', '768:336', '256:1024', '1024:256', '176:1408', '1408:176'] as const;
const FLASH_1K = ['1024:1024', '832:1248', '1248:832', '864:1184', '1184:864', '896:1152', '1152:896', '768:1344', '1344:768', '1536:672', '512:2048', '2048:512', '352:2816', '2816:352'] as const;
const FLASH_2K = [...GEMINI_2K, '1024:4096', '4096:1024', '704:5632', '5632:704'] as const;
const FLASH_4K = [...GEMINI_4K, '2048:8192', '8192:2048', '1408:11264', '11264:1408'] as const;

const GPT_1K = ['2048:880', '1920:1088', '1920:1280', '1920:1440', '1920:1536', '1920:1920', '1536:1920', '1440:1920', '1280:1920', '1088:1920'] as const;
const GPT_2K = ['2912:1248', '2560:1440', '2560:1712', '2560:1920', '2560:2048', '2560:2560', '2048:2560', '1920:2560', '1712:2560', '1440:2560'] as const;
const GPT_4K = ['3840:1648', '3840:2160', '3504:2336', '3264:2448', '3200:2560', '2880:2880', '2560:3200', '2448:3264', '2336:3504', '2160:3840'] as const;

const MUSE = ['2352:1008', '2016:1152', '1920:1280', '1792:1344', '1600:1600', '1344:1792', '1280:1920', '1152:2016'] as const;

const SEEDREAM_PRO_1K = ['1024:1024', '1184:896', '896:1184', '1376:768', '768:1376', '1296:864', '864:1296'] as const;
const SEEDREAM_PRO_2K = ['2048:2048', '2304:1728', '1728:2304', '2720:1530', '1530:2720', '2496:1664', '1664:2496'] as const;
const SEEDREAM_LITE = [
  '2048:2048', '2304:1728', '1728:2304', '2848:1600', '1600:2848', '2496:1664', '1664:2496', '3136:1344',
  '3072:3072', '3456:2592', '2592:3456', '4096:2304', '2304:4096', '3744:2496', '2496:3744', '4704:2016',
] as const;

const GROK_1K = ['1024:1024', '1280:720', '720:1280', '1152:864', '864:1152', '1248:832', '832:1248', '1248:576', '576:1248', '1280:576', '576:1280', '1408:704', '704:1408'] as const;
const GROK_2K = ['2048:2048', '2816:1584', '1584:2816', '2368:1776', '1776:2368', '2496:1664', '1664:2496', '2912:1344', '1344:2912', '3200:1440', '1440:3200', '2912:1456', '1456:2912'] as const;

/** The bot's prompt cap for models whose SDK types state no limit: the smallest limit Runway states for any model. */
export const UNSTATED_PROMPT_LIMIT = 1_000;
/** The bot's cap on references where the SDK states no maximum (seedream): Muse's stated 10. */
const UNSTATED_REFERENCE_LIMIT = 10;
/** The bot's cap on `outputCount` where the SDK states no range: what Gemini 3 states as its most (4). */
const UNSTATED_OUTPUT_COUNTS = [1, 2, 3, 4] as const;
const ONE_TO_TEN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;

const RUNWAY_PRICING = 'https://docs.dev.runwayml.com/guides/pricing/';
const GPT_QUALITY = ['low', 'medium', 'high', 'auto'] as const;
const GPT_2_5_QUALITY = ['low', 'medium', 'high', 'xhigh', 'max'] as const;
const GPT_NOTE =
  'guess: 20 credits up to 2560 px, 41 at 4K or `auto`, at the default `high` quality (a third-party table; Runway publishes no price for it in what this project has stored)';

const ENTRIES = {
  gen4_image: {
    id: 'gen4_image',
    label: 'Gen-4 Image',
    description: 'Runway Gen-4: high quality, optional reference images',
    ratios: [...priced(GEN4_720P, 5), ...priced(GEN4_1080P, 8)],
    defaultRatio: '1920:1080',
    freeformPixels: null,
    maxPromptUnits: 1000,
    promptLimitSource: 'sdk',
    minReferences: 0,
    maxReferences: 3,
    maxReferencesSource: 'sdk',
    referenceTags: 'optional',
    referenceSubjects: null,
    supportsSeed: true,
    contentModeration: true,
    outputCounts: [],
    outputCountSource: 'sdk',
    options: {},
    price: { source: 'runway_pricing', note: `${RUNWAY_PRICING}: 5 credits at 720p, 8 at 1080p`, perReferenceCredits: 0 },
    expectedDurationMs: 20_000,
  },
  gen4_image_turbo: {
    id: 'gen4_image_turbo',
    label: 'Gen-4 Image Turbo',
    description: 'Fast and cheap; needs 1 to 3 reference images',
    ratios: [...priced(GEN4_720P, 2), ...priced(GEN4_1080P, 2)],
    defaultRatio: '1920:1080',
    freeformPixels: null,
    maxPromptUnits: 1000,
    promptLimitSource: 'sdk',
    minReferences: 1,
    maxReferences: 3,
    maxReferencesSource: 'sdk',
    referenceTags: 'optional',
    referenceSubjects: null,
    supportsSeed: true,
    contentModeration: true,
    outputCounts: [],
    outputCountSource: 'sdk',
    options: {},
    price: { source: 'runway_pricing', note: `${RUNWAY_PRICING}: 2 credits`, perReferenceCredits: 0 },
    expectedDurationMs: 8_000,
  },
  'gemini_2.5_flash': {
    id: 'gemini_2.5_flash',
    label: 'Gemini 2.5 Flash Image',
    description: "Google's image model; no seed",
    ratios: priced(GEMINI_1K, 5),
    defaultRatio: '1344:768',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 3,
    maxReferencesSource: 'sdk',
    referenceTags: 'optional',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: [],
    outputCountSource: 'sdk',
    options: {},
    price: { source: 'runway_pricing', note: `${RUNWAY_PRICING}: 5 credits`, perReferenceCredits: 0 },
    expectedDurationMs: 15_000,
  },
  gemini_image3_pro: {
    id: 'gemini_image3_pro',
    label: 'Gemini 3 Pro Image',
    description: "Google's Nano Banana Pro: 1K to 4K, up to 14 reference images",
    ratios: [...priced(GEMINI_1K, 20), ...priced(GEMINI_2K, 20), ...priced(GEMINI_4K, 40)],
    defaultRatio: '1344:768',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 14,
    maxReferencesSource: 'sdk',
    referenceTags: 'optional',
    referenceSubjects: { human: 5, object: 9 },
    supportsSeed: false,
    contentModeration: false,
    outputCounts: [1, 4],
    outputCountSource: 'sdk',
    options: {},
    price: { source: 'guess', note: 'guess: 20 credits up to 2K and 40 at 4K (a third-party table; Runway publishes no price for it in what this project has stored)', perReferenceCredits: 0 },
    expectedDurationMs: 30_000,
  },
  'gemini_image3.1_flash': {
    id: 'gemini_image3.1_flash',
    label: 'Gemini 3.1 Flash Image',
    description: "Google's fast Gemini 3.1: 512 px to 4K, panoramas, up to 14 references",
    ratios: [
      ...priced(FLASH_05K, 20),
      ...priced(FLASH_1K, 20),
      ...priced(FLASH_2K, 20),
      ...priced(FLASH_4K, 40),
    ],
    defaultRatio: '1344:768',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 14,
    maxReferencesSource: 'sdk',
    referenceTags: 'optional',
    referenceSubjects: { human: 5, object: 9 },
    supportsSeed: false,
    contentModeration: false,
    outputCounts: [1, 4],
    outputCountSource: 'sdk',
    options: {},
    price: { source: 'guess', note: 'guess: priced as Gemini 3 Pro (20 credits up to 2K, 40 above); Runway publishes no price for it in what this project has stored', perReferenceCredits: 0 },
    expectedDurationMs: 20_000,
  },
  gpt_image_2: {
    id: 'gpt_image_2',
    label: 'GPT Image 2',
    description: "OpenAI's image model: up to 4K, up to 16 reference images",
    ratios: [...priced(GPT_1K, 20), ...priced(GPT_2K, 20), ...priced(GPT_4K, 41), ...priced(['auto'] as const, 41)],
    defaultRatio: '1920:1088',
    freeformPixels: null,
    maxPromptUnits: 32_000,
    promptLimitSource: 'sdk',
    minReferences: 0,
    maxReferences: 16,
    maxReferencesSource: 'sdk',
    referenceTags: 'unique',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: ONE_TO_TEN,
    outputCountSource: 'sdk',
    options: { background: ['transparent', 'opaque', 'auto'], quality: GPT_QUALITY },
    price: { source: 'guess', note: GPT_NOTE, perReferenceCredits: 0 },
    expectedDurationMs: 60_000,
  },
  gpt_image_2_5_flare: {
    id: 'gpt_image_2_5_flare',
    label: 'GPT Image 2.5 Flare',
    description: 'OpenAI GPT Image 2.5, Flare: up to 4K, up to 16 reference images',
    ratios: [...priced(GPT_1K, 20), ...priced(GPT_2K, 20), ...priced(GPT_4K, 41), ...priced(['auto'] as const, 41)],
    defaultRatio: '1920:1088',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 16,
    maxReferencesSource: 'sdk',
    referenceTags: 'unique',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: ONE_TO_TEN,
    outputCountSource: 'sdk',
    options: { background: ['opaque', 'auto'], quality: GPT_2_5_QUALITY },
    price: { source: 'guess', note: `${GPT_NOTE}; each reference adds 1 credit (SDK types)`, perReferenceCredits: 1 },
    expectedDurationMs: 60_000,
  },
  gpt_image_2_5_sunburst: {
    id: 'gpt_image_2_5_sunburst',
    label: 'GPT Image 2.5 Sunburst',
    description: 'OpenAI GPT Image 2.5, Sunburst: transparent backgrounds, up to 16 references',
    ratios: [...priced(GPT_1K, 20), ...priced(GPT_2K, 20), ...priced(GPT_4K, 41), ...priced(['auto'] as const, 41)],
    defaultRatio: '1920:1088',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 16,
    maxReferencesSource: 'sdk',
    referenceTags: 'unique',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: ONE_TO_TEN,
    outputCountSource: 'sdk',
    options: { background: ['transparent', 'opaque', 'auto'], quality: GPT_2_5_QUALITY },
    price: { source: 'guess', note: `${GPT_NOTE}; each reference adds 1 credit (SDK types)`, perReferenceCredits: 1 },
    expectedDurationMs: 60_000,
  },
  seedream5_pro: {
    id: 'seedream5_pro',
    label: 'Seedream 5 Pro',
    description: "ByteDance's Seedream 5: 1K and 2K sizes, fuses reference images",
    ratios: [...priced(SEEDREAM_PRO_1K, 5), ...priced(SEEDREAM_PRO_2K, 9), ...priced(['auto_1k'] as const, 5), ...priced(['auto_2k'] as const, 9)],
    defaultRatio: '1376:768',
    freeformPixels: null,
    maxPromptUnits: 4_000,
    promptLimitSource: 'sdk',
    minReferences: 0,
    maxReferences: UNSTATED_REFERENCE_LIMIT,
    maxReferencesSource: 'assumed',
    referenceTags: 'none',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: UNSTATED_OUTPUT_COUNTS,
    outputCountSource: 'assumed',
    options: { grounding: [true, false], outputFormat: ['png', 'jpeg'] },
    price: { source: 'guess', note: 'guess: 5 credits at 1K, 9 at 2K (a third-party table; Runway publishes no price for it in what this project has stored)', perReferenceCredits: 0 },
    expectedDurationMs: 30_000,
  },
  seedream5_lite: {
    id: 'seedream5_lite',
    label: 'Seedream 5 Lite',
    description: "ByteDance's Seedream 5 Lite: 2K to 4K, or any size of 3.7 to 16.8 megapixels",
    ratios: priced(SEEDREAM_LITE, 4),
    defaultRatio: '2848:1600',
    freeformPixels: { min: 3_686_400, max: 16_777_216 },
    maxPromptUnits: 4_000,
    promptLimitSource: 'sdk',
    minReferences: 0,
    maxReferences: UNSTATED_REFERENCE_LIMIT,
    maxReferencesSource: 'assumed',
    referenceTags: 'none',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: UNSTATED_OUTPUT_COUNTS,
    outputCountSource: 'assumed',
    options: { grounding: [true, false], outputFormat: ['png', 'jpeg'] },
    price: { source: 'guess', note: 'guess: 4 credits at any size (a third-party table; Runway publishes no price for it in what this project has stored)', perReferenceCredits: 0 },
    expectedDurationMs: 30_000,
  },
  muse_image: {
    id: 'muse_image',
    label: 'Muse Image',
    description: '1 credit an image; edits and combines up to 10 reference images',
    ratios: [...priced(MUSE, 1), ...priced(['auto'] as const, 1)],
    defaultRatio: '2016:1152',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 10,
    maxReferencesSource: 'sdk',
    referenceTags: 'none',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: UNSTATED_OUTPUT_COUNTS,
    outputCountSource: 'assumed',
    options: { outputFormat: ['webp', 'png', 'jpeg'] },
    price: { source: 'sdk_types', note: 'the SDK types: "Each image costs 1 credit."', perReferenceCredits: 0 },
    expectedDurationMs: 20_000,
  },
  grok_imagine_image_2: {
    id: 'grok_imagine_image_2',
    label: 'Grok Imagine Image 2',
    description: "xAI's Grok Imagine: 1K and 2K sizes, up to 3 reference images",
    ratios: [...priced(GROK_1K, 6), ...priced(GROK_2K, 8), ...priced(['auto_1k'] as const, 6), ...priced(['auto_2k'] as const, 8)],
    defaultRatio: '1280:720',
    freeformPixels: null,
    maxPromptUnits: UNSTATED_PROMPT_LIMIT,
    promptLimitSource: 'assumed',
    minReferences: 0,
    maxReferences: 3,
    maxReferencesSource: 'sdk',
    referenceTags: 'none',
    referenceSubjects: null,
    supportsSeed: false,
    contentModeration: false,
    outputCounts: UNSTATED_OUTPUT_COUNTS,
    outputCountSource: 'assumed',
    options: { edit: [true, false], quality: ['low', 'medium'] },
    price: {
      source: 'guess',
      note: 'guess: 6 credits at 1K, 8 at 2K, +1 per reference, at the default `medium` quality. The SDK types state the differences (2K +2, `low` -2, a reference +1); the base of 6 is a third-party figure',
      perReferenceCredits: 1,
    },
    expectedDurationMs: 20_000,
  },
} as const satisfies Catalogue;

/** Every model of the catalogue, in display order (the order of `ENTRIES`). */
export const MODELS: readonly ModelInfo[] = Object.values(ENTRIES);

/** Every model id, in display order. */
export const MODEL_IDS: readonly ModelId[] = MODELS.map((model) => model.id);

/** The default when a user names no model, if the operator offers it (else the first model offered). */
export const DEFAULT_MODEL_ID: ModelId = 'gen4_image';

const BY_ID: ReadonlyMap<string, ModelInfo> = new Map(MODELS.map((model) => [model.id, model]));

/** Any model of the catalogue by id, offered or not: stored jobs and Runway's reports name hidden ones too. */
export function findModel(id: string): ModelInfo | undefined {
  return BY_ID.get(id);
}

export function isModelId(id: string): id is ModelId {
  return BY_ID.has(id);
}

// ---------------------------------------------------------------------------------------------
// The operator's choice of models (MODELS in the environment). Process-wide like the environment it
// comes from: the composition root sets it once from the config (src/app.ts), before any adapter
// starts; validation, help, Discord's choices and cheaper suggestions read it.

let offered: ReadonlySet<ModelId> = new Set(MODEL_IDS);

/** Offer only these models (the catalogue's order is kept). Throws on an empty list or an id the catalogue lacks. */
export function offerModels(ids: readonly string[]): void {
  const unknown = ids.filter((id) => !isModelId(id));
  if (unknown.length > 0) throw new Error(`not in the model catalogue: ${unknown.join(', ')}`);
  if (ids.length === 0) throw new Error('at least one model must be offered');
  offered = new Set(ids.filter(isModelId));
}

/** The models users may pick, in catalogue order. */
export function offeredModels(): readonly ModelInfo[] {
  return MODELS.filter((model) => offered.has(model.id));
}

export function isOffered(id: string): boolean {
  return isModelId(id) && offered.has(id);
}

/** The model used when none is named: gen4_image, or the first offered if the operator hid it. */
export function defaultModel(): ModelInfo {
  const preferred = findModel(DEFAULT_MODEL_ID);
  if (preferred && offered.has(preferred.id)) return preferred;
  const first = offeredModels()[0];
  if (!first) throw new Error('no model is offered');
  return first;
}

// ---------------------------------------------------------------------------------------------
// Sizes and prices.

/** `W:H` as numbers, or null for `auto`, `auto_1k`… and anything else that is not a size. */
export function sizeOf(value: string): { width: number; height: number } | null {
  const match = /^(\d{1,6}):(\d{1,6})$/.exec(value);
  if (!match) return null;
  const width = Number(match[1]);
  const height = Number(match[2]);
  return width > 0 && height > 0 ? { width, height } : null;
}

/** Whether the model takes this exact ratio value: one of its list, or a freeform size in its pixel range. */
export function takesRatio(model: ModelInfo, ratio: string): boolean {
  if (model.ratios.some((r) => r.value === ratio)) return true;
  return isFreeformSize(model, ratio);
}

/** A `W:H` outside the model's list that its pixel range still admits (seedream5_lite). */
export function isFreeformSize(model: ModelInfo, ratio: string): boolean {
  const size = sizeOf(ratio);
  const range = model.freeformPixels;
  if (!size || !range || `${size.width}:${size.height}` !== ratio) return false;
  const pixels = size.width * size.height;
  return pixels >= range.min && pixels <= range.max;
}

/**
 * The catalogue's estimate for one generation, before Runway's estimate replaces it: the ratio's
 * price (a freeform size takes the model's highest), plus any per-reference surcharge.
 */
export function catalogueCost(model: ModelInfo, ratio: string, referenceCount = 0): number {
  const listed = model.ratios.find((r) => r.value === ratio);
  const base = listed?.costCredits ?? (isFreeformSize(model, ratio) ? Math.max(...model.ratios.map((r) => r.costCredits)) : undefined);
  if (base === undefined) throw new Error(`ratio ${ratio} is not offered by ${model.id}`);
  return base + model.price.perReferenceCredits * Math.max(0, referenceCount);
}
