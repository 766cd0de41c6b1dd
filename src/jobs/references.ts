import type { Timers } from '../clock.ts';
import { BotError } from '../errors.ts';
import { mediaNotAnImage, mediaTooLarge } from '../media/errors.ts';
import { extensionFor, sniffImageType, usableImageType } from '../media/sniff.ts';
import type { ReferenceSource } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import type { ReferenceUri } from './job.ts';
import { REFERENCES_GONE, type ReferenceStore } from './reference-store.ts';
import type { StoredReference } from './transitions/set-references.ts';

/** An uploaded reference, and the sha256 of its bytes where they were kept. */
export type UploadedReference = ReferenceUri & { readonly sha256?: string };

/** `runway://` URIs live 24 h: an upload older than this is made again before it is used. */
export const REFERENCE_UPLOAD_LIFETIME_MS = 23 * 60 * 60 * 1000;

/** Whether any of these uploads is too old to hand to Runway. */
export function hasStaleUpload(refs: readonly StoredReference[], nowMs: number): boolean {
  return refs.some((ref) => nowMs - ref.uploadedAt > REFERENCE_UPLOAD_LIFETIME_MS);
}

/**
 * Upload again, from the bot's store, every reference whose upload is older than Runway keeps it;
 * the others are kept as they are. Throws REFERENCES_GONE when some stored bytes are missing.
 */
export async function reuploadStale(
  refs: readonly StoredReference[],
  store: Pick<ReferenceStore, 'read'>,
  gateway: Pick<RunwayGateway, 'uploadReference'>,
  now: () => number,
): Promise<StoredReference[]> {
  const fresh: StoredReference[] = [];
  for (const ref of refs) {
    const startedAt = now();
    if (startedAt - ref.uploadedAt <= REFERENCE_UPLOAD_LIFETIME_MS) {
      fresh.push(ref);
      continue;
    }
    const bytes = store.read(ref.sha256);
    const type = bytes === null ? null : usableImageType(bytes);
    if (bytes === null || type === null) throw new BotError(REFERENCES_GONE);
    const uri = await gateway.uploadReference(bytes, `reference-${ref.position + 1}.${extensionFor(type)}`, type);
    fresh.push({ ...ref, uri, uploadedAt: startedAt });
  }
  return fresh;
}

/** A reference may be at most this large: Runway takes 16 MB by URL; chat uploads are capped lower. */
export const MAX_REFERENCE_BYTES = 20 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 30_000;

/**
 * Fetch each reference from the chat platform (through the adapter's credentialed, allowlisted
 * downloader), judge it by its bytes, and upload it to Runway. Only `runway://` URIs leave here:
 * a chat URL is never passed to Runway. Uploads cost nothing, so this runs before any reservation.
 * `timers` set each download's deadline (default the global ones; tests fire it by hand).
 */
export async function uploadReferences(
  sources: readonly ReferenceSource[],
  tags: readonly string[],
  gateway: Pick<RunwayGateway, 'uploadReference'>,
  timers: Timers = { setTimeout, clearTimeout },
  /** Keeps the checked bytes (the bot's reference store) and names them by their sha256, before the upload. */
  keep?: (bytes: Uint8Array) => string,
): Promise<UploadedReference[]> {
  const uris: UploadedReference[] = [];
  for (const [index, source] of sources.entries()) {
    const name = displayName(source.filename, index);
    if (source.declaredSizeBytes !== undefined && source.declaredSizeBytes > MAX_REFERENCE_BYTES) throw tooLarge(name);
    const controller = new AbortController();
    const timeout = timers.setTimeout(() => controller.abort(), DOWNLOAD_TIMEOUT_MS);
    let bytes: Uint8Array;
    try {
      bytes = await source.download({ maxBytes: MAX_REFERENCE_BYTES, signal: controller.signal });
    } finally {
      timers.clearTimeout(timeout);
    }
    if (bytes.byteLength > MAX_REFERENCE_BYTES) throw tooLarge(name);
    const type = usableImageType(bytes);
    if (type === null) {
      throw new BotError(mediaNotAnImage(sniffImageType(bytes) === 'image/gif', name));
    }
    const sha256 = keep?.(bytes);
    const uri = await gateway.uploadReference(bytes, `reference-${index + 1}.${extensionFor(type)}`, type);
    uris.push({ uri, tag: tags[index] ?? `image${index + 1}`, ...(sha256 === undefined ? {} : { sha256 }) });
  }
  return uris;
}

function tooLarge(name: string): BotError {
  return new BotError(mediaTooLarge(MAX_REFERENCE_BYTES, name));
}

function displayName(filename: string, index: number): string {
  const clean = filename.replace(/[`\r\n]/g, '').slice(0, 80);
  return clean === '' ? `Reference image ${index + 1}` : `\`${clean}\``;
}
