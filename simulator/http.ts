/**
 * The simulator's HTTP plumbing, with no Runway rules in it: the server and its address, reading
 * JSON and multipart bodies, writing JSON, text and failure answers, and the log of requests seen.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../src/clock.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON; for the storage POST `{ fields, fileBytes }` (fileBytes = byte count). */
  body: unknown;
  at: number;
}

/** Every request the simulator received, in arrival order, for tests to assert on. */
export class RequestLog {
  readonly requests: RecordedRequest[] = [];

  constructor(private readonly clock: Clock) {}

  record(req: IncomingMessage, path: string, body: unknown): void {
    this.requests.push({ method: req.method ?? 'GET', path, headers: { ...req.headers }, body, at: this.clock.now() });
  }
}

export interface HttpServer {
  /** e.g. http://127.0.0.1:43123, with IPv6 hosts in brackets. */
  readonly url: string;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** Listen on `host:port` (0 = random); a handler that throws answers 500, or drops the socket mid-answer. */
export async function listen(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  port: number,
  host: string,
): Promise<HttpServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal simulator error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const hostname = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostname}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** A JSON body: `body` is undefined when the request had none; `text` is what failed to parse. */
export type JsonBody = { ok: true; body: unknown } | { ok: false; text: string };

export async function readJson(req: IncomingMessage, maxBytes: number): Promise<JsonBody> {
  const raw = await readBody(req, maxBytes);
  if (raw.length === 0) return { ok: true, body: undefined };
  try {
    return { ok: true, body: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false, text: raw.toString('utf8') };
  }
}

/** A multipart/form-data body's text fields and its `file` part. */
export interface Form {
  fields: Record<string, string>;
  file: Buffer | undefined;
}

/** Parse a multipart body with the platform's own parser; undefined when it is malformed. */
export async function readForm(req: IncomingMessage, maxBytes: number): Promise<Form | undefined> {
  const raw = await readBody(req, maxBytes);
  let form: FormData;
  try {
    form = await new Request(`http://simulator${req.url ?? '/'}`, { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: raw }).formData();
  } catch {
    return undefined;
  }
  const fields: Record<string, string> = {};
  let file: Blob | undefined;
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') fields[name] = value;
    else if (name === 'file') file = value;
  }
  return { fields, file: file ? Buffer.from(await file.arrayBuffer()) : undefined };
}

/** A failure as the SDK sees Runway's: a status, a short message and, if given, when to retry. */
export function sendFailure(res: ServerResponse, status: number, retryAfterMs?: number): void {
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

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
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
