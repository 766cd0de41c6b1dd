/**
 * A fake Slack on 127.0.0.1: the Web API under `/api/<method>` (form, JSON or multipart bodies;
 * `ok:false` errors as Slack sends them), the upload URLs of files.uploadV2, a file host serving
 * `url_private` (an HTML login page with 200 unless the bot token comes along), `response_url`
 * receivers, Socket Mode (`apps.connections.open` with the app token, then a WebSocket: see
 * socket-mode.ts), and a second "elsewhere" host that records anyone who calls it. Every request is
 * recorded; rate limits (429 + Retry-After) and 5xx can be injected per method.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../support/wait-for.ts';
import { parseArgs, readBody, sendJson } from './http.ts';
import { FakeSocketMode } from './socket-mode.ts';
import { specProblems } from './spec.ts';

export interface RecordedRequest {
  /** Web API method, 'upload', 'file', 'respond' or 'elsewhere'. */
  kind: string;
  path: string;
  /** Order of arrival among everything this fake records (requests and Socket Mode acks): not a time. */
  seq: number;
  authorization: string | undefined;
  args: Record<string, string>;
  status: number;
  /** Slack's `error` when the answer was ok:false. */
  error?: string;
}

export interface FakeMessage {
  channel: string;
  ts: string;
  threadTs: string | undefined;
  text: string;
  /** Every text the message has had, first one included. */
  history: string[];
  isDeleted: boolean;
  fileIds: string[];
  /** The message's Block Kit blocks as last set (chat.postMessage / chat.update), if any. */
  blocks?: unknown[];
}

export interface FakeUpload {
  id: string;
  filename: string;
  declaredLength: number;
  bytes: Buffer | undefined;
  uploadContentType: string | undefined;
  title: string | undefined;
  shares: { channel: string; threadTs: string | undefined; ts: string; initialComment: string | undefined }[];
}

export type Failure = { kind: 'ratelimited'; retryAfterSec: number } | { kind: 'status'; status: number } | { kind: 'error'; error: string };

export interface FakeUser {
  id: string;
  name: string;
  isAdmin?: boolean;
  isOwner?: boolean;
}

const LOGIN_PAGE = '<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>';

export class FakeSlack {
  readonly requests: RecordedRequest[] = [];
  readonly messages: FakeMessage[] = [];
  readonly ephemerals: { channel: string; user: string; text: string; threadTs: string | undefined }[] = [];
  readonly responses: { id: string; body: Record<string, unknown> }[] = [];
  readonly uploads = new Map<string, FakeUpload>();
  readonly users = new Map<string, FakeUser>();
  /** Modals the bot opened (views.open), in order. */
  readonly views: { triggerId: string; view: Record<string, unknown> }[] = [];
  readonly teamId = 'T0FAKE01';
  readonly botUserId = 'UBOT0001';
  readonly appId = 'AFAKE001';
  private readonly failures = new Map<string, Failure[]>();
  private readonly userFiles = new Map<string, { bytes: Buffer; mimetype: string }>();
  private tsCounter = 0;
  private idCounter = 0;
  private server!: Server;
  private elsewhereServer!: Server;
  /** The Socket Mode WebSocket, on this fake's own origin. */
  socketMode!: FakeSocketMode;
  origin = '';
  elsewhereOrigin = '';

  constructor(
    readonly botToken: string,
    /** The app-level token (`xapp-…`) that apps.connections.open takes, and nothing else does. */
    readonly appToken: string,
  ) {}

  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  async start(): Promise<this> {
    this.server = await listen((req, res) => void this.route(req, res).catch((error: unknown) => sendJson(res, 500, { ok: false, error: String(error) })));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.socketMode = new FakeSocketMode(this.server, () => this.origin, this.appId, () => this.nextSeq());
    this.elsewhereServer = await listen((req, res) => {
      this.record({ kind: 'elsewhere', path: req.url ?? '', authorization: req.headers.authorization, args: {}, status: 200 });
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    });
    this.elsewhereOrigin = `http://127.0.0.1:${(this.elsewhereServer.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    await this.socketMode.close();
    await Promise.all([closeServer(this.server), closeServer(this.elsewhereServer)]);
  }

  /** The next `times` calls of `kind` (a Web API method, or 'upload') fail this way. */
  inject(kind: string, failure: Failure, times = 1): void {
    this.failures.set(kind, [...(this.failures.get(kind) ?? []), ...Array.from({ length: times }, () => failure)]);
  }

  addUser(user: FakeUser): void {
    this.users.set(user.id, user);
  }

  /** A file a user attached: its Slack file object, with url_private on this fake's file host. */
  addUserFile(name: string, bytes: Uint8Array, mimetype = 'image/png'): { id: string; name: string; mimetype: string; size: number; url_private: string } {
    const id = this.nextId('F');
    const path = `/files-pri/${this.teamId}-${id}/${encodeURIComponent(name)}`;
    this.userFiles.set(path, { bytes: Buffer.from(bytes), mimetype });
    return { id, name, mimetype, size: bytes.length, url_private: `${this.origin}${path}` };
  }

  /** A slash command's fields, as Slack sends them (a form over HTTP, the payload of a Socket Mode envelope). */
  commandFields(command: string, text: string, user: string, channel: string): Record<string, string> & { response_url: string } {
    return {
      token: 'legacy',
      team_id: this.teamId,
      team_domain: 'fake',
      channel_id: channel,
      channel_name: 'general',
      user_id: user,
      user_name: user.toLowerCase(),
      command,
      text,
      api_app_id: this.appId,
      is_enterprise_install: 'false',
      response_url: this.responseUrl(),
      // Slack issues a new one for every invocation; the bot keys a command's deliveries on it.
      trigger_id: this.triggerId(),
    };
  }

  /** A fresh trigger_id, shaped like Slack's (`<digits>.<digits>.<hex>`). */
  triggerId(): string {
    const n = this.nextId('');
    return `${n}.${n}.${n.padStart(32, '0')}`;
  }

  /** A response_url the bot can post to. */
  responseUrl(): string {
    return `${this.origin}/respond/${this.nextId('R')}`;
  }

  calls(kind: string): RecordedRequest[] {
    return this.requests.filter((r) => r.kind === kind);
  }

  message(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /** Every shared upload (a file message in a channel). */
  sharedFiles(): FakeUpload[] {
    return [...this.uploads.values()].filter((u) => u.shares.length > 0);
  }

  /** Every Web API call that does not match Slack's spec (method unknown, argument missing or unexpected). */
  specProblems(): string[] {
    return this.requests
      .filter((r) => r.path.startsWith('/api/'))
      .flatMap((r) => specProblems(r.kind, r.args, r.authorization?.startsWith('Bearer ') === true));
  }

  /** Poll until `read` gives a value (not undefined, null or false), within `timeoutMs`. */
  waitFor<T>(read: () => T | undefined | null | false | PromiseLike<T | undefined | null | false>, what: string, timeoutMs = 15_000): Promise<T> {
    return waitFor(what, async () => (await read()) ?? undefined, { timeoutMs });
  }

  private nextId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}${String(this.idCounter).padStart(8, '0')}`;
  }

  private nextTs(): string {
    this.tsCounter += 1;
    return `${1_767_225_600 + this.tsCounter}.${String(this.tsCounter).padStart(6, '0')}`;
  }

  private seqCounter = 0;

  private nextSeq(): number {
    this.seqCounter += 1;
    return this.seqCounter;
  }

  private record(entry: Omit<RecordedRequest, 'seq'>): RecordedRequest {
    const recorded = { ...entry, seq: this.nextSeq() };
    this.requests.push(recorded);
    return recorded;
  }

  private takeFailure(kind: string): Failure | undefined {
    const queue = this.failures.get(kind);
    return queue?.shift();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const body = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) return this.webApi(url.pathname.slice('/api/'.length), req, res, await parseArgs(contentType, body));
    if (req.method === 'POST' && url.pathname.startsWith('/upload/v1/')) return this.upload(url.pathname.slice('/upload/v1/'.length), req, res, contentType, body);
    if (req.method === 'GET' && url.pathname.startsWith('/files-pri/')) return this.serveFile(url.pathname, req, res);
    if (req.method === 'POST' && url.pathname.startsWith('/respond/')) {
      const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      this.responses.push({ id: url.pathname.slice('/respond/'.length), body: parsed });
      this.record({ kind: 'respond', path: url.pathname, authorization: req.headers.authorization, args: {}, status: 200 });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    res.writeHead(404);
    res.end();
  }

  private webApi(method: string, req: IncomingMessage, res: ServerResponse, args: Record<string, string>): void {
    const path = `/api/${method}`;
    const authorization = req.headers.authorization;
    const answer = (status: number, value: Record<string, unknown>, headers: Record<string, string> = {}): void => {
      this.record({ kind: method, path, authorization, args, status, ...(value.ok === false ? { error: String(value.error) } : {}) });
      sendJson(res, status, value, headers);
    };
    const failure = this.takeFailure(method);
    if (failure?.kind === 'ratelimited') return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(failure.retryAfterSec) });
    if (failure?.kind === 'status') return answer(failure.status, { ok: false, error: 'internal_error' });
    if (failure?.kind === 'error') return answer(200, { ok: false, error: failure.error });
    const token = authorization?.replace(/^Bearer /, '') ?? args.token;
    // apps.connections.open takes the app-level token only; every other method here the bot token only.
    const expected = method === 'apps.connections.open' ? this.appToken : this.botToken;
    if (token !== expected) {
      const error = token === undefined || token === '' ? 'not_authed' : token === this.botToken || token === this.appToken ? 'not_allowed_token_type' : 'invalid_auth';
      return answer(200, { ok: false, error });
    }
    const result = this.handle(method, args);
    answer(200, result);
  }

  private handle(method: string, args: Record<string, string>): Record<string, unknown> {
    const missing = (name: string): Record<string, unknown> | null => (args[name] === undefined || args[name] === '' ? { ok: false, error: `invalid_arguments`, detail: `missing ${name}` } : null);
    switch (method) {
      case 'apps.connections.open':
        return this.socketMode.openConnection();
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Fake', user: 'imagine-bot', team_id: this.teamId, user_id: this.botUserId, bot_id: 'BFAKE001' };
      case 'chat.postMessage': {
        const problem = missing('channel') ?? (args.text === undefined && args.blocks === undefined ? { ok: false, error: 'no_text' } : null);
        if (problem) return problem;
        const message: FakeMessage = { channel: args.channel!, ts: this.nextTs(), threadTs: args.thread_ts, text: args.text ?? '', history: [args.text ?? ''], isDeleted: false, fileIds: [] };
        this.messages.push(message);
        return { ok: true, channel: message.channel, ts: message.ts, message: { text: message.text, ts: message.ts, user: this.botUserId } };
      }
      case 'chat.update': {
        const problem = missing('channel') ?? missing('ts');
        if (problem) return problem;
        const message = this.message(args.channel!, args.ts!);
        if (!message || message.isDeleted) return { ok: false, error: 'message_not_found' };
        message.text = args.text ?? '';
        message.history.push(message.text);
        if (args.blocks !== undefined) message.blocks = JSON.parse(args.blocks) as unknown[];
        return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
      }
      case 'chat.delete': {
        const message = this.message(args.channel ?? '', args.ts ?? '');
        if (!message || message.isDeleted) return { ok: false, error: 'message_not_found' };
        message.isDeleted = true;
        return { ok: true, channel: message.channel, ts: message.ts };
      }
      case 'chat.postEphemeral': {
        const problem = missing('channel') ?? missing('user');
        if (problem) return problem;
        this.ephemerals.push({ channel: args.channel!, user: args.user!, text: args.text ?? '', threadTs: args.thread_ts });
        return { ok: true, message_ts: this.nextTs() };
      }
      case 'views.open': {
        const problem = missing('trigger_id') ?? missing('view');
        if (problem) return problem;
        const view = JSON.parse(args.view!) as Record<string, unknown>;
        this.views.push({ triggerId: args.trigger_id!, view });
        return { ok: true, view: { id: this.nextId('V'), ...view } };
      }
      case 'users.info': {
        const user = this.users.get(args.user ?? '');
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: { id: user.id, team_id: this.teamId, name: user.name, real_name: user.name, is_admin: user.isAdmin ?? false, is_owner: user.isOwner ?? false, profile: { display_name: user.name, real_name: user.name } },
        };
      }
      case 'files.getUploadURLExternal': {
        const problem = missing('filename') ?? missing('length');
        if (problem) return problem;
        const id = this.nextId('F');
        this.uploads.set(id, { id, filename: args.filename!, declaredLength: Number(args.length), bytes: undefined, uploadContentType: undefined, title: undefined, shares: [] });
        return { ok: true, upload_url: `${this.origin}/upload/v1/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const problem = missing('files');
        if (problem) return problem;
        const listed = JSON.parse(args.files!) as { id: string; title?: string }[];
        const uploads = listed.map((f) => this.uploads.get(f.id));
        if (uploads.some((u) => u === undefined || u.bytes === undefined)) return { ok: false, error: 'file_not_found' };
        const ready = uploads as FakeUpload[];
        listed.forEach((f, i) => (ready[i]!.title = f.title));
        if (args.channel_id !== undefined) {
          const message: FakeMessage = { channel: args.channel_id, ts: this.nextTs(), threadTs: args.thread_ts, text: args.initial_comment ?? '', history: [args.initial_comment ?? ''], isDeleted: false, fileIds: ready.map((u) => u.id) };
          this.messages.push(message);
          for (const upload of ready) upload.shares.push({ channel: args.channel_id, threadTs: args.thread_ts, ts: message.ts, initialComment: args.initial_comment });
        }
        return { ok: true, files: ready.map((u) => ({ id: u.id, title: u.title ?? u.filename, name: u.filename })) };
      }
      case 'chat.getPermalink': {
        const problem = missing('channel') ?? missing('message_ts');
        if (problem) return problem;
        const message = this.message(args.channel!, args.message_ts!);
        if (!message) return { ok: false, error: 'message_not_found' };
        return { ok: true, channel: message.channel, permalink: `https://fake.slack.com/archives/${message.channel}/p${message.ts.replace('.', '')}` };
      }
      case 'files.info': {
        const upload = this.uploads.get(args.file ?? '');
        if (!upload) return { ok: false, error: 'file_not_found' };
        const shares: Record<string, Record<string, unknown[]>> = {};
        for (const share of upload.shares) {
          const visibility = share.channel.startsWith('C') ? 'public' : 'private';
          ((shares[visibility] ??= {})[share.channel] ??= []).push({ ts: share.ts, ...(share.threadTs ? { thread_ts: share.threadTs } : {}) });
        }
        const channels = [...new Set(upload.shares.map((s) => s.channel))];
        return { ok: true, file: { id: upload.id, name: upload.filename, title: upload.title ?? upload.filename, size: upload.bytes?.length ?? 0, shares, channels: channels.filter((c) => c.startsWith('C')), groups: channels.filter((c) => !c.startsWith('C')), ims: [] } };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private async upload(id: string, req: IncomingMessage, res: ServerResponse, contentType: string, body: Buffer): Promise<void> {
    const entry = { kind: 'upload', path: `/upload/v1/${id}`, authorization: req.headers.authorization, args: {} as Record<string, string> };
    const failure = this.takeFailure('upload');
    if (failure?.kind === 'ratelimited') {
      this.record({ ...entry, status: 429 });
      res.writeHead(429, { 'retry-after': String(failure.retryAfterSec), 'content-type': 'text/plain' });
      res.end('ratelimited');
      return;
    }
    if (failure !== undefined) {
      const status = failure.kind === 'status' ? failure.status : 500;
      this.record({ ...entry, status });
      res.writeHead(status);
      res.end();
      return;
    }
    const upload = this.uploads.get(id);
    if (!upload) {
      this.record({ ...entry, status: 404 });
      res.writeHead(404);
      res.end();
      return;
    }
    // Slack takes the raw bytes or a multipart form with the file as its one part.
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
      const part = ([...form.values()] as unknown[]).find((v): v is Blob => v instanceof Blob);
      upload.bytes = part ? Buffer.from(await part.arrayBuffer()) : Buffer.alloc(0);
      upload.uploadContentType = part?.type;
    } else {
      upload.bytes = body;
      upload.uploadContentType = contentType;
    }
    this.record({ ...entry, status: 200 });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${upload.bytes.length}`);
  }

  private serveFile(path: string, req: IncomingMessage, res: ServerResponse): void {
    const file = this.userFiles.get(path);
    const isAuthorised = req.headers.authorization === `Bearer ${this.botToken}`;
    this.record({ kind: 'file', path, authorization: req.headers.authorization, args: {}, status: file ? 200 : 404 });
    if (!file) {
      res.writeHead(404);
      res.end();
    } else if (!isAuthorised) {
      // What Slack does: 200 with its sign-in page, which only the bytes give away.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(LOGIN_PAGE);
    } else {
      res.writeHead(200, { 'content-type': file.mimetype, 'content-length': file.bytes.length });
      res.end(file.bytes);
    }
  }
}

/** Start a fake Slack whose API accepts `botToken` (and `appToken` for Socket Mode). */
export function startFakeSlack(botToken = 'xoxb-fake-bot-token', appToken = 'xapp-1-AFAKE001-1-fake-app-token'): Promise<FakeSlack> {
  return new FakeSlack(botToken, appToken).start();
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
