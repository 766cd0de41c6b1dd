import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { shardOf } from './snowflake.ts';

/**
 * The fake gateway (https://discord.com/developers/docs/events/gateway): HELLO, IDENTIFY → READY
 * + GUILD_CREATE per guild, heartbeat ACKs, RESUME with replay of what was missed while the
 * connection was down. Plain JSON text frames (discord.js without zlib-sync).
 *
 * Sharded as Discord is (https://discord.com/developers/docs/events/gateway#sharding): each
 * IDENTIFY names its `shard: [id, count]` (none means `[0, 1]`) and starts a session of that shard;
 * a guild's events go only to the session whose shard holds it, `(guild_id >> 22) % count`, and
 * events without a guild (direct messages) to shard 0. Several connections, from one process or
 * many, each hold one session.
 */

/** Discord's close codes for a shard it will not run: https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes */
export const CLOSE_AUTHENTICATION_FAILED = 4004;
export const CLOSE_INVALID_SHARD = 4010;
export const CLOSE_SHARDING_REQUIRED = 4011;

export interface GatewaySetup {
  readonly token: string;
  /** The bot's user object as READY carries it. */
  readonly botUserJson: () => unknown;
  readonly applicationId: string;
  readonly gatewayUrl: () => string;
  /** Every guild's GUILD_CREATE; each session is sent those of its own shard. */
  readonly guildCreatePayloads: () => readonly { readonly id: string }[];
  /** The most guilds one session may hold; more closes the IDENTIFY with 4011 (Discord's limit is 2,500). */
  readonly maxGuildsPerSession: number;
}

/** A shard as IDENTIFY names it: `[shard_id, num_shards]`. */
export type ShardTuple = readonly [id: number, count: number];

/** One event as it went out on one connection: the test's record of which shard received what. */
export interface GatewayDelivery {
  readonly t: string;
  /** The event's own `id` (an interaction's), when it has one. */
  readonly eventId: string | null;
  readonly guildId: string | null;
  readonly shard: ShardTuple;
  /** Which WebSocket connection it went out on (numbered from 1 in the order they were opened). */
  readonly connectionId: number;
  /** Sent again on a RESUME, after the connection that should have had it dropped. */
  readonly replayed: boolean;
}

interface Dispatch {
  readonly t: string;
  readonly d: unknown;
  readonly s: number;
}

interface Session {
  readonly id: string;
  readonly shard: ShardTuple;
  seq: number;
  /** Every dispatch of this session, so a RESUME can replay what the client missed. */
  readonly sent: Dispatch[];
  connection: Connection | null;
}

interface Connection {
  readonly id: number;
  readonly ws: WebSocket;
  /** Set once the connection identified or resumed. */
  session: Session | null;
}

interface ResumeFrame {
  readonly session_id?: string;
  readonly seq?: number | null;
}

export class FakeGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly connections = new Set<Connection>();
  /** The live sessions, one per shard tuple: a new IDENTIFY of the same shard replaces the old one. */
  private readonly sessions = new Map<string, Session>();
  private connectionCount = 0;
  identifyCount = 0;
  resumeCount = 0;
  /** Every IDENTIFY that started a session: the shard it named and the connection it came on. */
  readonly identifies: { readonly shard: ShardTuple; readonly connectionId: number }[] = [];
  /** Every dispatch that went out, per connection. */
  readonly deliveries: GatewayDelivery[] = [];
  /** Dispatches no session's shard held (nobody identified for it): Discord would send them nowhere. */
  readonly undelivered: { readonly t: string; readonly guildId: string | null }[] = [];
  /** While set, a RESUME is kept unanswered (the client stays "resuming") until `releaseResumes()`. */
  holdResumes = false;
  private heldResumes: { connection: Connection; resume: ResumeFrame }[] = [];

  constructor(server: Server, private readonly setup: GatewaySetup) {
    server.on('upgrade', (request, socket, head) => {
      if (!request.url?.startsWith('/gateway')) return socket.destroy();
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
  }

  /** The shard ids with a session identified (or resumed) and connected right now, ascending. */
  get connectedShards(): number[] {
    return [...this.sessions.values()]
      .filter((session) => session.connection !== null)
      .map((session) => session.shard[0])
      .sort((a, b) => a - b);
  }

  /**
   * Send an event to the bot: to the session whose shard holds its `guild_id`, or shard 0's when it
   * has none. While that session is disconnected it is kept and replayed on RESUME, as Discord does.
   */
  dispatch(t: string, d: unknown): void {
    const guildId = guildIdOf(d);
    const targets = [...this.sessions.values()].filter((session) => {
      const [id, count] = session.shard;
      return guildId === null ? id === 0 : shardOf(guildId, count) === id;
    });
    if (targets.length === 0) this.undelivered.push({ t, guildId });
    for (const session of targets) this.dispatchTo(session, t, d);
  }

  /** The shards that identified, in shard order (a client's shards identify concurrently, in any order). */
  get identifiedShards(): ShardTuple[] {
    return this.identifies.map((identify) => identify.shard).toSorted((a, b) => a[0] - b[0]);
  }

  /** The connection a shard identified on last. */
  connectionOf(shardId: number): number | undefined {
    return this.identifies.findLast((identify) => identify.shard[0] === shardId)?.connectionId;
  }

  /** The shards an event (by its `id`, e.g. an interaction's) was sent to, in order. */
  shardsThatReceived(eventId: string): number[] {
    return this.deliveries.filter((delivery) => delivery.eventId === eventId).map((delivery) => delivery.shard[0]);
  }

  /** Cut connections without a close frame, like a network failure: one shard's, or every one. */
  drop(shardId?: number): void {
    for (const connection of [...this.connections]) {
      if (shardId === undefined || connection.session?.shard[0] === shardId) this.disconnect(connection);
    }
  }

  /** Whether a RESUME arrived while `holdResumes` was set and waits for an answer. */
  get hasHeldResume(): boolean {
    return this.heldResumes.length > 0;
  }

  /** Stop holding, and answer the RESUMEs that were held, as Discord would have. */
  releaseResumes(): void {
    this.holdResumes = false;
    const held = this.heldResumes;
    this.heldResumes = [];
    for (const { connection, resume } of held) if (this.connections.has(connection)) this.resume(connection, resume);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const connection: Connection = { id: ++this.connectionCount, ws, session: null };
    this.connections.add(connection);
    ws.on('message', (data) => this.onFrame(connection, data.toString()));
    ws.on('close', () => this.forget(connection));
    // A long interval: tests never wait for heartbeats, but the client's are still answered.
    this.send(connection, { op: 10, d: { heartbeat_interval: 41_250 } });
  }

  private disconnect(connection: Connection): void {
    connection.ws.terminate();
    this.forget(connection);
  }

  private forget(connection: Connection): void {
    this.connections.delete(connection);
    if (connection.session?.connection === connection) connection.session.connection = null;
    connection.session = null;
  }

  private onFrame(connection: Connection, text: string): void {
    if (!this.connections.has(connection)) return;
    const frame = JSON.parse(text) as { op: number; d: unknown };
    switch (frame.op) {
      case 1:
        return this.send(connection, { op: 11 });
      case 2:
        return this.identify(connection, frame.d as { token?: string; shard?: unknown });
      case 6:
        if (this.holdResumes) {
          this.heldResumes.push({ connection, resume: frame.d as ResumeFrame });
          return;
        }
        return this.resume(connection, frame.d as ResumeFrame);
      default:
        return;
    }
  }

  private identify(connection: Connection, identify: { token?: string; shard?: unknown }): void {
    if (identify.token !== this.setup.token && identify.token !== `Bot ${this.setup.token}`) {
      return this.refuse(connection, CLOSE_AUTHENTICATION_FAILED, 'Authentication failed');
    }
    const shard = identify.shard === undefined ? ([0, 1] as const) : validShard(identify.shard);
    if (shard === null) return this.refuse(connection, CLOSE_INVALID_SHARD, 'Invalid shard');
    const [shardId, shardCount] = shard;
    const guilds = this.setup.guildCreatePayloads().filter((guild) => shardOf(guild.id, shardCount) === shardId);
    if (guilds.length > this.setup.maxGuildsPerSession) return this.refuse(connection, CLOSE_SHARDING_REQUIRED, 'Sharding required');

    this.identifyCount += 1;
    this.identifies.push({ shard, connectionId: connection.id });
    const key = shard.join('/');
    const previous = this.sessions.get(key);
    if (previous?.connection && previous.connection !== connection) this.disconnect(previous.connection);
    const session: Session = { id: `session-${this.identifyCount}-${key}`, shard, seq: 0, sent: [], connection };
    this.sessions.set(key, session);
    connection.session = session;
    this.dispatchTo(session, 'READY', {
      v: 10,
      user: this.setup.botUserJson(),
      guilds: guilds.map((guild) => ({ id: guild.id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.setup.gatewayUrl(),
      application: { id: this.setup.applicationId, flags: 0 },
      shard: [shardId, shardCount],
      private_channels: [],
    });
    // Without a GUILD_CREATE for every guild in READY, discord.js waits 15 s before `ready`.
    for (const guild of guilds) this.dispatchTo(session, 'GUILD_CREATE', guild);
  }

  private resume(connection: Connection, resume: ResumeFrame): void {
    const session = [...this.sessions.values()].find((s) => s.id === resume.session_id);
    if (!session) {
      // Invalid session, not resumable: the client identifies again.
      this.send(connection, { op: 9, d: false });
      return;
    }
    if (session.connection && session.connection !== connection) this.disconnect(session.connection);
    this.resumeCount += 1;
    session.connection = connection;
    connection.session = session;
    const from = resume.seq ?? 0;
    for (const event of session.sent.filter((e) => e.s > from)) this.deliver(connection, session, event, true);
    this.send(connection, { op: 0, t: 'RESUMED', s: ++session.seq, d: {} });
  }

  private dispatchTo(session: Session, t: string, d: unknown): void {
    const event: Dispatch = { t, d, s: ++session.seq };
    session.sent.push(event);
    if (session.connection) this.deliver(session.connection, session, event, false);
  }

  private deliver(connection: Connection, session: Session, event: Dispatch, replayed: boolean): void {
    // A GUILD_CREATE is the guild itself: its `id` is the guild's.
    const guildId = event.t === 'GUILD_CREATE' ? idOf(event.d) : guildIdOf(event.d);
    this.deliveries.push({ t: event.t, eventId: idOf(event.d), guildId, shard: session.shard, connectionId: connection.id, replayed });
    this.send(connection, { op: 0, t: event.t, s: event.s, d: event.d });
  }

  private refuse(connection: Connection, code: number, reason: string): void {
    connection.ws.close(code, reason);
    this.forget(connection);
  }

  private send(connection: Connection, frame: object): void {
    if (connection.ws.readyState === connection.ws.OPEN) connection.ws.send(JSON.stringify(frame));
  }
}

/** `[shard_id, num_shards]` as Discord accepts it: whole numbers, at least one shard, the id below the count. */
function validShard(shard: unknown): ShardTuple | null {
  if (!Array.isArray(shard) || shard.length !== 2) return null;
  const [id, count] = shard as unknown[];
  if (!Number.isInteger(id) || !Number.isInteger(count)) return null;
  const [shardId, shardCount] = [id as number, count as number];
  return shardCount >= 1 && shardId >= 0 && shardId < shardCount ? [shardId, shardCount] : null;
}

function guildIdOf(d: unknown): string | null {
  if (typeof d !== 'object' || d === null) return null;
  const guildId = (d as { guild_id?: unknown }).guild_id;
  return typeof guildId === 'string' ? guildId : null;
}

function idOf(d: unknown): string | null {
  if (typeof d !== 'object' || d === null) return null;
  const id = (d as { id?: unknown }).id;
  return typeof id === 'string' ? id : null;
}
