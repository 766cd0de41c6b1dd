import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway } from './gateway.ts';
import { FakeRest } from './rest.ts';
import { guildIdOnShard, snowflake } from './snowflake.ts';
import type { Fault, FakeGuild, FakeInteraction, FakeMessage, FakeUser, RecordedRequest } from './state.ts';

export type { FakeGuild, FakeInteraction, FakeMessage, FakeRole, FakeUser, RecordedRequest } from './state.ts';
export { waitFor } from './wait.ts';
export { guildIdOnShard, shardOf, snowflake } from './snowflake.ts';
export { CLOSE_INVALID_SHARD, CLOSE_SHARDING_REQUIRED } from './gateway.ts';

/**
 * A fake Discord on 127.0.0.1 speaking the real wire protocols: REST under `/api/v10`, the
 * gateway WebSocket, and a CDN for attachments (on its own origin, as cdn.discordapp.com is).
 * The real discord.js client talks to it; tests drive it with interactions and assert on the
 * requests it recorded. Its gateway is sharded as Discord's is (gateway.ts): several connections,
 * from one bot process or several, each get the guilds and interactions of their own shard.
 */

export interface FakeDiscordOptions {
  readonly token?: string;
  readonly guilds?: readonly FakeGuild[];
  /** Members present in every guild (for GUILD_CREATE). */
  readonly users?: readonly FakeUser[];
  /** GET /gateway/bot's `shards`, what `DISCORD_SHARDS=auto` runs. Default 1. */
  readonly recommendedShards?: number;
  /**
   * GET /gateway/bot's `max_concurrency`: shards that may IDENTIFY at once. Default 1, as for most
   * bots; with 1, discord.js waits 5 s between two shards' IDENTIFYs, so sharded tests raise it.
   */
  readonly maxConcurrency?: number;
  /** The most guilds one session may hold before an IDENTIFY is closed with 4011. Default: Discord's 2,500. */
  readonly maxGuildsPerSession?: number;
}

export interface UploadedAttachment {
  readonly id: string;
  readonly filename: string;
  readonly size: number;
  readonly url: string;
  readonly proxy_url: string;
  readonly content_type: string;
}

/** An option value: a string (type 3), an integer (type 4), a boolean (type 5) or a user (type 6). */
export type OptionValue = string | number | boolean | FakeUser;

export interface CommandInvocation {
  readonly name: string;
  readonly user: FakeUser;
  /** null: a direct message. Default: the first guild. */
  readonly guildId?: string | null;
  readonly channelId?: string;
  readonly subcommand?: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Attachment options (type 11), by option name; upload them first with `addAttachment`. */
  readonly attachments?: Readonly<Record<string, UploadedAttachment>>;
  /** The member's computed permissions (decimal string). Default '0'... plus send messages. */
  readonly permissions?: string;
  readonly roles?: readonly string[];
  readonly attachmentSizeLimit?: number;
}

export interface ButtonClick {
  readonly user: FakeUser;
  readonly messageId: string;
  readonly customId: string;
  readonly permissions?: string;
  readonly roles?: readonly string[];
  readonly attachmentSizeLimit?: number;
}

/** A guild (one channel, no roles) whose events Discord sends to `shardId` of `shardCount`. */
export function guildOnShard(shardId: number, shardCount: number, name: string): FakeGuild {
  return { id: guildIdOnShard(shardId, shardCount), name, channelIds: [snowflake()], roles: [] };
}

export const PERMISSIONS = {
  /** View Channel + Send Messages + Attach Files + Embed Links + Use Application Commands. */
  member: String(0x400n | 0x800n | 0x8000n | 0x4000n | 0x80000000n),
  manageGuild: String(0x400n | 0x800n | 0x8000n | 0x4000n | 0x80000000n | 0x20n),
} as const;

export class FakeDiscord {
  readonly token: string;
  readonly applicationId = snowflake();
  readonly botUser = { id: this.applicationId, username: 'imagine-bot' };
  readonly guilds: readonly FakeGuild[];
  readonly users: readonly FakeUser[];
  readonly rest: FakeRest;
  readonly gateway: FakeGateway;
  /** Requests to the CDN: path and whether they carried an Authorization header. */
  readonly cdnRequests: { path: string; authorization: string | undefined }[] = [];
  private readonly cdnFiles = new Map<string, { bytes: Buffer; contentType: string }>();
  private readonly apiServer: Server;
  private readonly cdnServer: Server;

  private constructor(options: FakeDiscordOptions) {
    this.token = options.token ?? 'fake-bot-token';
    this.users = options.users ?? [];
    this.guilds = options.guilds ?? [{ id: snowflake(), name: 'Test Server', channelIds: [snowflake()], roles: [] }];
    const gatewayUrl = () => this.gatewayUrl;
    this.rest = new FakeRest({
      token: this.token,
      botUser: this.botUser,
      applicationId: this.applicationId,
      gatewayUrl,
      recommendedShards: options.recommendedShards ?? 1,
      maxConcurrency: options.maxConcurrency ?? 1,
      cdnUrl: (channelId, attachmentId, filename) => `${this.cdnOrigin}/attachments/${channelId}/${attachmentId}/${filename}`,
    });
    this.apiServer = createServer((req, res) => {
      this.rest.handle(req, res).catch((error: unknown) => {
        res.writeHead(500);
        res.end(String(error));
      });
    });
    this.gateway = new FakeGateway(this.apiServer, {
      token: this.token,
      botUserJson: () => this.rest.botUserJson(),
      applicationId: this.applicationId,
      gatewayUrl,
      guildCreatePayloads: () => this.guilds.map((guild) => this.guildCreate(guild)),
      maxGuildsPerSession: options.maxGuildsPerSession ?? 2_500,
    });
    this.cdnServer = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://cdn').pathname;
      this.cdnRequests.push({ path, authorization: req.headers.authorization });
      const file = this.cdnFiles.get(path);
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('This content is no longer available.');
        return;
      }
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
    });
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(options);
    await Promise.all([listen(fake.apiServer), listen(fake.cdnServer)]);
    return fake;
  }

  private get apiPort(): number {
    return (this.apiServer.address() as AddressInfo).port;
  }

  /** The REST base for discord.js (`rest.api`) and DISCORD_API_URL: no `/v10`. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}/api`;
  }

  /** Where discord.js connects (GET /gateway/bot's `url`), for tests that speak the gateway themselves. */
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.apiPort}/gateway`;
  }

  get cdnOrigin(): string {
    return `http://127.0.0.1:${(this.cdnServer.address() as AddressInfo).port}`;
  }

  get requests(): readonly RecordedRequest[] {
    return this.rest.requests;
  }

  get defaultGuild(): FakeGuild {
    const guild = this.guilds[0];
    if (!guild) throw new Error('the fake has no guild');
    return guild;
  }

  get defaultChannelId(): string {
    const channelId = this.defaultGuild.channelIds[0];
    if (!channelId) throw new Error('the default guild has no channel');
    return channelId;
  }

  /** Put a file on the CDN, as if a user had attached it; returns the attachment object Discord would send. */
  addAttachment(filename: string, bytes: Uint8Array, contentType: string): UploadedAttachment {
    const id = snowflake();
    const path = `/attachments/${this.defaultChannelId}/${id}/${filename}`;
    this.cdnFiles.set(path, { bytes: Buffer.from(bytes), contentType });
    // Discord's CDN URLs are signed and expire; the query imitates that.
    const url = `${this.cdnOrigin}${path}?ex=67a1b2c3&is=67a06143&hm=${id.slice(-12)}&`;
    return { id, filename, size: bytes.length, url, proxy_url: url, content_type: contentType };
  }

  /** Send a slash command (INTERACTION_CREATE type 2) over the gateway. */
  sendCommand(invocation: CommandInvocation): FakeInteraction {
    const options = commandOptions(invocation);
    const users = Object.values(invocation.options ?? {}).filter(isUser);
    const resolved: Record<string, unknown> = {};
    if (invocation.attachments) {
      resolved.attachments = Object.fromEntries(Object.values(invocation.attachments).map((a) => [a.id, a]));
    }
    if (users.length > 0) {
      resolved.users = Object.fromEntries(users.map((u) => [u.id, userJson(u)]));
      resolved.members = Object.fromEntries(users.map((u) => [u.id, { roles: [], joined_at: new Date(0).toISOString(), permissions: PERMISSIONS.member, deaf: false, mute: false, flags: 0 }]));
    }
    return this.sendInteraction(2, invocation, {
      id: snowflake(),
      name: invocation.name,
      type: 1,
      options,
      ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
    });
  }

  /** Send an autocomplete interaction (type 4) with `focused` marking the option being typed. */
  sendAutocomplete(invocation: CommandInvocation & { readonly focused: { name: string; value: string } }): FakeInteraction {
    const options = [...commandOptions(invocation), { name: invocation.focused.name, type: 3, value: invocation.focused.value, focused: true }];
    return this.sendInteraction(4, invocation, { id: snowflake(), name: invocation.name, type: 1, options });
  }

  /** Click a button on a message (INTERACTION_CREATE type 3). */
  clickButton(click: ButtonClick): FakeInteraction {
    const message = this.rest.messages.get(click.messageId);
    if (!message) throw new Error(`no message ${click.messageId}`);
    // A button is clicked where its message is: in that channel's server.
    const guildId = this.guilds.find((guild) => guild.channelIds.includes(message.channelId))?.id;
    return this.sendInteraction(3, { ...click, name: '', channelId: message.channelId, ...(guildId ? { guildId } : {}) }, { custom_id: click.customId, component_type: 2 }, message);
  }

  /**
   * Submit a modal (INTERACTION_CREATE type 5) with text inputs `fields` (custom id → value), as
   * Discord sends it after the user filled in a form the bot showed; `messageId` is the message whose
   * button opened it.
   */
  submitModal(submit: { readonly user: FakeUser; readonly customId: string; readonly fields: Readonly<Record<string, string>>; readonly messageId?: string; readonly permissions?: string }): FakeInteraction {
    const message = submit.messageId === undefined ? undefined : this.rest.messages.get(submit.messageId);
    const guildId = message ? this.guilds.find((guild) => guild.channelIds.includes(message.channelId))?.id : undefined;
    const components = Object.entries(submit.fields).map(([customId, value]) => ({ type: 1, components: [{ type: 4, custom_id: customId, value }] }));
    return this.sendInteraction(
      5,
      { ...submit, name: '', ...(message ? { channelId: message.channelId } : {}), ...(guildId ? { guildId } : {}) },
      { custom_id: submit.customId, components },
      message,
    );
  }

  private sendInteraction(type: number, invocation: Omit<CommandInvocation, 'options'>, data: unknown, message?: FakeMessage): FakeInteraction {
    const guildId = invocation.guildId === undefined ? this.defaultGuild.id : invocation.guildId;
    const channelId = invocation.channelId ?? (guildId === null ? snowflake() : this.defaultChannelId);
    const interaction: FakeInteraction = {
      id: snowflake(),
      token: `aW50ZXJhY3Rpb24${snowflake()}${Math.random().toString(36).slice(2)}`,
      type,
      guildId,
      channelId,
      userId: invocation.user.id,
      componentMessageId: message?.id ?? null,
      callbackType: null,
      originalMessageId: null,
      expired: false,
      choices: null,
    };
    this.rest.interactions.set(interaction.token, interaction);
    const member = {
      user: userJson(invocation.user),
      roles: [...(invocation.roles ?? [])],
      permissions: invocation.permissions ?? PERMISSIONS.member,
      joined_at: new Date(0).toISOString(),
      deaf: false,
      mute: false,
      flags: 0,
      nick: null,
    };
    this.gateway.dispatch('INTERACTION_CREATE', {
      id: interaction.id,
      application_id: this.applicationId,
      type,
      data,
      token: interaction.token,
      version: 1,
      locale: 'en-US',
      app_permissions: PERMISSIONS.member,
      entitlements: [],
      attachment_size_limit: invocation.attachmentSizeLimit ?? 10 * 1024 * 1024,
      ...(guildId === null
        ? {
            user: userJson(invocation.user),
            channel_id: channelId,
            channel: { id: channelId, type: 1, recipients: [userJson(invocation.user)] },
            context: 1,
            authorizing_integration_owners: { '1': invocation.user.id },
          }
        : {
            guild_id: guildId,
            guild: { id: guildId, locale: 'en-US', features: [] },
            guild_locale: 'en-US',
            member,
            channel_id: channelId,
            channel: { id: channelId, type: 0, guild_id: guildId, name: 'general', permissions: member.permissions, flags: 0 },
            context: 0,
            authorizing_integration_owners: { '0': guildId },
          }),
      ...(message ? { message: this.rest.messageJson(message) } : {}),
    });
    return interaction;
  }

  /** The interaction as the fake sees it now (callback type, @original). */
  interaction(token: string): FakeInteraction | undefined {
    return this.rest.interactions.get(token);
  }

  /** The message @original of an interaction points at. */
  original(interaction: FakeInteraction): FakeMessage | undefined {
    const current = this.rest.interactions.get(interaction.token);
    return current?.originalMessageId ? this.rest.messages.get(current.originalMessageId) : undefined;
  }

  /** Every message (not deleted) in a channel, oldest first. */
  channelMessages(channelId = this.defaultChannelId): FakeMessage[] {
    return [...this.rest.messages.values()].filter((m) => m.channelId === channelId && !m.deleted);
  }

  /** Follow-ups and replies created through an interaction's token (not @original). */
  followUps(interaction: FakeInteraction): FakeMessage[] {
    const current = this.rest.interactions.get(interaction.token);
    return [...this.rest.messages.values()].filter((m) => m.interactionToken === interaction.token && m.id !== current?.originalMessageId);
  }

  /** Requests whose path matches, optionally with a method. */
  requestsTo(path: RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter((r) => path.test(r.path) && (method === undefined || r.method === method));
  }

  /** Make every interaction token issued so far expire (webhooks answer 401, code 50027). */
  expireInteractionTokens(): void {
    for (const interaction of this.rest.interactions.values()) interaction.expired = true;
  }

  /** The next `times` requests matching `path` get this failure instead. */
  injectFault(fault: Omit<Fault, 'times'> & { times?: number }): void {
    this.rest.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Cut the gateway connection (one shard's, or every one); the client must resume. */
  dropGateway(shardId?: number): void {
    this.gateway.drop(shardId);
  }

  /** The shards the gateway sent an interaction to: exactly one, the one holding its guild, when routing is right. */
  shardsThatReceived(interaction: FakeInteraction): number[] {
    return this.gateway.shardsThatReceived(interaction.id);
  }

  /** The commands registered for a guild (or 'global'). */
  registeredCommands(scope: string): unknown[] | undefined {
    return this.rest.commands.get(scope);
  }

  async close(): Promise<void> {
    await this.gateway.close();
    this.apiServer.closeAllConnections();
    this.cdnServer.closeAllConnections();
    await Promise.all([closeServer(this.apiServer), closeServer(this.cdnServer)]);
  }

  private guildCreate(guild: FakeGuild): { readonly id: string } & Record<string, unknown> {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      owner_id: this.users[0]?.id ?? this.botUser.id,
      unavailable: false,
      large: false,
      member_count: this.users.length + 1,
      joined_at: new Date(0).toISOString(),
      features: [],
      premium_tier: 0,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      preferred_locale: 'en-US',
      system_channel_flags: 0,
      afk_timeout: 300,
      channels: guild.channelIds.map((id, position) => ({ id, type: 0, name: `channel-${position}`, guild_id: guild.id, position, permission_overwrites: [], flags: 0 })),
      roles: [
        { id: guild.id, name: '@everyone', permissions: PERMISSIONS.member, position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 },
        ...guild.roles.map((role, index) => ({ ...role, position: index + 1, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 })),
      ],
      members: [],
      emojis: [],
      stickers: [],
      voice_states: [],
      presences: [],
      threads: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }
}

function commandOptions(invocation: Pick<CommandInvocation, 'subcommand' | 'options' | 'attachments'>): unknown[] {
  const options: unknown[] = Object.entries(invocation.options ?? {}).map(([name, value]) => {
    if (isUser(value)) return { name, type: 6, value: value.id };
    if (typeof value === 'boolean') return { name, type: 5, value };
    if (typeof value === 'number') return { name, type: 4, value };
    return { name, type: 3, value };
  });
  for (const [name, attachment] of Object.entries(invocation.attachments ?? {})) options.push({ name, type: 11, value: attachment.id });
  return invocation.subcommand ? [{ name: invocation.subcommand, type: 1, options }] : options;
}

function isUser(value: OptionValue): value is FakeUser {
  return typeof value === 'object' && value !== null && 'username' in value;
}

function userJson(user: FakeUser): Record<string, unknown> {
  return { id: user.id, username: user.username, global_name: user.global_name ?? null, discriminator: '0', avatar: null, flags: 0 };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
