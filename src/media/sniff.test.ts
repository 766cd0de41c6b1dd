import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { extensionFor, imageDimensions, sniffImageType, usableImageType } from './sniff.ts';

const WIDTH = 37;
const HEIGHT = 23;

function canvas(channels: 3 | 4 = 3): sharp.Sharp {
  return sharp({ create: { width: WIDTH, height: HEIGHT, channels, background: { r: 200, g: 30, b: 90, alpha: 0.5 } } });
}

describe('sniffImageType and imageDimensions on real encoder output', () => {
  const cases: { name: string; type: string; make: () => Promise<Buffer>; chunk?: string }[] = [
    { name: 'PNG', type: 'image/png', make: () => canvas().png().toBuffer() },
    { name: 'baseline JPEG', type: 'image/jpeg', make: () => canvas().jpeg().toBuffer() },
    { name: 'progressive JPEG', type: 'image/jpeg', make: () => canvas().jpeg({ progressive: true }).toBuffer() },
    { name: 'lossy WebP (VP8)', type: 'image/webp', make: () => canvas(3).webp({ quality: 80 }).toBuffer(), chunk: 'VP8 ' },
    { name: 'lossless WebP (VP8L)', type: 'image/webp', make: () => canvas(3).webp({ lossless: true }).toBuffer(), chunk: 'VP8L' },
    { name: 'WebP with alpha (VP8X)', type: 'image/webp', make: () => canvas(4).webp({ quality: 80 }).toBuffer(), chunk: 'VP8X' },
    { name: 'GIF', type: 'image/gif', make: () => canvas().gif().toBuffer() },
  ];

  for (const { name, type, make, chunk } of cases) {
    it(`recognises a ${name} and reads its ${WIDTH}×${HEIGHT} size`, async () => {
      const bytes = new Uint8Array(await make());
      if (chunk !== undefined) expect(Buffer.from(bytes.subarray(12, 16)).toString('latin1')).toBe(chunk);
      expect(sniffImageType(bytes)).toBe(type);
      expect(imageDimensions(bytes)).toEqual({ width: WIDTH, height: HEIGHT });
    });
  }
});

describe('sniffImageType on things that are not images', () => {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('says an HTML login page is not an image, whatever it is called', () => {
    const page = text('<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>');
    expect(sniffImageType(page)).toBeNull();
    expect(imageDimensions(page)).toBeNull();
  });

  it('says plain text, empty input and a RIFF file that is not WebP are not images', () => {
    expect(sniffImageType(text('hello, world'))).toBeNull();
    expect(sniffImageType(new Uint8Array())).toBeNull();
    expect(sniffImageType(text('RIFF\x10\x00\x00\x00WAVEfmt '))).toBeNull();
  });

  it('recognises a truncated header by its magic but gives no dimensions', () => {
    const pngSignatureOnly = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(sniffImageType(pngSignatureOnly)).toBe('image/png');
    expect(imageDimensions(pngSignatureOnly)).toBeNull();
    expect(imageDimensions(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00]))).toBeNull();
  });
});

describe('usable images', () => {
  it('are PNG, JPEG and WebP; a GIF or anything else is not', () => {
    expect(usableImageType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]))).toBe('image/png');
    expect(usableImageType(Buffer.from('GIF89a......'))).toBeNull();
    expect(usableImageType(Buffer.from('<!DOCTYPE html>'))).toBeNull();
    expect([extensionFor('image/png'), extensionFor('image/jpeg'), extensionFor('image/webp')]).toEqual(['png', 'jpg', 'webp']);
  });
});
