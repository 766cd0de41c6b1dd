import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffImageType } from '../../src/media/sniff.ts';
import type { OutputFile } from '../../src/ports.ts';
import { encodePng } from '../../simulator/index.ts';
import { fitFile, fitFilesToLimit } from './fit.ts';

/** Random pixels: a PNG that no lossless trick can shrink, like a detailed photo. */
function noisyPng(width: number, height: number, name = 'imagine-1.png'): OutputFile {
  return { filename: name, contentType: 'image/png', bytes: encodePng(width, height, new Uint8Array(randomBytes(width * height * 3))) };
}

describe('fitting results under the upload limit', () => {
  it('leaves files that already fit untouched', async () => {
    const file = noisyPng(16, 16);
    expect(await fitFilesToLimit([file], 10 * 1024 * 1024)).toEqual([file]);
  });

  it('re-encodes an image over the limit to a smaller WebP or JPEG that is still the whole picture', async () => {
    const file = noisyPng(800, 600);
    const limit = Math.floor(file.bytes.length / 3);
    const fitted = await fitFile(file, limit);
    expect(fitted.bytes.length).toBeLessThanOrEqual(limit);
    expect(['image/webp', 'image/jpeg']).toContain(sniffImageType(fitted.bytes));
    expect(fitted.contentType).toBe(sniffImageType(fitted.bytes));
    expect(fitted.filename).toMatch(/^imagine-1\.(webp|jpg)$/);
    const meta = await sharp(fitted.bytes).metadata();
    expect(meta.width! / meta.height!).toBeCloseTo(800 / 600, 1);
  });

  it('never drops a result: under an absurd limit it still sends the smallest picture it can make', async () => {
    const fitted = await fitFile(noisyPng(400, 400), 50);
    expect(fitted.bytes.length).toBeGreaterThan(0);
    expect(sniffImageType(fitted.bytes)).toBe('image/jpeg');
  });

  it('shares the limit between several files of one message', async () => {
    const files = [noisyPng(400, 300, 'imagine-1.png'), noisyPng(400, 300, 'imagine-2.png')];
    const limit = files[0]!.bytes.length;
    const fitted = await fitFilesToLimit(files, limit);
    expect(fitted).toHaveLength(2);
    expect(fitted.reduce((sum, f) => sum + f.bytes.length, 0)).toBeLessThanOrEqual(limit);
  });
});
