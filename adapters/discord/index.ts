import { Client, DiscordAPIError, Events, GatewayIntentBits, Routes, Status } from 'discord.js';
import { systemClock, type Clock } from '../../src/clock.ts';
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
  readonly core: BotCore;
  readonly log: Logger;
  readonly clock?: Clock;
}

export interface DiscordAdapter {
  readonly surface: ChatSurface;
  /** Whether the gateway session is up right now: every shard ready, not reconnecting or resuming (the health server's `discord` part). */
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
  client.on(Events.ShardDisconnect, (event, shardId) => log.warn('discord: gateway disconnected', { shardId, code: event.code }));
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
    throw error;
  }

  const applicationId = client.application?.id;
  if (!applicationId) throw new BotError(NO_APPLICATION);
  await registerCommands(client, applicationId, options, log);
  log.info('discord: ready', { user: client.user?.tag, guilds: client.guilds.cache.size });

  return {
    surface,
    // The manager's own status stays Ready after the first READY; each shard's follows the socket.
    connected: () => client.isReady() && client.ws.shards.size > 0 && client.ws.shards.every((shard) => shard.status === Status.Ready),
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

function isTokenRejected(error: unknown): boolean {
  if (error instanceof DiscordAPIError) return error.status === 401;
  // discord.js reports a 401 on login as its own TokenInvalid error.
  return error instanceof Error && 'code' in error && (error as { code?: unknown }).code === 'TokenInvalid';
}
