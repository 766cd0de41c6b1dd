import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PERIODS, type Period } from './credits/periods.ts';
import type { ErrorCode } from './errors.ts';
import { isModelId, MODEL_IDS, type ModelId } from './models.ts';

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


/** A budget in credits, or `off` (unlimited: the operator chose it explicitly). */
const budgetAmount = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx): number | null => {
      if (v === undefined) return fallback;
      const text = v.trim().toLowerCase();
      if (text === 'off' || text === 'unlimited') return null;
      if (/^\d{1,9}$/.test(text)) return Number(text);
      ctx.addIssue({ code: 'custom', message: `must be a whole number of credits (0 to 999,999,999) or \`off\`; got "${v.slice(0, 20)}"` });
      return z.NEVER;
    });

const periodName = (fallback: Period) => z.enum(PERIODS).optional().transform((v) => v ?? fallback);

/** `3/day`: moderated generations allowed per member in a window before /imagine pauses; `off` never pauses. */
const strikesRule = z
  .string()
  .optional()
  .transform((v, ctx): { count: number; period: 'day' | 'week' | 'month' } | null => {
    if (v === undefined) return { count: 3, period: 'day' };
    const text = v.trim().toLowerCase();
    if (text === 'off') return null;
    const match = /^(\d{1,4})\s*\/\s*(day|week|month)$/.exec(text);
    if (match && Number(match[1]) > 0) return { count: Number(match[1]), period: match[2] as 'day' | 'week' | 'month' };
    ctx.addIssue({ code: 'custom', message: `must look like \`3/day\` (a count of at least 1, then day, week or month) or \`off\`; got "${v.slice(0, 20)}"` });
    return z.NEVER;
  });

/** `HEALTH_PORT`: a TCP port, or `0`/`off` for no health server. */
const healthPort = z
  .string()
  .optional()
  .transform((v, ctx): number | null => {
    if (v === undefined) return 8_080;
    const text = v.trim().toLowerCase();
    if (text === 'off' || text === '0') return null;
    if (/^\d{1,5}$/.test(text) && Number(text) <= 65_535) return Number(text);
    ctx.addIssue({ code: 'custom', message: `must be a port from 1 to 65535, or \`off\` (or 0) for no health server; got "${v.slice(0, 20)}"` });
    return z.NEVER;
  });

const DURATION_UNITS_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `BACKUP_EVERY`: `30m`, `6h`, `1d` (1 minute to 365 days), or `off`; undefined when not set. */
const backupEvery = z
  .string()
  .optional()
  .transform((v, ctx): number | null | undefined => {
    if (v === undefined) return undefined;
    const text = v.trim().toLowerCase();
    if (text === 'off') return null;
    const match = /^(\d{1,6})\s*(m|h|d)$/.exec(text);
    const ms = match ? Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS] : 0;
    if (ms >= DURATION_UNITS_MS.m && ms <= 365 * DURATION_UNITS_MS.d) return ms;
    ctx.addIssue({ code: 'custom', message: `must be a duration such as \`6h\`, \`1d\` or \`30m\` (1 minute to 365 days), or \`off\`; got "${v.slice(0, 20)}"` });
    return z.NEVER;
  });

/** `DISCORD_SHARDS`: the bot's total number of gateway shards, or `auto` (as many as Discord recommends). */
const shardCount = z
  .string()
  .optional()
  .transform((v, ctx): number | 'auto' | undefined => {
    if (v === undefined) return undefined;
    const text = v.trim().toLowerCase();
    if (text === 'auto') return 'auto';
    if (/^\d{1,5}$/.test(text) && Number(text) > 0) return Number(text);
    ctx.addIssue({ code: 'custom', message: `must be the total number of shards, a whole number from 1 to 99999, or \`auto\` (as many as Discord recommends); got "${v.slice(0, 20)}"` });
    return z.NEVER;
  });

/** `DISCORD_SHARD_IDS`: shard ids and ranges (`0,1`, `0-3`, `4-7 9`), ascending and without repeats. */
const shardIdList = z
  .string()
  .optional()
  .transform((v, ctx): readonly number[] | undefined => {
    if (v === undefined) return undefined;
    const ids = new Set<number>();
    for (const part of v.split(/[\s,]+/).filter((s) => s !== '')) {
      const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
      const first = Number(match?.[1]);
      const last = match?.[2] === undefined ? first : Number(match[2]);
      if (!match || last < first) {
        ctx.addIssue({ code: 'custom', message: `must be shard ids and ranges such as \`0,1\` or \`0-3\` (a range from the lower id to the higher); got "${v.slice(0, 20)}"` });
        return z.NEVER;
      }
      for (let id = first; id <= last; id++) ids.add(id);
    }
    return [...ids].sort((a, b) => a - b);
  });

/** Which catalogue models users may pick: ids, comma or space separated; unset or empty: all of them. */
const modelList = idList.transform((ids, ctx): readonly ModelId[] => {
  if (ids.length === 0) return MODEL_IDS;
  const unknown = [...new Set(ids.filter((id) => !isModelId(id)))];
  if (unknown.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown model ${unknown.map((id) => `"${id.slice(0, 40)}"`).join(', ')}; the models are ${MODEL_IDS.join(', ')}`,
    });
    return z.NEVER;
  }
  return MODEL_IDS.filter((id) => ids.includes(id));
});

const envSchema = z.object({
  RUNWAYML_API_SECRET: optionalText,
  RUNWAYML_BASE_URL: optionalText.pipe(z.url().optional()),
  DISCORD_TOKEN: optionalText,
  DISCORD_API_URL: optionalText.pipe(z.url().optional()),
  DISCORD_GUILD_IDS: idList,
  DISCORD_MODERATOR_ROLE: optionalText,
  DISCORD_SHARDS: shardCount,
  DISCORD_SHARD_IDS: shardIdList,
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText,
  SLACK_API_URL: optionalText.pipe(z.url().optional()),
  SLACK_MODERATORS: idList,
  PORT: positiveInt(3000),
  DATABASE_PATH: optionalText.transform((v) => v ?? './data/imagine-bot.db'),
  // PostgreSQL, for several bot processes on one database (README: "Scale"). Checked here so a typo
  // stops the start with a message instead of a connection error; the password is never echoed.
  DATABASE_URL: optionalText.superRefine((v, ctx) => {
    if (v === undefined) return;
    if (!isPostgresUrl(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/imagine (postgres:// or postgresql://, with a host)' });
    }
  }),
  REFERENCE_DIR: optionalText,
  // How long a job stays a process's without renewal: with several processes, how long a failover takes.
  JOB_LEASE_SECONDS: optionalText.transform((v, ctx) => {
    if (v === undefined) return 60_000;
    const seconds = Number(v);
    if (Number.isInteger(seconds) && seconds >= 2 && seconds <= 600) return seconds * 1000;
    ctx.addIssue({ code: 'custom', message: `must be a whole number of seconds from 2 to 600; got "${v.slice(0, 20)}"` });
    return z.NEVER;
  }),
  DEFAULT_ALLOWANCE: z.coerce.number().int().nonnegative().optional().transform((v) => v ?? 50),
  DEFAULT_PERIOD: periodName('day'),
  // The operator's bounds (README: "What the bot can cost you"). Finite by default.
  OPERATOR_BUDGET: budgetAmount(1_000),
  OPERATOR_PERIOD: periodName('day'),
  COMMUNITY_BUDGET: budgetAmount(200),
  COMMUNITY_PERIOD: periodName('day'),
  SLACK_TEAM_IDS: idList,
  MAX_JOBS_PER_MEMBER: positiveInt(2),
  // The bot's copy of reference images (src/jobs/reference-store.ts), in MB: full refuses new requests with images.
  REFERENCE_STORE_MAX_MB: positiveInt(1_024),
  MODERATION_STRIKES: strikesRule,
  RUNWAY_LOW_BALANCE: z.coerce.number().int().nonnegative().optional().transform((v) => v ?? 1_000),
  MEDIA_ORIGINS: originList,
  MODELS: modelList,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
  // Not in the design's list: operators rarely touch these; tests and the sandbox do.
  RUNWAY_POLL_INTERVAL_MS: positiveInt(5_000),
  OUTPUT_DIR: optionalText.transform((v) => v ?? './output'),
  // Running it as a service (README "Running in production").
  HEALTH_PORT: healthPort,
  BACKUP_DIR: optionalText,
  BACKUP_EVERY: backupEvery,
  BACKUP_KEEP: positiveInt(7),
});

export type Env = z.infer<typeof envSchema>;

/**
 * The gateway shards this process runs (https://discord.com/developers/docs/events/gateway#sharding):
 * `auto`, every shard of the count Discord recommends at login; otherwise `ids`, some or all of
 * `count` shards, the rest run by other processes with the same `count`.
 */
export type DiscordShards = { readonly count: 'auto' } | { readonly count: number; readonly ids: readonly number[] };

export interface Config {
  readonly runway: { readonly apiSecret: string | undefined; readonly baseUrl: string | undefined; readonly pollIntervalMs: number };
  readonly discord:
    | {
        readonly token: string;
        readonly apiUrl: string | undefined;
        /** Where commands are registered and, when not empty, the only servers served. */
        readonly guildIds: readonly string[];
        readonly moderatorRoleId: string | undefined;
        readonly shards: DiscordShards;
      }
    | undefined;
  readonly slack:
    | {
        readonly botToken: string;
        readonly signingSecret: string | undefined;
        readonly appToken: string | undefined;
        readonly apiUrl: string | undefined;
        readonly moderators: readonly string[];
        readonly port: number;
        /** When not empty, the only workspaces served. */
        readonly teamIds: readonly string[];
      }
    | undefined;
  readonly databasePath: string;
  /** Set: PostgreSQL at this URL instead of the SQLite file at databasePath. */
  readonly databaseUrl: string | undefined;
  /** How long a job stays a process's without renewal (JOB_LEASE_SECONDS): another takes it over after that. */
  readonly jobLeaseMs: number;
  /** The bot's copy of reference images (REFERENCE_DIR; default beside the SQLite file). Several processes must share it. */
  readonly referenceDir: string;
  /** The most the reference store (beside the database) may hold, in bytes. */
  readonly referenceStoreMaxBytes: number;
  readonly credits: {
    readonly defaultAllowance: number;
    readonly defaultPeriod: Period;
    /** Across every community; null only when the operator set `off`. */
    readonly operatorBudget: { readonly amount: number; readonly period: Period } | null;
    /** Each community's, unless the operator's tool sets another; null only when set `off`. */
    readonly communityBudget: { readonly amount: number; readonly period: Period } | null;
    readonly maxJobsPerMember: number;
  };
  /** Moderated generations a member may cause per window before their /imagine is paused; null: never paused. */
  readonly moderationStrikes: { readonly count: number; readonly period: 'day' | 'week' | 'month' } | null;
  /** Below this many credits left in the Runway organisation, a warning is logged once. */
  readonly runwayLowBalanceCredits: number;
  /** Extra origins (scheme://host:port) downloads may come from, on top of each platform's own. */
  readonly mediaOrigins: readonly string[];
  /** The catalogue's models users may pick (MODELS), in catalogue order; every model unless the operator lists some. */
  readonly models: readonly ModelId[];
  /** Unset: `info` with a chat platform, `warn` in the terminal sandbox (logs share its screen). */
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent' | undefined;
  readonly outputDir: string;
  /** Where /healthz, /readyz and /metrics listen when a chat platform runs; null: no health server. */
  readonly healthPort: number | null;
  readonly backup: {
    /** Where automatic and pre-upgrade backups go; unset: no automatic backups, pre-upgrade ones beside the database. */
    readonly dir: string | undefined;
    /** Between automatic backups; null: none. */
    readonly everyMs: number | null;
    /** Automatic backups kept; older ones are deleted. */
    readonly keep: number;
  };
}

export class ConfigError extends Error {
  readonly code = 'config.invalid' satisfies ErrorCode;
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

/** A postgres:// or postgresql:// URL with a host. */
function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Parse the environment; throws ConfigError naming every bad variable at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means unset (a copied .env.example, `FOO=` in compose): never a silent 0.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.SLACK_BOT_TOKEN && !e.SLACK_SIGNING_SECRET && !e.SLACK_APP_TOKEN) {
    problems.push('SLACK_SIGNING_SECRET or SLACK_APP_TOKEN: one is needed with SLACK_BOT_TOKEN (HTTP mode or Socket Mode)');
  }
  if (e.BACKUP_EVERY && !e.BACKUP_DIR) {
    problems.push('BACKUP_EVERY: needs BACKUP_DIR, the directory the backups go to');
  }
  if (e.SLACK_BOT_TOKEN && !e.SLACK_APP_TOKEN && e.HEALTH_PORT === e.PORT) {
    problems.push(`HEALTH_PORT: ${e.PORT} is also PORT, where Slack's requests arrive; give the health server another port`);
  }
  if (set.DATABASE_PATH !== undefined && e.DATABASE_URL !== undefined) {
    problems.push('DATABASE_PATH and DATABASE_URL: set one, not both: DATABASE_PATH for SQLite (one bot process), DATABASE_URL for PostgreSQL (one or several)');
  }
  problems.push(...shardProblems(e.DISCORD_SHARDS, e.DISCORD_SHARD_IDS));
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    runway: { apiSecret: e.RUNWAYML_API_SECRET, baseUrl: e.RUNWAYML_BASE_URL, pollIntervalMs: e.RUNWAY_POLL_INTERVAL_MS },
    discord: e.DISCORD_TOKEN
      ? {
          token: e.DISCORD_TOKEN,
          apiUrl: e.DISCORD_API_URL,
          guildIds: e.DISCORD_GUILD_IDS,
          moderatorRoleId: e.DISCORD_MODERATOR_ROLE,
          shards: discordShards(e.DISCORD_SHARDS, e.DISCORD_SHARD_IDS),
        }
      : undefined,
    slack: e.SLACK_BOT_TOKEN
      ? {
          botToken: e.SLACK_BOT_TOKEN,
          signingSecret: e.SLACK_SIGNING_SECRET,
          appToken: e.SLACK_APP_TOKEN,
          apiUrl: e.SLACK_API_URL,
          moderators: e.SLACK_MODERATORS,
          port: e.PORT,
          teamIds: e.SLACK_TEAM_IDS,
        }
      : undefined,
    databasePath: e.DATABASE_PATH,
    databaseUrl: e.DATABASE_URL,
    jobLeaseMs: e.JOB_LEASE_SECONDS,
    referenceDir: e.REFERENCE_DIR ?? join(dirname(e.DATABASE_PATH), 'references'),
    referenceStoreMaxBytes: e.REFERENCE_STORE_MAX_MB * 1024 * 1024,
    credits: {
      defaultAllowance: e.DEFAULT_ALLOWANCE,
      defaultPeriod: e.DEFAULT_PERIOD,
      operatorBudget: e.OPERATOR_BUDGET === null ? null : { amount: e.OPERATOR_BUDGET, period: e.OPERATOR_PERIOD },
      communityBudget: e.COMMUNITY_BUDGET === null ? null : { amount: e.COMMUNITY_BUDGET, period: e.COMMUNITY_PERIOD },
      maxJobsPerMember: e.MAX_JOBS_PER_MEMBER,
    },
    moderationStrikes: e.MODERATION_STRIKES,
    runwayLowBalanceCredits: e.RUNWAY_LOW_BALANCE,
    mediaOrigins: e.MEDIA_ORIGINS.map((o) => o.replace(/\/$/, '')),
    models: e.MODELS,
    logLevel: e.LOG_LEVEL,
    outputDir: e.OUTPUT_DIR,
    healthPort: e.HEALTH_PORT,
    backup: {
      dir: e.BACKUP_DIR,
      // A backup directory alone means daily backups; BACKUP_EVERY=off keeps only the pre-upgrade ones.
      everyMs: e.BACKUP_DIR === undefined ? null : e.BACKUP_EVERY === undefined ? DURATION_UNITS_MS.d : e.BACKUP_EVERY,
      keep: e.BACKUP_KEEP,
    },
  };
}

/** What is wrong with DISCORD_SHARDS and DISCORD_SHARD_IDS together (each alone has parsed). */
function shardProblems(count: number | 'auto' | undefined, ids: readonly number[] | undefined): string[] {
  if (ids === undefined) return [];
  if (count === undefined) return ['DISCORD_SHARD_IDS: needs DISCORD_SHARDS, the total number of shards across every process'];
  if (count === 'auto') {
    return ["DISCORD_SHARD_IDS: needs DISCORD_SHARDS to be a number, not `auto`: every process must split the same count, and Discord's recommendation can change between their starts"];
  }
  const outside = ids.filter((id) => id >= count);
  if (outside.length === 0) return [];
  const named = outside.length === 1 ? `shard ${outside[0]}` : outside.length <= 5 ? `shards ${listed(outside)}` : `shards ${outside[0]} to ${outside.at(-1)}`;
  const range = count === 1 ? 'the only shard id is 0' : `shard ids run from 0 to ${count - 1}`;
  return [`DISCORD_SHARD_IDS names ${named}, but DISCORD_SHARDS is ${count}: ${range}.`];
}

/** `1, 2 and 3`. */
function listed(values: readonly number[]): string {
  return values.length === 1 ? String(values[0]) : `${values.slice(0, -1).join(', ')} and ${values.at(-1)}`;
}

/** The shards this process runs: DISCORD_SHARD_IDS of DISCORD_SHARDS, every one of them by default, one unsharded. */
function discordShards(count: number | 'auto' | undefined, ids: readonly number[] | undefined): DiscordShards {
  if (count === 'auto') return { count: 'auto' };
  const total = count ?? 1;
  return { count: total, ids: ids ?? Array.from({ length: total }, (_, id) => id) };
}
