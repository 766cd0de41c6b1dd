import { Client, DiscordAPIError, Events, GatewayCloseCodes, GatewayIntentBits, Routes, Status, type ClientOptions } from 'discord.js';
import { systemClock, type Clock } from '../../src/clock.ts';
import { ConfigError, type DiscordShards } from '../../src/config.ts';
import { BotError, type Failure } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { BotCore, ChatSurface } from '../../src/ports.ts';
import { commandDefinitions } from './commands.ts';
import { routeInteraction } from './interactions.ts';
import { DISCORD_MEDIA_ORIGINS } from './references.ts';
import { createDiscordSurface } from './surface.ts';

/**
 * The Discord adapter: logs in with discord.js, registers the slash commands, turns interactions
 * into core calls and gives the core a ChatSurface that edits placeholders and delivers results.
 *
 * Sharding is discord.js's own: the Client runs the shards it is given (`shards`, of `shardCount`)
 * over @discordjs/ws, one gateway connection each, in this process; other processes may run the
 * others. Discord sends a guild's events to the shard that holds it, so an interaction is answered
 * by the process that received it; everything the bot sends goes over REST, which needs no gateway.
 */

/** `discord.token_rejected`: DISCORD_TOKEN got a 401; read by the operator at start (the log says how to fix it). */
const TOKEN_REJECTED: Failure = { code: 'discord.token_rejected', userMessage: 'Discord rejected the bot token.' };

/** `discord.no_application`: logged in, but Discord named no application to register commands for. */
const NO_APPLICATION: Failure = { code: 'discord.no_application', userMessage: 'Discord did not say which application this bot is.' };

export interface DiscordAdapterOptions {
  readonly token: string;
  /** REST base such as `http://127.0.0.1:P/api` (no `/v10`): for proxies and tests. */
  readonly apiUrl?: string | undefined;
  /** Register commands to these guilds (instant), or globally when empty. */
  readonly guildIds: readonly string[];
  /** Members with this role count as moderators, besides those with Manage Server. */
  readonly moderatorRoleId?: string | undefined;
  /** Extra allowed download origins on top of Discord's CDN (tests: the fake CDN). */
  readonly mediaOrigins: readonly string[];
  /** The gateway shards this process runs (DISCORD_SHARDS, DISCORD_SHARD_IDS). Default: one shard, unsharded. */
  readonly shards?: DiscordShards;
  readonly core: BotCore;
  readonly log: Logger;
  readonly clock?: Clock;
}

const UNSHARDED: DiscordShards = { count: 1, ids: [0] };

export interface DiscordAdapter {
  readonly surface: ChatSurface;
  /** Whether the gateway is up right now: every shard this process runs ready, none reconnecting or resuming (the health server's `discord` part). */
  connected(): boolean;
  /** Disconnect and release the client, so the process can exit. */
  stop(): Promise<void>;
}

/** Log in, wait for READY, register the commands, and start answering interactions. */
export async function startDiscordAdapter(options: DiscordAdapterOptions): Promise<DiscordAdapter> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...shardingOptions(options.shards ?? UNSHARDED),
    ...(options.apiUrl ? { rest: { api: options.apiUrl } } : {}),
  });
  const surface = createDiscordSurface({ rest: client.rest, clock, log, moderatorRoleId: options.moderatorRoleId });
  const deps = {
    core: options.core,
    surface,
    log,
    clock,
    moderatorRoleId: options.moderatorRoleId,
    mediaOrigins: [...DISCORD_MEDIA_ORIGINS, ...options.mediaOrigins],
  };

  client.on(Events.InteractionCreate, (interaction) => void routeInteraction(interaction, deps));
  client.on(Events.Error, (error) => log.error('discord: client error', { error }));
  // Discord's refusal of a shard it will not run (the count is wrong for the bot), kept to explain a failed login.
  const refusedShards: { shardId: number; code: number }[] = [];
  client.on(Events.ShardDisconnect, (event, shardId) => {
    if (event.code === GatewayCloseCodes.InvalidShard || event.code === GatewayCloseCodes.ShardingRequired) refusedShards.push({ shardId, code: event.code });
    log.warn('discord: gateway disconnected', { shardId, code: event.code });
  });
  client.on(Events.ShardReady, (shardId) => log.info('discord: shard ready', { shardId }));
  client.on(Events.ShardResume, (shardId, replayed) => log.info('discord: gateway resumed', { shardId, replayed }));
  client.rest.on('rateLimited', (info) => log.debug('discord: rate limited, waiting', { route: info.route, retryAfterMs: info.retryAfter }));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(options.token);
    await ready;
  } catch (error) {
    await client.destroy().catch(() => undefined);
    if (isTokenRejected(error)) {
      log.error('discord: DISCORD_TOKEN was rejected by Discord (401 Unauthorized). Copy the bot token again from the Developer Portal (Bot → Reset Token).', {
        code: TOKEN_REJECTED.code,
      });
      throw new BotError(TOKEN_REJECTED, { cause: error });
    }
    const refused = refusedShards[0];
    if (refused) {
      const problem = shardRefusal(refused, client.options.shardCount ?? 1);
      log.error(`discord: ${problem}`, { code: 'config.invalid', shardId: refused.shardId, closeCode: refused.code });
      throw new ConfigError([problem]);
    }
    throw error;
  }

  const applicationId = client.application?.id;
  if (!applicationId) throw new BotError(NO_APPLICATION);
  // Known only now with `auto`: discord.js has asked Discord for the count and made a shard of each id.
  const shardIds = [...client.ws.shards.keys()].sort((a, b) => a - b);
  // Commands belong to the application, not to a shard: registering is one bulk overwrite per scope
  // that every process would repeat, against one per-application rate limit, each overwrite racing
  // the others. Every sharded bot has a shard 0, so exactly one process registers.
  if (shardIds.includes(0)) await registerCommands(client, applicationId, options, log);
  else log.info('discord: commands are registered by the process holding shard 0', { shards: shardIds });
  log.info('discord: ready', { user: client.user?.tag, guilds: client.guilds.cache.size, shards: shardIds, shardCount: client.options.shardCount });

  return {
    surface,
    // The manager's own status stays Ready after the first READY; each shard's follows its own
    // connection, so one shard resuming makes this process not connected, whatever the others do.
    connected: () => client.isReady() && shardIds.every((id) => client.ws.shards.get(id)?.status === Status.Ready),
    async stop() {
      await client.destroy();
    },
  };
}

/**
 * Bulk-overwrite the commands: per guild when configured (changes show at once), else globally.
 * https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-guild-application-commands
 */
async function registerCommands(client: Client, applicationId: string, options: DiscordAdapterOptions, log: Logger): Promise<void> {
  const body = commandDefinitions({ hasModeratorRole: options.moderatorRoleId !== undefined });
  if (options.guildIds.length === 0) {
    await client.rest.put(Routes.applicationCommands(applicationId), { body });
    log.info('discord: commands registered globally', { count: body.length });
    return;
  }
  for (const guildId of options.guildIds) {
    await client.rest.put(Routes.applicationGuildCommands(applicationId, guildId), { body });
  }
  log.info('discord: commands registered', { count: body.length, guilds: options.guildIds.length });
}

/** discord.js's own sharding options: these shards of that many, or `auto` (@discordjs/ws reads the count from GET /gateway/bot). */
function shardingOptions(shards: DiscordShards): Pick<ClientOptions, 'shards' | 'shardCount'> {
  if (shards.count === 'auto') return { shards: 'auto' };
  return { shards: [...shards.ids], shardCount: shards.count };
}

/**
 * The operator's sentence for a shard Discord closed for good: 4011, the bot is in more servers
 * than its shards may hold (2,500 each); 4010, a shard id or count Discord does not accept.
 * https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
 */
function shardRefusal(refused: { shardId: number; code: number }, shardCount: number): string {
  if (refused.code === GatewayCloseCodes.ShardingRequired) {
    return `DISCORD_SHARDS: Discord refused shard ${refused.shardId} of ${shardCount} (close code 4011, sharding required): the bot is in more servers than ${shardCount} shard${shardCount === 1 ? '' : 's'} may hold, 2,500 each. Set DISCORD_SHARDS to auto, or to a larger count in every process.`;
  }
  return `DISCORD_SHARDS: Discord refused shard ${refused.shardId} of ${shardCount} as invalid (close code 4010). Give every process the same DISCORD_SHARDS, and DISCORD_SHARD_IDS below it.`;
}

function isTokenRejected(error: unknown): boolean {
  if (error instanceof DiscordAPIError) return error.status === 401;
  // discord.js reports a 401 on login as its own TokenInvalid error.
  return error instanceof Error && 'code' in error && (error as { code?: unknown }).code === 'TokenInvalid';
}
