/**
 * Runway's ephemeral uploads: `POST /v1/uploads` hands out a presigned storage POST, the SDK sends
 * the bytes there, and the `runway://` URI it got back may then be used as a reference image.
 * https://docs.dev.runwayml.com/api/#tag/Uploads
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../src/clock.ts';
import { readForm, sendJson, sendText, type RequestLog } from './http.ts';
import type { Links } from './links.ts';

export interface SimUpload {
  uri: string;
  filename: string;
  bytes: Buffer;
}

interface PendingUpload {
  id: string;
  filename: string;
  uri: string;
  key: string;
  signature: string;
  createdAtMs: number;
  bytes?: Buffer;
}

const MIN_UPLOAD_BYTES = 512;
const MAX_UPLOAD_BYTES = 250 * 1024 * 1024;
const UPLOAD_TTL_MS = 24 * 60 * 60 * 1000;

export class UploadStore {
  private readonly byId = new Map<string, PendingUpload>();
  private readonly byUri = new Map<string, PendingUpload>();

  constructor(
    private readonly links: Links,
    private readonly log: RequestLog,
    private readonly clock: Clock,
  ) {}

  /** `POST /v1/uploads`: reserve a storage slot and say where to send the bytes. */
  create(body: unknown, res: ServerResponse): void {
    const input = body as { filename?: unknown; type?: unknown } | undefined;
    if (typeof input?.filename !== 'string' || input.filename.length === 0 || input.type !== 'ephemeral') {
      return sendJson(res, 400, { error: 'Validation of body failed', issues: [{ path: ['filename'], message: 'filename and type "ephemeral" are required' }] });
    }
    const id = randomUUID();
    const key = `uploads/${id}/${input.filename}`;
    const upload: PendingUpload = { id, filename: input.filename, uri: `runway://simulator/${id}`, key, signature: this.links.sign(key), createdAtMs: this.clock.now() };
    this.byId.set(id, upload);
    this.byUri.set(upload.uri, upload);
    // Shaped like a presigned S3 POST: the SDK sends every field back, then `file` last.
    sendJson(res, 200, { uploadUrl: `${this.links.baseUrl()}/storage/${id}`, fields: { key, 'x-amz-algorithm': 'AWS4-HMAC-SHA256', 'x-amz-signature': upload.signature }, runwayUri: upload.uri });
  }

  /** `POST /storage/:id`: the presigned POST that carries the bytes, answered like S3 would. */
  async store(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const form = await readForm(req, MAX_UPLOAD_BYTES);
    if (!form) {
      this.log.record(req, path, undefined);
      return sendText(res, 400, 'Malformed multipart body');
    }
    const { fields, file: bytes } = form;
    this.log.record(req, path, { fields, fileBytes: bytes?.length ?? 0 });
    const upload = this.byId.get(path.slice('/storage/'.length));
    if (!upload || fields['key'] !== upload.key || fields['x-amz-signature'] !== upload.signature) return sendText(res, 403, 'AccessDenied');
    if (!bytes) return sendText(res, 400, 'Missing file');
    if (bytes.length < MIN_UPLOAD_BYTES) return sendText(res, 400, `EntityTooSmall: uploads must be at least ${MIN_UPLOAD_BYTES} bytes`);
    upload.bytes = bytes;
    res.writeHead(204).end();
  }

  /** Whether `uri` names an upload whose bytes arrived and that has not expired. */
  isKnown(uri: string): boolean {
    const upload = this.byUri.get(uri);
    return upload?.bytes !== undefined && this.clock.now() < upload.createdAtMs + UPLOAD_TTL_MS;
  }

  /** Whether the bytes uploaded to `uri` look like a PNG, JPEG or WebP. */
  isImage(uri: string): boolean {
    const bytes = this.byUri.get(uri)?.bytes;
    if (!bytes) return false;
    const png = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
    const webp = bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP';
    return png || jpeg || webp;
  }

  /** The bytes of a live upload (as isKnown), or undefined. */
  bytesOf(uri: string): Buffer | undefined {
    return this.isKnown(uri) ? this.byUri.get(uri)?.bytes : undefined;
  }

  /** Uploads whose bytes arrived, in creation order. */
  completed(): SimUpload[] {
    return [...this.byId.values()].flatMap((u) => (u.bytes ? [{ uri: u.uri, filename: u.filename, bytes: u.bytes }] : []));
  }
}
