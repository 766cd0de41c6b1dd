/**
 * The Runway model catalogue: the one table that validation, help text, Discord choices and the
 * price list are read from. Adding a model is one entry. Ratios and limits follow
 * `TextToImageCreateParams` in @runwayml/sdk; prices follow Runway's published credit costs.
 */

export interface RatioInfo {
  /** Runway's `W:H` value, sent as is. */
  readonly value: string;
  /** Price in credits at this resolution. */
  readonly costCredits: number;
}

export interface ModelInfo {
  readonly id: string;
  /** What users see in choices and help. */
  readonly label: string;
  readonly description: string;
  readonly ratios: readonly RatioInfo[];
  readonly defaultRatio: string;
  /** Maximum prompt length in UTF-16 code units (what Runway counts). */
  readonly maxPromptUnits: number;
  readonly minReferences: number;
  readonly maxReferences: number;
  readonly supportsSeed: boolean;
  /** A first guess at how long a generation takes, before the bot has learned from real jobs. */
  readonly expectedDurationMs: number;
}

const GEN4_720P = ['1280:720', '720:1280', '720:720', '960:720', '720:960', '1680:720'] as const;
const GEN4_1080P = [
  '1920:1080', '1080:1920', '1024:1024', '1080:1080', '1360:768', '1168:880', '1440:1080', '1080:1440', '1808:768', '2112:912',
] as const;

const gen4Ratios = (cost720p: number, cost1080p: number): RatioInfo[] => [
  ...GEN4_720P.map((value) => ({ value, costCredits: cost720p })),
  ...GEN4_1080P.map((value) => ({ value, costCredits: cost1080p })),
];

const GEMINI_FLASH_RATIOS = [
  '1344:768', '768:1344', '1024:1024', '1184:864', '864:1184', '1536:672', '832:1248', '1248:832', '896:1152', '1152:896',
] as const;

export const MODELS: readonly ModelInfo[] = [
  {
    id: 'gen4_image',
    label: 'Gen-4 Image',
    description: 'Runway Gen-4: high quality, optional reference images',
    ratios: gen4Ratios(5, 8),
    defaultRatio: '1920:1080',
    maxPromptUnits: 1000,
    minReferences: 0,
    maxReferences: 3,
    supportsSeed: true,
    expectedDurationMs: 20_000,
  },
  {
    id: 'gen4_image_turbo',
    label: 'Gen-4 Image Turbo',
    description: 'Fast and cheap; needs 1 to 3 reference images',
    ratios: gen4Ratios(2, 2),
    defaultRatio: '1920:1080',
    maxPromptUnits: 1000,
    minReferences: 1,
    maxReferences: 3,
    supportsSeed: true,
    expectedDurationMs: 8_000,
  },
  {
    id: 'gemini_2.5_flash',
    label: 'Gemini 2.5 Flash Image',
    description: "Google's image model; no seed",
    ratios: GEMINI_FLASH_RATIOS.map((value) => ({ value, costCredits: 5 })),
    defaultRatio: '1344:768',
    maxPromptUnits: 1000,
    minReferences: 0,
    maxReferences: 3,
    supportsSeed: false,
    expectedDurationMs: 15_000,
  },
];

export const DEFAULT_MODEL_ID = 'gen4_image';

export function findModel(id: string): ModelInfo | undefined {
  return MODELS.find((model) => model.id === id);
}

/** The catalogue price of one generation, before Runway's estimate corrects it. */
export function catalogueCost(model: ModelInfo, ratio: string): number {
  const info = model.ratios.find((r) => r.value === ratio);
  if (!info) throw new Error(`ratio ${ratio} is not offered by ${model.id}`);
  return info.costCredits;
}
