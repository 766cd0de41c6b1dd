import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';
import { MODEL_IDS } from './models.ts';

describe('configuration', () => {
  it('has working defaults with nothing set (the sandbox)', () => {
    const config = loadConfig({});
    expect(config.discord).toBeUndefined();
    expect(config.slack).toBeUndefined();
    expect(config.databasePath).toBe('./data/imagine-bot.db');
    expect(config.credits).toEqual({
      defaultAllowance: 50,
      defaultPeriod: 'day',
      operatorBudget: { amount: 1_000, period: 'day' },
      communityBudget: { amount: 200, period: 'day' },
      maxJobsPerMember: 2,
    });
    expect(config.moderationStrikes).toEqual({ count: 3, period: 'day' });
    expect(config.runwayLowBalanceCredits).toBe(1_000);
    expect(config.runway.pollIntervalMs).toBe(5_000);
  });

  it('names every bad variable in one message', () => {
    let error: unknown;
    try {
      loadConfig({ DEFAULT_ALLOWANCE: '-3', DEFAULT_PERIOD: 'fortnight', MEDIA_ORIGINS: 'https://ok.example ftp://bad/x', PORT: 'abc' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['DEFAULT_ALLOWANCE', 'DEFAULT_PERIOD', 'MEDIA_ORIGINS', 'PORT']) expect(message).toContain(name);
  });

  it('reads the operator and community budgets, `off` meaning unlimited', () => {
    const config = loadConfig({ OPERATOR_BUDGET: 'off', COMMUNITY_BUDGET: '300', COMMUNITY_PERIOD: 'week' });
    expect(config.credits.operatorBudget).toBeNull();
    expect(config.credits.communityBudget).toEqual({ amount: 300, period: 'week' });
    expect(() => loadConfig({ OPERATOR_BUDGET: '-1' })).toThrow(/OPERATOR_BUDGET/);
    expect(() => loadConfig({ COMMUNITY_BUDGET: '2.5' })).toThrow(/COMMUNITY_BUDGET/);
    expect(() => loadConfig({ COMMUNITY_PERIOD: 'fortnight' })).toThrow(/COMMUNITY_PERIOD/);
  });

  it('needs a signing secret or an app token with a Slack bot token', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(/SLACK_SIGNING_SECRET or SLACK_APP_TOKEN/);
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).slack?.appToken).toBe('xapp-1');
  });

  it('reads lists of ids and origins', () => {
    const config = loadConfig({ DISCORD_TOKEN: 't', DISCORD_GUILD_IDS: '1, 2 3', MEDIA_ORIGINS: 'http://127.0.0.1:9000/' });
    expect(config.discord?.guildIds).toEqual(['1', '2', '3']);
    expect(config.mediaOrigins).toEqual(['http://127.0.0.1:9000']);
  });

  it("reads the operator's bounds, and `off` only where the operator says so", () => {
    const config = loadConfig({
      OPERATOR_BUDGET: '5000', OPERATOR_PERIOD: 'month', COMMUNITY_BUDGET: 'off', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1',
      SLACK_TEAM_IDS: 'T1 T2', MAX_JOBS_PER_MEMBER: '4', MODERATION_STRIKES: '5 / week', RUNWAY_LOW_BALANCE: '250',
    });
    expect(config.credits.operatorBudget).toEqual({ amount: 5_000, period: 'month' });
    expect(config.credits.communityBudget).toBeNull();
    expect(config.credits.maxJobsPerMember).toBe(4);
    expect(config.slack?.teamIds).toEqual(['T1', 'T2']);
    expect(config.moderationStrikes).toEqual({ count: 5, period: 'week' });
    expect(loadConfig({ MODERATION_STRIKES: 'off' }).moderationStrikes).toBeNull();
    expect(config.runwayLowBalanceCredits).toBe(250);
  });

  it('OPERATOR_BUDGET=abc stops the bot with one message naming the variable', () => {
    expect(() => loadConfig({ OPERATOR_BUDGET: 'abc' })).toThrow(
      new ConfigError(['OPERATOR_BUDGET: must be a whole number of credits (0 to 999,999,999) or `off`; got "abc"']),
    );
    expect(() => loadConfig({ OPERATOR_BUDGET: '-5', MODERATION_STRIKES: '0/day', MAX_JOBS_PER_MEMBER: '0' })).toThrow(ConfigError);
    const message = (() => {
      try {
        loadConfig({ OPERATOR_BUDGET: '-5', MODERATION_STRIKES: '0/day', MAX_JOBS_PER_MEMBER: '0', COMMUNITY_PERIOD: 'fortnight' });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const name of ['OPERATOR_BUDGET', 'MODERATION_STRIKES', 'MAX_JOBS_PER_MEMBER', 'COMMUNITY_PERIOD']) expect(message).toContain(`${name}:`);
  });

  it('an empty variable means unset, never a silent 0', () => {
    const config = loadConfig({ DEFAULT_ALLOWANCE: '', OPERATOR_BUDGET: '  ', LOG_LEVEL: '' });
    expect(config.credits.defaultAllowance).toBe(50);
    expect(config.credits.operatorBudget).toEqual({ amount: 1_000, period: 'day' });
    expect(config.logLevel).toBeUndefined();
  });

  it('.env.example copied unchanged to .env starts the bot: every variable in it parses', () => {
    const example = parseEnv(readFileSync(new URL('../.env.example', import.meta.url), 'utf8'));
    const config = loadConfig(example);
    expect(config.discord).toBeUndefined();
    expect(config.slack).toBeUndefined();
    expect(config.healthPort).toBe(8_080);
    expect(config.backup).toEqual({ dir: undefined, everyMs: null, keep: 7 });
    expect(config.databasePath).toBe('./data/imagine-bot.db');
  });

  it('reads the health port, `off` or 0 meaning no health server', () => {
    expect(loadConfig({}).healthPort).toBe(8_080);
    expect(loadConfig({ HEALTH_PORT: '9102' }).healthPort).toBe(9_102);
    expect(loadConfig({ HEALTH_PORT: 'off' }).healthPort).toBeNull();
    expect(loadConfig({ HEALTH_PORT: '0' }).healthPort).toBeNull();
    expect(() => loadConfig({ HEALTH_PORT: '70000' })).toThrow(
      new ConfigError(['HEALTH_PORT: must be a port from 1 to 65535, or `off` (or 0) for no health server; got "70000"']),
    );
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', PORT: '8080' })).toThrow(
      new ConfigError(["HEALTH_PORT: 8080 is also PORT, where Slack's requests arrive; give the health server another port"]),
    );
    // Socket Mode listens on no port, so there is nothing to clash with.
    expect(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', PORT: '8080' }).healthPort).toBe(8_080);
  });

  it('takes PostgreSQL from DATABASE_URL, refusing a malformed one without echoing it, and refusing it beside DATABASE_PATH', () => {
    const url = 'postgres://imagine:s3cret@db.internal:5432/imagine';
    const config = loadConfig({ DATABASE_URL: url });
    expect(config.databaseUrl).toBe(url);
    expect(config.jobLeaseMs).toBe(60_000);
    expect(config.referenceDir).toBe(join('data', 'references'));
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    const malformed = 'PostgreSQL URL such as postgres://user:password@host:5432/imagine (postgres:// or postgresql://, with a host)';
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@db/imagine' })).toThrow(new ConfigError([`DATABASE_URL: must be a ${malformed}`]));
    expect(() => loadConfig({ DATABASE_URL: 'postgres:///imagine' })).toThrow(new ConfigError([`DATABASE_URL: must be a ${malformed}`]));
    expect(() => loadConfig({ DATABASE_URL: url, DATABASE_PATH: './data/imagine-bot.db' })).toThrow(
      new ConfigError(['DATABASE_PATH and DATABASE_URL: set one, not both: DATABASE_PATH for SQLite (one bot process), DATABASE_URL for PostgreSQL (one or several)']),
    );
  });

  it('takes the job lease in seconds, from 2 to 600, and the reference directory', () => {
    expect(loadConfig({ JOB_LEASE_SECONDS: '15' }).jobLeaseMs).toBe(15_000);
    expect(() => loadConfig({ JOB_LEASE_SECONDS: '1' })).toThrow(new ConfigError(['JOB_LEASE_SECONDS: must be a whole number of seconds from 2 to 600; got "1"']));
    expect(() => loadConfig({ JOB_LEASE_SECONDS: '1.5m' })).toThrow(new ConfigError(['JOB_LEASE_SECONDS: must be a whole number of seconds from 2 to 600; got "1.5m"']));
    expect(loadConfig({ REFERENCE_DIR: '/shared/references' }).referenceDir).toBe('/shared/references');
  });

  it('backs up daily once BACKUP_DIR is set, keeping 7, unless told otherwise', () => {
    expect(loadConfig({ BACKUP_DIR: '/data/backups' }).backup).toEqual({ dir: '/data/backups', everyMs: 86_400_000, keep: 7 });
    expect(loadConfig({ BACKUP_DIR: '/b', BACKUP_EVERY: '6h', BACKUP_KEEP: '3' }).backup).toEqual({ dir: '/b', everyMs: 21_600_000, keep: 3 });
    expect(loadConfig({ BACKUP_DIR: '/b', BACKUP_EVERY: '30m' }).backup.everyMs).toBe(1_800_000);
    expect(loadConfig({ BACKUP_DIR: '/b', BACKUP_EVERY: 'off' }).backup).toEqual({ dir: '/b', everyMs: null, keep: 7 });
    expect(() => loadConfig({ BACKUP_EVERY: '1d' })).toThrow(new ConfigError(['BACKUP_EVERY: needs BACKUP_DIR, the directory the backups go to']));
    expect(() => loadConfig({ BACKUP_DIR: '/b', BACKUP_EVERY: 'daily', BACKUP_KEEP: '0' })).toThrow(
      new ConfigError([
        'BACKUP_EVERY: must be a duration such as `6h`, `1d` or `30m` (1 minute to 365 days), or `off`; got "daily"',
        'BACKUP_KEEP: Too small: expected number to be >0',
      ]),
    );
  });

  it('offers every catalogue model unless MODELS lists some, kept in catalogue order', () => {
    expect(loadConfig({}).models).toEqual(MODEL_IDS);
    expect(loadConfig({ MODELS: '' }).models).toEqual(MODEL_IDS);
    expect(loadConfig({ MODELS: 'muse_image, gen4_image gemini_2.5_flash,gen4_image' }).models).toEqual(['gen4_image', 'gemini_2.5_flash', 'muse_image']);
  });

  it('MODELS with an unknown id stops the bot, naming it and the models there are', () => {
    expect(() => loadConfig({ MODELS: 'gen4_image dall-e-3 Gen4_Image' })).toThrow(
      new ConfigError([`MODELS: unknown model "dall-e-3", "Gen4_Image"; the models are ${MODEL_IDS.join(', ')}`]),
    );
  });

  it('runs one Discord shard unless DISCORD_SHARDS says more; DISCORD_SHARD_IDS picks some of them, as ids and ranges', () => {
    const discord = (env: Record<string, string>) => loadConfig({ DISCORD_TOKEN: 't', ...env }).discord?.shards;
    expect(discord({})).toEqual({ count: 1, ids: [0] });
    expect(discord({ DISCORD_SHARDS: '4' })).toEqual({ count: 4, ids: [0, 1, 2, 3] });
    expect(discord({ DISCORD_SHARDS: 'auto' })).toEqual({ count: 'auto' });
    expect(discord({ DISCORD_SHARDS: ' Auto ' })).toEqual({ count: 'auto' });
    expect(discord({ DISCORD_SHARDS: '8', DISCORD_SHARD_IDS: '0,1' })).toEqual({ count: 8, ids: [0, 1] });
    expect(discord({ DISCORD_SHARDS: '8', DISCORD_SHARD_IDS: '4-7' })).toEqual({ count: 8, ids: [4, 5, 6, 7] });
    expect(discord({ DISCORD_SHARDS: '8', DISCORD_SHARD_IDS: '6 0-2, 1,6' })).toEqual({ count: 8, ids: [0, 1, 2, 6] });
    expect(discord({ DISCORD_SHARDS: '1', DISCORD_SHARD_IDS: '0' })).toEqual({ count: 1, ids: [0] });
  });

  it('DISCORD_SHARDS that is not a positive whole number or `auto` stops the bot, naming it', () => {
    const message = 'DISCORD_SHARDS: must be the total number of shards, a whole number from 1 to 99999, or `auto` (as many as Discord recommends); got';
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: '0' })).toThrow(new ConfigError([`${message} "0"`]));
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: '-2' })).toThrow(new ConfigError([`${message} "-2"`]));
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: '2.5' })).toThrow(new ConfigError([`${message} "2.5"`]));
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: 'many' })).toThrow(new ConfigError([`${message} "many"`]));
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: '100000' })).toThrow(new ConfigError([`${message} "100000"`]));
  });

  it('a malformed DISCORD_SHARD_IDS stops the bot, with what it should look like', () => {
    const message = 'DISCORD_SHARD_IDS: must be shard ids and ranges such as `0,1` or `0-3` (a range from the lower id to the higher); got';
    for (const ids of ['one', '0;1', '3-1', '-1', '1-', '0..3', '0 - 3', '1.5']) {
      expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: '4', DISCORD_SHARD_IDS: ids })).toThrow(new ConfigError([`${message} "${ids}"`]));
    }
  });

  it('a DISCORD_SHARD_IDS outside DISCORD_SHARDS stops the bot, saying which ids there are', () => {
    const load = (count: string, ids: string) => () => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: count, DISCORD_SHARD_IDS: ids });
    expect(load('4', '5')).toThrow(new ConfigError(['DISCORD_SHARD_IDS names shard 5, but DISCORD_SHARDS is 4: shard ids run from 0 to 3.']));
    expect(load('4', '2-5')).toThrow(new ConfigError(['DISCORD_SHARD_IDS names shards 4 and 5, but DISCORD_SHARDS is 4: shard ids run from 0 to 3.']));
    expect(load('2', '0 2 3 9')).toThrow(new ConfigError(['DISCORD_SHARD_IDS names shards 2, 3 and 9, but DISCORD_SHARDS is 2: shard ids run from 0 to 1.']));
    expect(load('4', '0-99')).toThrow(new ConfigError(['DISCORD_SHARD_IDS names shards 4 to 99, but DISCORD_SHARDS is 4: shard ids run from 0 to 3.']));
    expect(load('1', '1')).toThrow(new ConfigError(['DISCORD_SHARD_IDS names shard 1, but DISCORD_SHARDS is 1: the only shard id is 0.']));
  });

  it('DISCORD_SHARD_IDS needs a DISCORD_SHARDS count, and a number rather than `auto`', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARD_IDS: '0,1' })).toThrow(
      new ConfigError(['DISCORD_SHARD_IDS: needs DISCORD_SHARDS, the total number of shards across every process']),
    );
    expect(() => loadConfig({ DISCORD_TOKEN: 't', DISCORD_SHARDS: 'auto', DISCORD_SHARD_IDS: '0' })).toThrow(
      new ConfigError([
        "DISCORD_SHARD_IDS: needs DISCORD_SHARDS to be a number, not `auto`: every process must split the same count, and Discord's recommendation can change between their starts",
      ]),
    );
  });
});
