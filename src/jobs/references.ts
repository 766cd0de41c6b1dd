import type { Timers } from '../clock.ts';
import { BotError } from '../errors.ts';
import { mediaNotAnImage, mediaTooLarge } from '../media/errors.ts';
import { extensionFor, sniffImageType, usableImageType } from '../media/sniff.ts';
import type { ReferenceSource } from '../ports.ts';
import type { RunwayGateway } from '../runway/gateway.ts';
import type { ReferenceUri } from './job.ts';

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
): Promise<ReferenceUri[]> {
  const uris: ReferenceUri[] = [];
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
    const uri = await gateway.uploadReference(bytes, `reference-${index + 1}.${extensionFor(type)}`, type);
    uris.push({ uri, tag: tags[index] ?? `image${index + 1}` });
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
