import sharp from 'sharp';
import type { OutputFile } from '../../src/ports.ts';

/**
 * Make a result fit the interaction's `attachment_size_limit`: Discord refuses larger uploads, and
 * the design says a result is re-encoded, never dropped. Tries WebP, then JPEG, at falling
 * quality, then shrinks the picture until it fits.
 * https://discord.com/developers/docs/reference#uploading-files
 */

const QUALITIES = [90, 80, 70, 60, 50, 40] as const;
/** Below this many pixels on the long side a result is no longer worth sending; we stop shrinking there. */
const MIN_LONG_SIDE_PX = 64;

/** Fit every file so that together they stay within `limitBytes` (Discord counts the whole message). */
export async function fitFilesToLimit(files: readonly OutputFile[], limitBytes: number): Promise<OutputFile[]> {
  const total = files.reduce((sum, file) => sum + file.bytes.length, 0);
  if (total <= limitBytes) return [...files];
  // Headroom for the multipart framing and payload_json.
  const perFileBytes = Math.max(1, Math.floor((limitBytes - 4096) / Math.max(1, files.length)));
  return Promise.all(files.map((file) => (file.bytes.length <= perFileBytes ? file : fitFile(file, perFileBytes))));
}

/** Re-encode one image to at most `maxBytes`. */
export async function fitFile(file: OutputFile, maxBytes: number): Promise<OutputFile> {
  if (file.bytes.length <= maxBytes) return file;
  const baseName = file.filename.replace(/\.[^.]+$/, '');
  for (const format of ['webp', 'jpeg'] as const) {
    for (const quality of QUALITIES) {
      const bytes = await encode(file.bytes, format, quality, null);
      if (bytes.length <= maxBytes) return asOutput(baseName, format, bytes);
    }
  }
  const metadata = await sharp(file.bytes).metadata();
  let longSide = Math.max(metadata.width ?? 1024, metadata.height ?? 1024);
  let smallest: Uint8Array | null = null;
  while (longSide > MIN_LONG_SIDE_PX) {
    longSide = Math.max(MIN_LONG_SIDE_PX, Math.floor(longSide * 0.7));
    smallest = await encode(file.bytes, 'jpeg', 60, longSide);
    if (smallest.length <= maxBytes) break;
  }
  // Even the smallest picture is sent: a limit this tight is a misconfiguration, and the user paid.
  return asOutput(baseName, 'jpeg', smallest ?? (await encode(file.bytes, 'jpeg', 40, MIN_LONG_SIDE_PX)));
}

async function encode(input: Uint8Array, format: 'webp' | 'jpeg', quality: number, longSidePx: number | null): Promise<Uint8Array> {
  let pipeline = sharp(input);
  if (longSidePx !== null) pipeline = pipeline.resize({ width: longSidePx, height: longSidePx, fit: 'inside' });
  pipeline = format === 'webp' ? pipeline.webp({ quality }) : pipeline.jpeg({ quality, mozjpeg: true });
  return new Uint8Array(await pipeline.toBuffer());
}

function asOutput(baseName: string, format: 'webp' | 'jpeg', bytes: Uint8Array): OutputFile {
  return format === 'webp'
    ? { filename: `${baseName}.webp`, contentType: 'image/webp', bytes }
    : { filename: `${baseName}.jpg`, contentType: 'image/jpeg', bytes };
}
