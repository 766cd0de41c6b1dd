import type { IncomingMessage, ServerResponse } from 'node:http';
import { boundaryOf, parseMultipart, type FormPart } from './multipart.ts';
import { snowflake } from './snowflake.ts';
import type { Fault, FakeAttachmentFile, FakeInteraction, FakeMessage, RecordedRequest } from './state.ts';

/**
 * The fake REST API under `/api/v10`: the routes the bot uses, answering as Discord documents
 * (https://discord.com/developers/docs/reference), recording every request for assertions.
 */

export interface RestSetup {
  readonly token: string;
  readonly botUser: { id: string; username: string };
  readonly applicationId: string;
  readonly gatewayUrl: () => string;
  /** GET /gateway/bot's `shards` (Discord's recommended count) and `session_start_limit.max_concurrency`. */
  readonly recommendedShards: number;
  readonly maxConcurrency: number;
  readonly cdnUrl: (channelId: string, attachmentId: string, filename: string) => string;
}

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const LOADING = 128;

export class FakeRest {
  readonly requests: RecordedRequest[] = [];
  readonly messages = new Map<string, FakeMessage>();
  readonly interactions = new Map<string, FakeInteraction>();
  readonly commands = new Map<string, unknown[]>();
  readonly faults: Fault[] = [];
  private seq = 0;

  constructor(private readonly setup: RestSetup) {}

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const body = await readBody(request);
    const contentType = request.headers['content-type'] ?? null;
    const boundary = boundaryOf(contentType ?? undefined);
    const parts: FormPart[] = boundary ? parseMultipart(body, boundary) : [];
    const payloadPart = parts.find((part) => part.name === 'payload_json');
    let json: unknown = null;
    if (payloadPart) json = JSON.parse(payloadPart.bytes.toString('utf8'));
    else if (body.length > 0 && contentType?.includes('application/json')) json = JSON.parse(body.toString('utf8'));
    const path = decodeURIComponent(url.pathname.replace(/^\/api\/v10/, ''));
    const recorded: RecordedRequest = {
      seq: ++this.seq,
      method: request.method ?? 'GET',
      path,
      query: Object.fromEntries(url.searchParams),
      headers: { ...request.headers },
      json,
      contentType,
      parts,
      files: parts.filter((part) => /^files\[\d+\]$/.test(part.name)),
      status: 0,
    };
    this.requests.push(recorded);
    const answer = this.answer(recorded);
    recorded.status = answer.status;
    response.writeHead(answer.status, { ...(answer.body === undefined ? {} : { 'content-type': 'application/json' }), ...answer.headers });
    response.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  }

  private answer(req: RecordedRequest): Answer {
    if (!req.path.startsWith('/')) return notFound();
    const fault = this.faults.find((f) => f.times > 0 && (f.method === undefined || f.method === req.method) && f.path.test(req.path));
    if (fault) {
      fault.times -= 1;
      if (fault.status === 429) {
        const retryAfter = fault.retryAfterSeconds ?? 0.05;
        return {
          status: 429,
          headers: { 'retry-after': String(retryAfter), 'x-ratelimit-scope': 'user' },
          body: { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
        };
      }
      return { status: fault.status, body: { message: 'Internal Server Error', code: 0 } };
    }
    const authorization = req.headers.authorization;
    const usesBotToken = typeof authorization === 'string' && authorization.startsWith('Bot ');
    if (usesBotToken && authorization !== `Bot ${this.setup.token}`) return unauthorized();
    const route = (pattern: RegExp): RegExpExecArray | null => pattern.exec(req.path);
    const m = req.method;
    let match: RegExpExecArray | null;
    if (m === 'GET' && req.path === '/gateway/bot') {
      if (!usesBotToken) return unauthorized();
      return {
        status: 200,
        body: {
          url: this.setup.gatewayUrl(),
          shards: this.setup.recommendedShards,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: this.setup.maxConcurrency },
        },
      };
    }
    if (m === 'GET' && req.path === '/users/@me') return { status: 200, body: this.botUserJson() };
    if (m === 'GET' && req.path === '/applications/@me') return { status: 200, body: { id: this.setup.applicationId, name: 'imagine-bot', flags: 0, bot_public: true } };
    if ((match = route(/^\/applications\/(\d+)\/(?:guilds\/(\d+)\/)?commands$/)) && m === 'PUT') {
      if (!usesBotToken) return unauthorized();
      const key = match[2] ?? 'global';
      const stored = (req.json as Json[]).map((command) => ({ ...command, id: snowflake(), application_id: this.setup.applicationId, version: snowflake() }));
      this.commands.set(key, stored);
      return { status: 200, body: stored };
    }
    if ((match = route(/^\/interactions\/(\d+)\/([^/]+)\/callback$/)) && m === 'POST') return this.callback(match[1] ?? '', match[2] ?? '', req);
    if ((match = route(/^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/))) return this.webhookMessage(match[2] ?? '', match[3] ?? '', req);
    if ((match = route(/^\/webhooks\/(\d+)\/([^/]+)$/)) && m === 'POST') return this.followUp(match[2] ?? '', req);
    if ((match = route(/^\/channels\/(\d+)\/messages$/)) && m === 'POST') {
      if (!usesBotToken) return unauthorized();
      return this.createChannelMessage(match[1] ?? '', req);
    }
    if ((match = route(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      if (!usesBotToken) return unauthorized();
      const message = this.messages.get(match[2] ?? '');
      if (!message || message.deleted || message.channelId !== match[1]) return unknownMessage();
      return this.onMessage(message, req);
    }
    return notFound();
  }

  private callback(interactionId: string, token: string, req: RecordedRequest): Answer {
    const interaction = this.interactions.get(token);
    if (!interaction || interaction.id !== interactionId || interaction.expired) return { status: 404, body: { message: 'Unknown interaction', code: 10062 } };
    if (interaction.callbackType !== null) return { status: 400, body: { message: 'Interaction has already been acknowledged.', code: 40060 } };
    const body = (req.json ?? {}) as { type?: number; data?: Json };
    const type = body.type ?? 0;
    interaction.callbackType = type;
    const data = body.data ?? {};
    switch (type) {
      case 4:
      case 5: {
        const flags = Number(data.flags ?? 0) | (type === 5 ? LOADING : 0);
        const message = this.createMessage(interaction.channelId, interaction.token, { ...data, flags }, req.files, null);
        interaction.originalMessageId = message.id;
        break;
      }
      case 6:
      case 7: {
        interaction.originalMessageId = interaction.componentMessageId;
        const message = interaction.componentMessageId ? this.messages.get(interaction.componentMessageId) : undefined;
        if (type === 7 && message) this.applyEdit(message, data, req.files);
        break;
      }
      case 8:
        interaction.choices = (data.choices as unknown[] | undefined) ?? [];
        break;
      case 9:
        // MODAL: only as the first answer to a command or a component (not to a modal submit).
        if (interaction.type === 5) return { status: 400, body: { message: 'Invalid Form Body', code: 50035 } };
        interaction.modal = data;
        break;
      default:
        return { status: 400, body: { message: 'Invalid Form Body', code: 50035 } };
    }
    if (req.query.with_response === 'true') {
      const message = interaction.originalMessageId ? this.messages.get(interaction.originalMessageId) : undefined;
      return { status: 200, body: { interaction: { id: interaction.id, type: interaction.type }, resource: { type, ...(message ? { message: this.messageJson(message) } : {}) } } };
    }
    return { status: 204 };
  }

  /** The interaction behind a webhook token, or Discord's answer for an unknown or expired one. */
  private webhookInteraction(token: string): FakeInteraction | Answer {
    const interaction = this.interactions.get(token);
    if (!interaction) return unknownWebhook();
    if (interaction.expired) return { status: 401, body: { message: 'Invalid Webhook Token', code: 50027 } };
    return interaction;
  }

  private webhookMessage(token: string, messageRef: string, req: RecordedRequest): Answer {
    const interaction = this.webhookInteraction(token);
    if ('status' in interaction) return interaction;
    const messageId = messageRef === '@original' ? interaction.originalMessageId : messageRef;
    const message = messageId ? this.messages.get(messageId) : undefined;
    if (!message || message.deleted) return unknownMessage();
    return this.onMessage(message, req);
  }

  private followUp(token: string, req: RecordedRequest): Answer {
    const interaction = this.webhookInteraction(token);
    if ('status' in interaction) return interaction;
    if (interaction.callbackType === null) return unknownWebhook();
    const message = this.createMessage(interaction.channelId, token, (req.json ?? {}) as Json, req.files, null);
    return req.query.wait === 'true' ? { status: 200, body: this.messageJson(message) } : { status: 204 };
  }

  private createChannelMessage(channelId: string, req: RecordedRequest): Answer {
    const body = (req.json ?? {}) as Json;
    const nonce = typeof body.nonce === 'string' || typeof body.nonce === 'number' ? String(body.nonce) : null;
    if (nonce !== null && body.enforce_nonce === true) {
      // Discord returns the earlier message for a repeated nonce instead of creating a second one.
      const earlier = [...this.messages.values()].find((message) => message.channelId === channelId && message.nonce === nonce);
      if (earlier) return { status: 200, body: this.messageJson(earlier) };
    }
    const message = this.createMessage(channelId, null, body, req.files, nonce);
    return { status: 200, body: this.messageJson(message) };
  }

  private onMessage(message: FakeMessage, req: RecordedRequest): Answer {
    switch (req.method) {
      case 'GET':
        return { status: 200, body: this.messageJson(message) };
      case 'PATCH':
        this.applyEdit(message, (req.json ?? {}) as Json, req.files);
        return { status: 200, body: this.messageJson(message) };
      case 'DELETE':
        message.deleted = true;
        return { status: 204 };
      default:
        return notFound();
    }
  }

  private createMessage(channelId: string, interactionToken: string | null, body: Json, files: readonly FormPart[], nonce: string | null): FakeMessage {
    const message: FakeMessage = {
      id: snowflake(),
      channelId,
      content: typeof body.content === 'string' ? body.content : '',
      flags: Number(body.flags ?? 0),
      components: Array.isArray(body.components) ? body.components : [],
      attachments: attachmentsOf(files),
      interactionToken,
      nonce,
      edits: 0,
      deleted: false,
    };
    this.messages.set(message.id, message);
    return message;
  }

  private applyEdit(message: FakeMessage, body: Json, files: readonly FormPart[]): void {
    message.edits += 1;
    message.flags &= ~LOADING;
    if (typeof body.content === 'string') message.content = body.content;
    if (Array.isArray(body.components)) message.components = body.components;
    if (files.length > 0) {
      message.attachments = attachmentsOf(files);
    } else if (Array.isArray(body.attachments)) {
      const keep = new Set(body.attachments.map((a) => String((a as { id?: unknown }).id)));
      message.attachments = message.attachments.filter((a) => keep.has(a.id));
    }
  }

  botUserJson(): Json {
    return { ...this.setup.botUser, discriminator: '0', avatar: null, bot: true, global_name: null, flags: 0 };
  }

  /** The message as Discord's API returns it. */
  messageJson(message: FakeMessage): Json {
    return {
      id: message.id,
      channel_id: message.channelId,
      type: message.interactionToken ? 20 : 0,
      content: message.content,
      author: this.botUserJson(),
      attachments: message.attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: a.bytes.length,
        url: this.setup.cdnUrl(message.channelId, a.id, a.filename),
        proxy_url: this.setup.cdnUrl(message.channelId, a.id, a.filename),
        content_type: a.contentType ?? undefined,
      })),
      embeds: [],
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: false,
      timestamp: new Date().toISOString(),
      edited_timestamp: message.edits > 0 ? new Date().toISOString() : null,
      flags: message.flags,
      components: message.components,
      ...(message.interactionToken ? { webhook_id: this.setup.applicationId, application_id: this.setup.applicationId } : {}),
      ...(message.nonce ? { nonce: message.nonce } : {}),
    };
  }
}

function attachmentsOf(files: readonly FormPart[]): FakeAttachmentFile[] {
  return files.map((file) => ({ id: snowflake(), filename: file.filename ?? 'file', contentType: file.contentType, bytes: file.bytes }));
}

function unauthorized(): Answer {
  return { status: 401, body: { message: '401: Unauthorized', code: 0 } };
}

function unknownWebhook(): Answer {
  return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
}

function notFound(): Answer {
  return { status: 404, body: { message: '404: Not Found', code: 0 } };
}

function unknownMessage(): Answer {
  return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
