import { open, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { BotError, type Failure } from '../../src/errors.ts';
import type { ReferenceSource } from '../../src/ports.ts';

/** A reference image from a local file: the terminal's version of a chat attachment. */
export async function fileReference(path: string): Promise<ReferenceSource> {
  const fullPath = resolve(path);
  let size: number;
  try {
    const info = await stat(fullPath);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    throw new BotError(fileNotFound(path));
  }
  return {
    filename: basename(fullPath),
    declaredSizeBytes: size,
    async download({ maxBytes }) {
      // Read at most one byte past the cap: enough to tell "too large" without loading a huge file.
      const handle = await open(fullPath, 'r');
      try {
        const buffer = Buffer.alloc(Math.min(size, maxBytes + 1));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        return buffer.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
  };
}

/** `sandbox.file_not_found`: `--ref` named a path that is not a readable file. */
export function fileNotFound(path: string): Failure {
  return { code: 'sandbox.file_not_found', userMessage: `Cannot read \`${path}\`: give the path of a PNG, JPEG or WebP file.` };
}
