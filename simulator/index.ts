/**
 * A local Runway API on 127.0.0.1 that speaks exactly what @runwayml/sdk 4.20.1 calls, so the bot,
 * its tests and the sandbox run the real SDK against it (`baseURL` / RUNWAYML_BASE_URL).
 * Routes: POST /v1/uploads (+ the storage POST it points at), POST /v1/text_to_image, POST /v1/image_upscale,
 * GET|DELETE /v1/tasks/:id, GET /v1/organization, and signed, expiring GET /outputs/… PNGs.
 * https://docs.dev.runwayml.com/api/
 *
 * This file wires the parts together and routes requests. Each route's behaviour lives in
 * `uploads.ts`, `task-routes.ts`, `organization.ts` or `outputs.ts`; the HTTP plumbing in
 * `http.ts`, the test gates in `holds.ts`.
 */
import { systemClock } from '../src/clock.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, readJson, RequestLog, sendJson, type RecordedRequest } from './http.ts';
import { Holds, type SimHold } from './holds.ts';
import { createLinks } from './links.ts';
import { Organization } from './organization.ts';
import { OutputStore } from './outputs.ts';
import { TaskRoutes, type CreateFailure, type PollFailure } from './task-routes.ts';
import { TaskBook, type ProgressShape, type SimTask, type Spread } from './tasks.ts';
import { UploadStore, type SimUpload } from './uploads.ts';
import { UpscaleRoute } from './upscale-route.ts';

export type { ProgressShape, SimTask, Spread, TaskStatus } from './tasks.ts';
export type { RecordedRequest } from './http.ts';
export type { SimHold } from './holds.ts';
export type { SimUpload } from './uploads.ts';
export type { CreateFailure, PollFailure } from './task-routes.ts';
export { encodePng, readPngSize } from './png.ts';

export interface SimulatorOptions {
  /** 0 = random (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** If set, /v1 requests must carry `Authorization: Bearer <apiKey>`, else 401. */
  apiKey?: string;
  /** How long a task runs from start to SUCCEEDED (default 4000), or a spread each task's time is drawn from (by its request: the same request always takes as long). */
  generationMs?: number | Spread;
  /** Time PENDING before it may run (default 300), or a spread, drawn like `generationMs`. */
  pendingMs?: number | Spread;
  /** How progress grows while a task runs (default linear): a slow start and a wandering pace, see `ProgressShape`. */
  progress?: ProgressShape;
  /** Per model; tasks beyond it sit in THROTTLED, first come first served (default 2). */
  maxConcurrent?: number;
  /** Per model and UTC day; creates beyond it get 429 (default 1000). `null`: no limit, reported as `null` like Runway does. */
  maxDailyGenerations?: number | null;
  /** Output URLs stop working this long after the task was read (default 24 h). */
  outputTtlMs?: number;
  /** Output PNG size = ratio size × scale (default 0.25; keeps tests fast). */
  outputScale?: number;
  /** Starting balance reported by /v1/organization (default 10000; set it low to see the account run dry); succeeded tasks spend it. */
  creditBalance?: number;
  costOverride?: (model: string, ratio: string) => number;
  /** Time source (default Date.now); tests inject one and move it by hand. */
  clock?: { now(): number };
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
  /** The PNG bytes a task's output URL serves, for comparing with what was delivered; undefined for an unknown task. */
  outputFor(taskId: string): Buffer | undefined;
  /** Completed uploads. */
  uploads(): SimUpload[];
  /** The operator buys `credits` more: the balance /v1/organization reports, and creates may spend, go up. */
  topUp(credits: number): void;
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
const MAX_JSON_BYTES = 1 << 20;

/** Start the simulator; resolves once it is listening. */
export async function startRunwaySimulator(options: SimulatorOptions = {}): Promise<RunwaySimulator> {
  const clock = options.clock ?? systemClock;
  const maxConcurrent = options.maxConcurrent ?? 2;
  // Uploads and outputs hand out absolute URLs, and the port is only known once the server listens.
  let url = '';
  const links = createLinks(() => url);
  const log = new RequestLog(clock);
  const holds = new Holds();
  const book = new TaskBook({
    pendingMs: options.pendingMs ?? 300,
    generationMs: options.generationMs ?? 4000,
    maxConcurrent,
    ...(options.progress ? { progress: options.progress } : {}),
  });
  const views = (): SimTask[] => book.all().flatMap((t) => book.view(t.id, clock.now()) ?? []);
  const uploads = new UploadStore(links, log, clock);
  const outputs = new OutputStore(book, links, clock, {
    ttlMs: options.outputTtlMs ?? 24 * 60 * 60 * 1000,
    scale: options.outputScale ?? 0.25,
  });
  const organization = new Organization(clock, book, views, {
    creditBalance: options.creditBalance ?? 10_000,
    maxConcurrent,
    // `null` is a setting (no limit), so only a missing option takes the default.
    maxDailyGenerations: options.maxDailyGenerations === undefined ? 1000 : options.maxDailyGenerations,
    costOverride: options.costOverride,
  });
  const tasks = new TaskRoutes(clock, book, uploads, organization, outputs);
  const upscales = new UpscaleRoute(clock, book, uploads, organization, outputs);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = new URL(req.url ?? '/', 'http://simulator');
    const path = target.pathname;
    const method = req.method ?? 'GET';
    if (method === 'POST' && path.startsWith('/storage/')) {
      if (!(await holds.pass('upload', req))) return;
      return uploads.store(req, res, path);
    }
    if (method === 'GET' && path.startsWith('/outputs/')) {
      log.record(req, path, undefined);
      if (!(await holds.pass('output', req))) return;
      return outputs.serve(path, target.searchParams, res);
    }
    const json = await readJson(req, MAX_JSON_BYTES);
    if (!json.ok) {
      log.record(req, path, json.text);
      return sendJson(res, 400, { error: 'Request body is not valid JSON' });
    }
    const { body } = json;
    log.record(req, path, body);
    if (!path.startsWith('/v1/')) return sendJson(res, 404, { error: 'Not found' });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: 'Invalid API key' });
    }
    if (req.headers['x-runway-version'] !== RUNWAY_VERSION) {
      return sendJson(res, 400, { error: `You must provide the X-Runway-Version header set to ${RUNWAY_VERSION}` });
    }
    if (method === 'POST' && path === '/v1/uploads') return uploads.create(body, res);
    if (method === 'POST' && path === '/v1/text_to_image') {
      if (!(await holds.pass('create', req))) return;
      return tasks.create(body, req, res);
    }
    if (method === 'POST' && path === '/v1/image_upscale') {
      if (!(await holds.pass('create', req))) return;
      return upscales.create(body, res);
    }
    if (method === 'GET' && path === '/v1/organization') return organization.describe(res);
    const taskMatch = /^\/v1\/tasks\/([^/]+)$/.exec(path);
    if (taskMatch && (method === 'GET' || method === 'DELETE')) return tasks.handle(method, decodeURIComponent(taskMatch[1] ?? ''), res);
    sendJson(res, 404, { error: 'Not found' });
  }

  const server = await listen(handle, options.port ?? 0, options.host ?? '127.0.0.1');
  url = server.url;

  return {
    url,
    requests: log.requests,
    failNextCreate: (f) => tasks.failNextCreate(f),
    failNextPoll: (f) => tasks.failNextPoll(f),
    task: (id) => book.view(id, clock.now()),
    outputFor: (id) => {
      const task = book.get(id);
      return task ? outputs.pictureOf(task) : undefined;
    },
    tasks: views,
    uploads: () => uploads.completed(),
    topUp: (credits) => organization.topUp(credits),
    holdUploads: () => holds.hold('upload'),
    holdCreates: () => holds.hold('create'),
    holdOutputs: () => holds.hold('output'),
    close: () => {
      holds.releaseAll();
      return server.close();
    },
  };
}
