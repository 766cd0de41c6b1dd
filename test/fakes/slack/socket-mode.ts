/**
 * Socket Mode on the fake Slack, as @slack/socket-mode 3 speaks it: `apps.connections.open` (app
 * token) hands out a one-time `ws://…/link/?ticket=…` URL; the WebSocket there says `hello`,
 * carries envelopes to the app and records its acks (`{envelope_id, payload}`). The client pings
 * every clientPingTimeout/3 and drops a connection whose pongs stop: each ping is answered here.
 * https://docs.slack.dev/apis/events-api/using-socket-mode
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { waitFor } from '../../support/wait-for.ts';

export type EnvelopeType = 'slash_commands' | 'events_api' | 'interactive';

export interface SocketAck {
  envelopeId: string;
  /** What the app answered with; the library always sends an object, `{}` for a bare ack. */
  payload: Record<string, unknown> | undefined;
  /** Order of arrival among everything the fake Slack records (shared with its requests): not a time. */
  seq: number;
}

export class FakeSocketMode {
  readonly acks: SocketAck[] = [];
  /** Text frames from the app that were not acks (there should be none). */
  readonly strayFrames: string[] = [];
  /** WebSocket connections accepted (each one greeted with `hello`). */
  connectionCount = 0;
  /** Ping frames the client sent, each answered with a pong. */
  clientPingCount = 0;
  /** While set, a new connection is accepted but not greeted with `hello` (the client is not yet connected) until `releaseHello()`. */
  holdHello = false;
  private unGreeted: WebSocket | null = null;
  // Pongs are sent by hand so that every counted ping is one that was answered.
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly tickets = new Set<string>();
  private socket: WebSocket | null = null;

  constructor(
    server: Server,
    private readonly origin: () => string,
    private readonly appId: string,
    private readonly nextSeq: () => number,
  ) {
    server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      // A ticket is good for one connection: a client must call apps.connections.open each time.
      if (url.pathname !== '/link/' || !this.tickets.delete(url.searchParams.get('ticket') ?? '')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws));
    });
  }

  get isConnected(): boolean {
    return this.socket !== null;
  }

  /** Cut the connection without a close frame, like a network failure; the client reconnects. */
  drop(): void {
    this.socket?.terminate();
    this.socket = null;
  }

  /** Whether a connection is waiting for its `hello` because `holdHello` was set. */
  get hasUngreetedConnection(): boolean {
    return this.unGreeted !== null;
  }

  /** Stop holding, and greet the connection that waits. */
  releaseHello(): void {
    this.holdHello = false;
    const ws = this.unGreeted;
    this.unGreeted = null;
    if (ws) this.greet(ws);
  }

  /** The `apps.connections.open` answer. https://docs.slack.dev/reference/methods/apps.connections.open */
  openConnection(): Record<string, unknown> {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return { ok: true, url: `${this.origin().replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${this.appId}` };
  }

  /**
   * Send an envelope to the connected app; returns its envelope_id, a new one each time. An Events
   * API envelope sent again carries `retryAttempt` (Slack's count of earlier tries) and a reason.
   */
  deliver(type: EnvelopeType, payload: Record<string, unknown>, options: { acceptsResponsePayload?: boolean; retryAttempt?: number } = {}): string {
    if (this.socket === null) throw new Error('no Socket Mode connection to deliver to');
    const { acceptsResponsePayload = type !== 'events_api', retryAttempt = 0 } = options;
    const envelopeId = randomUUID();
    const retry = type === 'events_api' ? { retry_attempt: retryAttempt, retry_reason: retryAttempt === 0 ? '' : 'timeout' } : {};
    this.socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: acceptsResponsePayload, ...retry }));
    return envelopeId;
  }

  /** The app's ack of one envelope, once it has come. */
  waitForAck(envelopeId: string, timeoutMs = 15_000): Promise<SocketAck> {
    return waitFor(`the ack of envelope ${envelopeId}`, () => this.acks.find((a) => a.envelopeId === envelopeId), { timeoutMs });
  }

  /** Ping the app, as Slack does, and resolve when its pong arrives. */
  ping(): Promise<void> {
    const socket = this.socket;
    if (socket === null) return Promise.reject(new Error('no Socket Mode connection to ping'));
    return new Promise((resolve) => {
      socket.once('pong', () => resolve());
      socket.ping(Buffer.from('fake-slack'));
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    this.socket?.terminate();
    this.socket = ws;
    this.connectionCount += 1;
    ws.on('ping', (data) => {
      ws.pong(data);
      this.clientPingCount += 1;
    });
    ws.on('message', (data, isBinary) => this.onFrame(isBinary ? '' : data.toString()));
    ws.on('close', () => {
      if (this.socket === ws) this.socket = null;
      if (this.unGreeted === ws) this.unGreeted = null;
    });
    if (this.holdHello) this.unGreeted = ws;
    else this.greet(ws);
  }

  private greet(ws: WebSocket): void {
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: this.appId },
      }),
    );
  }

  private onFrame(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.strayFrames.push(text);
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as { envelope_id?: unknown }).envelope_id !== 'string') {
      this.strayFrames.push(text);
      return;
    }
    const { envelope_id: envelopeId, payload } = frame as { envelope_id: string; payload?: Record<string, unknown> };
    this.acks.push({ envelopeId, payload, seq: this.nextSeq() });
  }
}
