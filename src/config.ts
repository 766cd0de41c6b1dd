import { existsSync } from 'node:fs';
import { z } from 'zod';

/**
 * The environment, parsed once into a typed config. This is the only module that reads
 * `process.env`. Invalid configuration stops the bot at start with one message naming every bad
 * variable (design §8).
 */

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const idList = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(/[\s,]+/).filter((s) => s !== ''));

const positiveInt = (fallback: number) =>
  z.coerce.number().int().positive().optional().transform((v) => v ?? fallback);

const period = z.enum(['day', 'week', 'month', 'none']);

/** A budget is a non-negative whole number of credits, or `off` (unlimited, said explicitly); unset: the default. */
const budgetAmount = (fallback: number) =>
  optionalText
    .refine((v) => v === undefined || v === 'off' || (/^\d+$/.test(v) && Number.isSafeInteger(Number(v))), 'must be a whole number of credits (0 or more) or off')
    .transform((v) => (v === undefined ? fallback : v === 'off' ? null : Number(v)));

const originList = idList.pipe(
  z.array(
    z.string().refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value.replace(/\/$/, '');
      } catch {
        return false;
      }
    }, 'must be a list of origins such as https://media.example.com (scheme, host and port; no path)'),
  ),
);

const envSchema = z.object({
  RUNWAYML_API_SECRET: optionalText,
  RUNWAYML_BASE_URL: optionalText.pipe(z.url().optional()),
  DISCORD_TOKEN: optionalText,
  DISCORD_API_URL: optionalText.pipe(z.url().optional()),
  DISCORD_GUILD_IDS: idList,
  DISCORD_MODERATOR_ROLE: optionalText,
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText,
  SLACK_API_URL: optionalText.pipe(z.url().optional()),
  SLACK_MODERATORS: idList,
  PORT: positiveInt(3000),
  DATABASE_PATH: optionalText.transform((v) => v ?? './data/imagine-bot.db'),
  DEFAULT_ALLOWANCE: z.coerce.number().int().nonnegative().optional().transform((v) => v ?? 50),
  DEFAULT_PERIOD: period.optional().transform((v) => v ?? 'day'),
  OPERATOR_BUDGET: budgetAmount(1_000),
  OPERATOR_PERIOD: period.optional().transform((v) => v ?? 'day'),
  COMMUNITY_BUDGET: budgetAmount(200),
  COMMUNITY_PERIOD: period.optional().transform((v) => v ?? 'day'),
  MEDIA_ORIGINS: originList,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
  // Not in the design's list: operators rarely touch these; tests and the sandbox do.
  RUNWAY_POLL_INTERVAL_MS: positiveInt(5_000),
  OUTPUT_DIR: optionalText.transform((v) => v ?? './output'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly runway: { readonly apiSecret: string | undefined; readonly baseUrl: string | undefined; readonly pollIntervalMs: number };
  readonly discord:
    | { readonly token: string; readonly apiUrl: string | undefined; readonly guildIds: readonly string[]; readonly moderatorRoleId: string | undefined }
    | undefined;
  readonly slack:
    | {
        readonly botToken: string;
        readonly signingSecret: string | undefined;
        readonly appToken: string | undefined;
        readonly apiUrl: string | undefined;
        readonly moderators: readonly string[];
        readonly port: number;
      }
    | undefined;
  readonly databasePath: string;
  readonly credits: {
    readonly defaultAllowance: number;
    readonly defaultPeriod: 'day' | 'week' | 'month' | 'none';
    /** OPERATOR_BUDGET across every community; null when `off`. */
    readonly operatorBudget: ConfigBudget | null;
    /** COMMUNITY_BUDGET, each community's unless the operator sets its own; null when `off`. */
    readonly communityBudget: ConfigBudget | null;
  };
  /** Extra origins (scheme://host:port) downloads may come from, on top of each platform's own. */
  readonly mediaOrigins: readonly string[];
  /** Unset: `info` with a chat platform, `warn` in the terminal sandbox (logs share its screen). */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent' | undefined;
  readonly outputDir: string;
}

export interface ConfigBudget {
  readonly amount: number;
  readonly period: 'day' | 'week' | 'month' | 'none';
}

export class ConfigError extends Error {
  readonly code = 'config.invalid';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Read `.env` from the working directory into the environment if it exists (variables already
 * set win). Node's own parser: no dependency needed.
 */
export function loadDotEnvFile(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** Parse the environment; throws ConfigError naming every bad variable at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
    problems.push('SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: one is needed with SLACK_BOT_TOKEN (HTTP mode or Socket Mode)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    runway: { apiSecret: e.RUNWAYML_API_SECRET, baseUrl: e.RUNWAYML_BASE_URL, pollIntervalMs: e.RUNWAY_POLL_INTERVAL_MS },
    discord: e.DISCORD_TOKEN
      ? { token: e.DISCORD_TOKEN, apiUrl: e.DISCORD_API_URL, guildIds: e.DISCORD_GUILD_IDS, moderatorRoleId: e.DISCORD_MODERATOR_ROLE }
      : undefined,
    slack: e.SLACK_BOT_TOKEN
      ? {
          botToken: e.SLACK_BOT_TOKEN,
          signingSecret: e.SLACK_SIGNING_SECRET,
          appToken: e.SLACK_APP_TOKEN,
          apiUrl: e.SLACK_API_URL,
          moderators: e.SLACK_MODERATORS,
          port: e.PORT,
        }
      : undefined,
    databasePath: e.DATABASE_PATH,
    credits: {
      defaultAllowance: e.DEFAULT_ALLOWANCE,
      defaultPeriod: e.DEFAULT_PERIOD,
      operatorBudget: e.OPERATOR_BUDGET === null ? null : { amount: e.OPERATOR_BUDGET, period: e.OPERATOR_PERIOD },
      communityBudget: e.COMMUNITY_BUDGET === null ? null : { amount: e.COMMUNITY_BUDGET, period: e.COMMUNITY_PERIOD },
    },
    mediaOrigins: e.MEDIA_ORIGINS.map((o) => o.replace(/\/$/, '')),
    logLevel: e.LOG_LEVEL,
    outputDir: e.OUTPUT_DIR,
  };
}
