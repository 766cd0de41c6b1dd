/**
 * Image type and size judged from the bytes alone. A file's name, its claimed MIME type and the
 * server's Content-Type are all chosen by someone else (Slack answers 200 with an HTML login page
 * when the token is missing), so only the magic bytes decide what a file is.
 */

export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';

/** The formats Runway takes as references and the bot delivers: PNG, JPEG or WebP (no GIF). */
export type UsableImageType = Exclude<ImageType, 'image/gif'>;

/** The file's type if it is an image the bot can use, else null (GIF, HTML, text, truncated). */
export function usableImageType(bytes: Uint8Array): UsableImageType | null {
  const type = sniffImageType(bytes);
  return type === 'image/gif' ? null : type;
}

/** The file name extension for a usable image type. */
export function extensionFor(type: UsableImageType): 'png' | 'jpg' | 'webp' {
  return type === 'image/jpeg' ? 'jpg' : type === 'image/webp' ? 'webp' : 'png';
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** The image type by magic bytes only; null for anything else (HTML, text, truncated files). */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  if (startsWith(bytes, 0, PNG_SIGNATURE)) return 'image/png';
  if (startsWith(bytes, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (isWebp(bytes)) return 'image/webp';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'image/gif';
  return null;
}

/** Pixel size from the header: PNG IHDR, JPEG SOFn, WebP VP8/VP8L/VP8X, GIF screen descriptor. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  switch (sniffImageType(bytes)) {
    case 'image/png':
      return pngDimensions(bytes);
    case 'image/jpeg':
      return jpegDimensions(bytes);
    case 'image/webp':
      return webpDimensions(bytes);
    case 'image/gif':
      return bytes.length >= 10 ? positive(le16(bytes, 6), le16(bytes, 8)) : null;
    case null:
      return null;
  }
}

function pngDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  // The PNG spec requires IHDR to be the first chunk: length(4) 'IHDR' width(4) height(4).
  if (bytes.length < 24 || ascii(bytes, 12, 4) !== 'IHDR') return null;
  return positive(be32(bytes, 16), be32(bytes, 20));
}

function jpegDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  let offset = 2;
  while (offset + 1 < bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1] ?? 0;
    // 0xFF may be repeated as fill before a marker.
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    // Standalone markers (TEM, RSTn, SOI) carry no length field.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      offset += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan data before any frame header
    if (offset + 4 > bytes.length) return null;
    const segmentLength = be16(bytes, offset + 2);
    if (segmentLength < 2) return null;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): length(2) precision(1) height(2) width(2).
    const isFrameHeader = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrameHeader) {
      if (offset + 9 > bytes.length) return null;
      return positive(be16(bytes, offset + 7), be16(bytes, offset + 5));
    }
    offset += 2 + segmentLength;
  }
  return null;
}

function webpDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  const chunk = ascii(bytes, 12, 4);
  if (chunk === 'VP8 ') {
    // Lossy: a 3-byte frame tag, the start code 9D 01 2A, then 14-bit width and height.
    if (bytes.length < 30 || !startsWith(bytes, 23, [0x9d, 0x01, 0x2a])) return null;
    return positive(le16(bytes, 26) & 0x3fff, le16(bytes, 28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    // Lossless: signature 0x2F, then width-1 and height-1 as two 14-bit fields, little-endian bits.
    if (bytes.length < 25 || bytes[20] !== 0x2f) return null;
    const bits = ((bytes[21] ?? 0) | ((bytes[22] ?? 0) << 8) | ((bytes[23] ?? 0) << 16) | ((bytes[24] ?? 0) << 24)) >>> 0;
    return positive((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') {
    // Extended: flags(4) then canvas width-1 and height-1 as 24-bit little-endian.
    if (bytes.length < 30) return null;
    return positive(le24(bytes, 24) + 1, le24(bytes, 27) + 1);
  }
  return null;
}

function isWebp(bytes: Uint8Array): boolean {
  return ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP';
}

function startsWith(bytes: Uint8Array, offset: number, expected: readonly number[]): boolean {
  if (bytes.length < offset + expected.length) return false;
  return expected.every((value, index) => bytes[offset + index] === value);
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  if (bytes.length < offset + length) return '';
  return String.fromCharCode(...bytes.subarray(offset, offset + length));
}

function positive(width: number, height: number): { width: number; height: number } | null {
  return width > 0 && height > 0 ? { width, height } : null;
}

const at = (bytes: Uint8Array, offset: number): number => bytes[offset] ?? 0;
const be16 = (b: Uint8Array, o: number): number => (at(b, o) << 8) | at(b, o + 1);
const be32 = (b: Uint8Array, o: number): number => ((at(b, o) << 24) | (at(b, o + 1) << 16) | (at(b, o + 2) << 8) | at(b, o + 3)) >>> 0;
const le16 = (b: Uint8Array, o: number): number => at(b, o) | (at(b, o + 1) << 8);
const le24 = (b: Uint8Array, o: number): number => at(b, o) | (at(b, o + 1) << 8) | (at(b, o + 2) << 16);
