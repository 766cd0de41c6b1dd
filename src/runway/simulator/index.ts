/**
 * A local Runway API on 127.0.0.1 that speaks exactly what @runwayml/sdk 4.20.1 calls, so the bot,
 * its tests and the sandbox run the real SDK against it (`baseURL` / RUNWAYML_BASE_URL).
 * Routes: POST /v1/uploads (+ the storage POST it points at), POST /v1/text_to_image,
 * GET|DELETE /v1/tasks/:id, GET /v1/organization, and signed, expiring GET /outputs/… PNGs.
 * https://docs.dev.runwayml.com/api/
 */
import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { catalogueCost, findModel, MODELS } from '../../models.ts';
import { outputSize, renderPicture } from './picture.ts';
import { TaskBook, outcomeForPrompt, type SimTask, type TaskOutcome, type TaskRecord } from './tasks.ts';
import { validateTextToImage } from './validate.ts';

export type { SimTask, TaskStatus } from './tasks.ts';
export { encodePng, readPngSize } from './png.ts';

export interface SimulatorOptions {
  /** 0 = random (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** If set, /v1 requests must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** How long a task runs from start to SUCCEEDED (default 4000). */
  generationMs?: number;
  /** Time PENDING before it may run (default 300). */
  pendingMs?: number;
  /** Per model; tasks beyond it sit in THROTTLED, first come first served (default 2). */
  maxConcurrent?: number;
  /** Per model and UTC day; creates beyond it get 429 (default 1000). */
  maxDailyGenerations?: number;
  /** Output URLs stop working this long after the task was read (default 24 h). */
  outputTtlMs?: number;
  /** Output PNG size = ratio size × scale (default 0.25; keeps tests fast). */
  outputScale?: number;
  /** Starting balance reported by /v1/organization (default 10000); succeeded tasks spend it. */
  creditBalance?: number;
  costOverride?: (model: string, ratio: string) => number;
  /** Time source (default Date.now); tests inject one and move it by hand. */
  clock?: { now(): number };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; for the storage POST `{ fields, fileBytes }` (fileBytes = byte count). */
  body: unknown;
  at: number;
}

export type CreateFailure =
  | { status: 429 | 400 | 500 | 503; retryAfterMs?: number }
  /** Close the socket with no answer; `afterCreate` makes the task first (the dangerous case for retries). */
  | { dropConnection: true; afterCreate?: boolean };

export type PollFailure = { status: 429 | 500 | 503; retryAfterMs?: number };

/**
 * A gate on one kind of request, for tests that must catch the bot mid-request (crash tests):
 * while held, matching requests wait before they are served; `release()` lets them (and all later
 * ones) through. A held request whose client hung up meanwhile is dropped unanswered, as if it
 * never got past Runway's front door: it creates nothing and stores nothing.
 */
export interface SimHold {
  /** Requests waiting at the gate right now. */
  readonly waiting: number;
  /** Requests that have reached the gate since it was set, whether still waiting or released. */
  readonly arrived: number;
  release(): void;
}

export interface SimUpload {
  uri: string;
  filename: string;
  bytes: Buffer;
}

export interface RunwaySimulator {
  /** e.g. http://127.0.0.1:43123 (no /v1), to pass as baseURL. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Queue failures for the next create calls (consumed in order). */
  failNextCreate(f: CreateFailure): void;
  /** Inject failures into the next GET /v1/tasks/:id polls (one per call, consumed in order). */
  failNextPoll(f: PollFailure): void;
  /** A task's state now, for tests (deleted tasks included). */
  task(id: string): SimTask | undefined;
  /** Every task ever created, in creation order, with its state now. */
  tasks(): SimTask[];
  /** Completed uploads. */
  uploads(): SimUpload[];
  /** Hold the storage POSTs that carry reference bytes (the `/v1/uploads` call itself answers). */
  holdUploads(): SimHold;
  /** Hold `POST /v1/text_to_image` before the task is made. */
  holdCreates(): SimHold;
  /** Hold the downloads of finished outputs (`GET /outputs/…`). */
  holdOutputs(): SimHold;
  /** Releases every hold, then stops the server. */
  close(): Promise<void>;
}

const RUNWAY_VERSION = '2024-11-06';
const MIN_UPLOAD_BYTES = 512;
const MAX_JSON_BYTES = 1 << 20;
const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;
const SIM_RETRY_AFTER_MS = 50;

interface PendingUpload {
  id: string;
  filename: string;
  uri: string;
  key: string;
  signature: string;
  createdAtMs: number;
  bytes?: Buffer;
}

/** Start the simulator; resolves once it is listening. */
export async function startRunwaySimulator(options: SimulatorOptions = {}): Promise<RunwaySimulator> {
  const clock = options.clock ?? { now: () => Date.now() };
  const maxConcurrent = options.maxConcurrent ?? 2;
  const maxDailyGenerations = options.maxDailyGenerations ?? 1000;
  const outputTtlMs = options.outputTtlMs ?? 24 * 60 * 60 * 1000;
  const outputScale = options.outputScale ?? 0.25;
  const secret = randomBytes(32);
  const book = new TaskBook({ pendingMs: options.pendingMs ?? 300, generationMs: options.generationMs ?? 4000, maxConcurrent });
  const uploadsById = new Map<string, PendingUpload>();
  const uploadsByUri = new Map<string, PendingUpload>();
  const createFailures: CreateFailure[] = [];
  const pollFailures: PollFailure[] = [];
  const requests: RecordedRequest[] = [];
  const pictureCache = new Map<string, Buffer>();
  const holds: Record<HoldKind, Gate | null> = { upload: null, create: null, output: null };
  let url = '';

  function hold(kind: HoldKind): SimHold {
    holds[kind]?.release();
    const gate = new Gate();
    holds[kind] = gate;
    return gate;
  }

  /** Wait at the gate for `kind`, if one is set; false when the client hung up meanwhile. */
  async function passGate(kind: HoldKind, req: IncomingMessage): Promise<boolean> {
    const gate = holds[kind];
    const passed = gate ? await gate.pass(req.socket) : true;
    return passed && !req.socket.destroyed;
  }

  const sign = (value: string): string => createHmac('sha256', secret).update(value).digest('hex');
  const costOf = (model: string, ratio: string): number => {
    if (options.costOverride) return options.costOverride(model, ratio);
    const info = findModel(model);
    return info ? catalogueCost(info, ratio) : 0;
  };
  const views = (): SimTask[] => book.all().flatMap((t) => book.view(t.id, clock.now()) ?? []);
  const spentCredits = (): number => views().filter((t) => t.status === 'SUCCEEDED').reduce((sum, t) => sum + t.costCredits, 0);
  const committedCredits = (): number =>
    views().filter((t) => t.status !== 'FAILED' && t.status !== 'CANCELLED').reduce((sum, t) => sum + t.costCredits, 0);
  const isKnownUpload = (uri: string): boolean => {
    const upload = uploadsByUri.get(uri);
    return upload?.bytes !== undefined && clock.now() < upload.createdAtMs + UPLOAD_TTL_MS;
  };

  function record(req: IncomingMessage, path: string, body: unknown): void {
    requests.push({ method: req.method ?? 'GET', path, headers: { ...req.headers }, body, at: clock.now() });
  }

  function createUpload(body: unknown, res: ServerResponse): void {
    const input = body as { filename?: unknown; type?: unknown } | undefined;
    if (typeof input?.filename !== 'string' || input.filename.length === 0 || input.type !== 'ephemeral') {
      return sendJson(res, 400, { error: 'Validation of body failed', issues: [{ path: ['filename'], message: 'filename and type "ephemeral" are required' }] });
    }
    const id = randomUUID();
    const key = `uploads/${id}/${input.filename}`;
    const upload: PendingUpload = { id, filename: input.filename, uri: `runway://simulator/${id}`, key, signature: sign(key), createdAtMs: clock.now() };
    uploadsById.set(id, upload);
    uploadsByUri.set(upload.uri, upload);
    // Shaped like a presigned S3 POST: the SDK sends every field back, then `file` last.
    sendJson(res, 200, { uploadUrl: `${url}/storage/${id}`, fields: { key, 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-signature': upload.signature }, runwayUri: upload.uri });
  }

  async function storeUpload(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = await readBody(req, 250 * 1024 * 1024);
    const upload = uploadsById.get(path.slice('/storage/'.length));
    let form: FormData;
    try {
      form = await new Request(`http://simulator${req.url ?? '/'}`, { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: raw }).formData();
    } catch {
      record(req, path, undefined);
      return sendText(res, 400, 'Malformed multipart body');
    }
    const fields: Record<string, string> = {};
    let file: Blob | undefined;
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') fields[name] = value;
      else if (name === 'file') file = value;
    }
    const bytes = file ? Buffer.from(await file.arrayBuffer()) : undefined;
    record(req, path, { fields, fileBytes: bytes?.length ?? 0 });
    if (!upload || fields['key'] !== upload.key || fields['x-amz-signature'] !== upload.signature) return sendText(res, 403, 'AccessDenied');
    if (!bytes) return sendText(res, 400, 'Missing file');
    if (bytes.length < MIN_UPLOAD_BYTES) return sendText(res, 400, `EntityTooSmall: uploads must be at least ${MIN_UPLOAD_BYTES} bytes`);
    upload.bytes = bytes;
    res.writeHead(204).end();
  }

  function createTask(body: unknown, req: IncomingMessage, res: ServerResponse): void {
    const injected = createFailures.shift();
    if (injected && !('dropConnection' in injected)) return sendFailure(res, injected.status, injected.retryAfterMs);
    if (injected && !injected.afterCreate) return void req.socket.destroy();
    // Past this point an injected failure is a drop *after* the task exists: the answer is lost.
    const dropAfterCreate = injected !== undefined;
    const result = validateTextToImage(body, isKnownUpload);
    if (!result.ok) return sendJson(res, 400, { error: result.error, issues: result.issues });
    const { request } = result;
    if (request.promptText.includes('sim:429')) return sendFailure(res, 429, SIM_RETRY_AFTER_MS);
    if (request.promptText.includes('sim:500')) return sendFailure(res, 500);
    const nowMs = clock.now();
    if (book.dailyGenerations(request.model.id, nowMs) >= maxDailyGenerations) {
      // Retrying the same day cannot succeed, so tell the SDK not to.
      res.setHeader('x-should-retry', 'false');
      return sendJson(res, 429, { error: `You have reached the daily generation limit for ${request.model.id}.` });
    }
    const costCredits = costOf(request.model.id, request.ratio);
    if (committedCredits() + costCredits > (options.creditBalance ?? 10_000)) {
      return sendJson(res, 400, { error: 'You do not have enough credits to run this task.' });
    }
    const hasBadAsset = request.referenceImages.some((r) => !isImage(uploadsByUri.get(r.uri)?.bytes));
    const outcome: TaskOutcome = hasBadAsset
      ? { kind: 'fail', failureCode: 'ASSET.INVALID', failure: 'A reference image could not be read as an image.', when: 'start' }
      : outcomeForPrompt(request.promptText);
    const task: TaskRecord = {
      id: randomUUID(),
      model: request.model.id,
      promptText: request.promptText,
      ratio: request.ratio,
      seed: request.seed ?? randomInt(0, 2 ** 32 - 1),
      referenceImages: request.referenceImages.map((r) => ({ ...r })),
      createdAtMs: nowMs,
      costCredits,
      outcome,
      deleted: false,
    };
    book.add(task);
    if (dropAfterCreate) return void req.socket.destroy();
    sendJson(res, 200, { id: task.id, estimatedCost: { credits: costCredits } });
  }

  function taskBody(task: SimTask): Record<string, unknown> {
    const base = { id: task.id, createdAt: new Date(task.createdAtMs).toISOString(), status: task.status };
    switch (task.status) {
      case 'PENDING':
      case 'THROTTLED':
        return { ...base, estimatedCost: { credits: task.costCredits } };
      case 'RUNNING':
        return { ...base, estimatedCost: { credits: task.costCredits }, progress: task.progress ?? 0 };
      case 'SUCCEEDED': {
        const expires = clock.now() + outputTtlMs;
        const output = `${url}/outputs/${task.id}/0.png?expires=${expires}&sig=${sign(`${task.id}/0:${expires}`)}`;
        return { ...base, output: [output], cost: { credits: task.costCredits } };
      }
      case 'FAILED':
        return { ...base, failure: task.failure, failureCode: task.failureCode, cost: { credits: 0 } };
      case 'CANCELLED':
        return { ...base, cost: { credits: 0 } };
      default: {
        const never: never = task.status;
        throw new Error(`unknown status ${String(never)}`);
      }
    }
  }

  function handleTask(method: string, id: string, res: ServerResponse): void {
    if (method === 'GET') {
      const failure = pollFailures.shift();
      if (failure) return sendFailure(res, failure.status, failure.retryAfterMs);
    }
    const stored = book.get(id);
    const view = book.view(id, clock.now());
    if (!stored || !view || stored.deleted) return sendJson(res, 404, { error: 'Task not found' });
    if (method === 'GET') return sendJson(res, 200, taskBody(view));
    // DELETE cancels a task in flight and deletes a finished one; either way it is gone for the API.
    if (view.status === 'PENDING' || view.status === 'THROTTLED' || view.status === 'RUNNING') book.cancel(id, clock.now());
    stored.deleted = true;
    res.writeHead(204).end();
  }

  function organization(res: ServerResponse): void {
    const nowMs = clock.now();
    const tierModels: Record<string, { maxConcurrentGenerations: number; maxDailyGenerations: number }> = {};
    const usageModels: Record<string, { dailyGenerations: number }> = {};
    for (const model of MODELS) {
      tierModels[model.id] = { maxConcurrentGenerations: maxConcurrent, maxDailyGenerations };
      usageModels[model.id] = { dailyGenerations: book.dailyGenerations(model.id, nowMs) };
    }
    sendJson(res, 200, {
      creditBalance: (options.creditBalance ?? 10_000) - spentCredits(),
      tier: { maxMonthlyCreditSpend: 100_000, models: tierModels },
      usage: { models: usageModels },
    });
  }

  function serveOutput(path: string, search: URLSearchParams, res: ServerResponse): void {
    const match = /^\/outputs\/([^/]+)\/(\d+)\.png$/.exec(path);
    const expires = Number(search.get('expires'));
    const sig = search.get('sig') ?? '';
    if (!match) return sendText(res, 404, 'NoSuchKey');
    const [, taskId = '', index = ''] = match;
    const expected = Buffer.from(sign(`${taskId}/${index}:${search.get('expires') ?? ''}`));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return sendText(res, 403, 'SignatureDoesNotMatch');
    if (!Number.isFinite(expires) || clock.now() >= expires) return sendText(res, 403, 'Request has expired');
    const task = book.view(taskId, clock.now());
    if (!task || task.deleted || task.status !== 'SUCCEEDED' || index !== '0') return sendText(res, 404, 'NoSuchKey');
    let png = pictureCache.get(task.id);
    if (!png) {
      const { width, height } = outputSize(task.ratio, outputScale);
      png = renderPicture(task.promptText, task.seed, width, height);
      pictureCache.set(task.id, png);
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = new URL(req.url ?? '/', 'http://simulator');
    const path = target.pathname;
    const method = req.method ?? 'GET';
    if (method === 'POST' && path.startsWith('/storage/')) {
      if (!(await passGate('upload', req))) return;
      return storeUpload(req, res, path);
    }
    if (method === 'GET' && path.startsWith('/outputs/')) {
      record(req, path, undefined);
      if (!(await passGate('output', req))) return;
      return serveOutput(path, target.searchParams, res);
    }
    const raw = await readBody(req, MAX_JSON_BYTES);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        record(req, path, raw.toString('utf8'));
        return sendJson(res, 400, { error: 'Request body is not valid JSON' });
      }
    }
    record(req, path, body);
    if (!path.startsWith('/v1/')) return sendJson(res, 404, { error: 'Not found' });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: 'Invalid API key' });
    }
    if (req.headers['x-runway-version'] !== RUNWAY_VERSION) {
      return sendJson(res, 400, { error: `You must provide the X-Runway-Version header set to ${RUNWAY_VERSION}` });
    }
    if (method === 'POST' && path === '/v1/uploads') return createUpload(body, res);
    if (method === 'POST' && path === '/v1/text_to_image') {
      if (!(await passGate('create', req))) return;
      return createTask(body, req, res);
    }
    if (method === 'GET' && path === '/v1/organization') return organization(res);
    const taskMatch = /^\/v1\/tasks\/([^/]+)$/.exec(path);
    if (taskMatch && (method === 'GET' || method === 'DELETE')) return handleTask(method, decodeURIComponent(taskMatch[1] ?? ''), res);
    sendJson(res, 404, { error: 'Not found' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal simulator error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  url = `http://${host}:${address.port}`;

  return {
    url,
    requests,
    failNextCreate: (f) => void createFailures.push(f),
    failNextPoll: (f) => void pollFailures.push(f),
    task: (id) => book.view(id, clock.now()),
    tasks: views,
    uploads: () =>
      [...uploadsById.values()].flatMap((u) => (u.bytes ? [{ uri: u.uri, filename: u.filename, bytes: u.bytes }] : [])),
    holdUploads: () => hold('upload'),
    holdCreates: () => hold('create'),
    holdOutputs: () => hold('output'),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const gate of Object.values(holds)) gate?.release();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

type HoldKind = 'upload' | 'create' | 'output';

class Gate implements SimHold {
  private readonly held = new Set<() => void>();
  private isOpen = false;
  private count = 0;

  get waiting(): number {
    return this.held.size;
  }

  get arrived(): number {
    return this.count;
  }

  /** Resolves true when released, false as soon as the client's connection closes. */
  pass(socket: Socket): Promise<boolean> {
    this.count++;
    if (this.isOpen || socket.destroyed) return Promise.resolve(!socket.destroyed);
    return new Promise((resolve) => {
      const onClose = () => {
        this.held.delete(letThrough);
        resolve(false);
      };
      const letThrough = () => {
        socket.off('close', onClose);
        resolve(true);
      };
      this.held.add(letThrough);
      socket.once('close', onClose);
    });
  }

  release(): void {
    this.isOpen = true;
    const waiting = [...this.held];
    this.held.clear();
    for (const letThrough of waiting) letThrough();
  }
}

function isImage(bytes: Buffer | undefined): boolean {
  if (!bytes) return false;
  const png = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const webp = bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP';
  return png || jpeg || webp;
}

function sendFailure(res: ServerResponse, status: number, retryAfterMs?: number): void {
  if (retryAfterMs !== undefined) {
    res.setHeader('retry-after-ms', String(retryAfterMs));
    res.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  }
  const messages: Record<number, string> = {
    400: 'Invalid request',
    429: 'Too many requests; please slow down',
    500: 'Internal server error',
    503: 'Service temporarily unavailable',
  };
  sendJson(res, status, { error: messages[status] ?? 'Error' });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
