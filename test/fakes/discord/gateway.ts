import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The fake gateway (https://discord.com/developers/docs/events/gateway): HELLO, IDENTIFY → READY
 * + GUILD_CREATE per guild, heartbeat ACKs, RESUME with replay of what was missed while the
 * connection was down. Plain JSON text frames (discord.js without zlib-sync).
 */

export interface GatewaySetup {
  readonly token: string;
  /** The bot's user object as READY carries it. */
  readonly botUserJson: () => unknown;
  readonly applicationId: string;
  readonly gatewayUrl: () => string;
  readonly guildCreatePayloads: () => unknown[];
}

interface Dispatch {
  readonly t: string;
  readonly d: unknown;
  readonly s: number;
}

export class FakeGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private socket: WebSocket | null = null;
  private sessionId: string | null = null;
  private seq = 0;
  /** Every dispatch of this session, so a RESUME can replay what the client missed. */
  private sent: Dispatch[] = [];
  private ready = false;
  identifyCount = 0;
  resumeCount = 0;
  /** While set, a RESUME is kept unanswered (the client stays "resuming") until `releaseResumes()`. */
  holdResumes = false;
  private heldResume: { session_id?: string; seq?: number | null } | null = null;

  constructor(server: Server, private readonly setup: GatewaySetup) {
    server.on('upgrade', (request, socket, head) => {
      if (!request.url?.startsWith('/gateway')) return socket.destroy();
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
  }

  /** Whether a session is identified (or resumed) and connected right now. */
  get isConnected(): boolean {
    return this.ready && this.socket !== null;
  }

  /** Send an event to the bot; while disconnected it is kept and replayed on RESUME, as Discord does. */
  dispatch(t: string, d: unknown): void {
    const event: Dispatch = { t, d, s: ++this.seq };
    this.sent.push(event);
    if (this.isConnected) this.send({ op: 0, t: event.t, s: event.s, d: event.d });
  }

  /** Cut the connection without a close frame, like a network failure. */
  drop(): void {
    this.ready = false;
    this.socket?.terminate();
    this.socket = null;
  }

  /** Whether a RESUME arrived while `holdResumes` was set and waits for an answer. */
  get hasHeldResume(): boolean {
    return this.heldResume !== null;
  }

  /** Stop holding, and answer the RESUME that was held, as Discord would have. */
  releaseResumes(): void {
    this.holdResumes = false;
    const held = this.heldResume;
    this.heldResume = null;
    if (held) this.resume(held);
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.socket?.terminate();
    this.socket = ws;
    this.ready = false;
    ws.on('message', (data) => this.onFrame(ws, data.toString()));
    ws.on('close', () => {
      if (this.socket === ws) {
        this.socket = null;
        this.ready = false;
      }
    });
    // A long interval: tests never wait for heartbeats, but the client's are still answered.
    this.send({ op: 10, d: { heartbeat_interval: 41_250 } });
  }

  private onFrame(ws: WebSocket, text: string): void {
    if (ws !== this.socket) return;
    const frame = JSON.parse(text) as { op: number; d: unknown };
    switch (frame.op) {
      case 1:
        return this.send({ op: 11 });
      case 2:
        return this.identify(ws, frame.d as { token?: string });
      case 6:
        if (this.holdResumes) {
          this.heldResume = frame.d as { session_id?: string; seq?: number | null };
          return;
        }
        return this.resume(frame.d as { session_id?: string; seq?: number | null });
      default:
        return;
    }
  }

  private identify(ws: WebSocket, identify: { token?: string }): void {
    if (identify.token !== this.setup.token && identify.token !== `Bot ${this.setup.token}`) {
      ws.close(4004, 'Authentication failed');
      return;
    }
    this.identifyCount += 1;
    this.sessionId = `session-${this.identifyCount}-${Date.now()}`;
    this.seq = 0;
    this.sent = [];
    this.ready = true;
    const guilds = this.setup.guildCreatePayloads();
    this.dispatch('READY', {
      v: 10,
      user: this.setup.botUserJson(),
      guilds: guilds.map((guild) => ({ id: (guild as { id: string }).id, unavailable: true })),
      session_id: this.sessionId,
      resume_gateway_url: this.setup.gatewayUrl(),
      application: { id: this.setup.applicationId, flags: 0 },
      shard: [0, 1],
      private_channels: [],
    });
    // Without a GUILD_CREATE for every guild in READY, discord.js waits 15 s before `ready`.
    for (const guild of guilds) this.dispatch('GUILD_CREATE', guild);
  }

  private resume(resume: { session_id?: string; seq?: number | null }): void {
    if (resume.session_id !== this.sessionId) {
      // Invalid session, not resumable: the client identifies again.
      this.send({ op: 9, d: false });
      return;
    }
    this.resumeCount += 1;
    this.ready = true;
    const from = resume.seq ?? 0;
    for (const event of this.sent.filter((e) => e.s > from)) this.send({ op: 0, t: event.t, s: event.s, d: event.d });
    this.send({ op: 0, t: 'RESUMED', s: ++this.seq, d: {} });
  }

  private send(frame: object): void {
    if (this.socket?.readyState === this.socket?.OPEN) this.socket?.send(JSON.stringify(frame));
  }
}
