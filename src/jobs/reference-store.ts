/**
 * The bot's own copy of reference images, so a job never depends on an upload outliving it: a
 * `runway://` URI lasts 24 h and chat attachment URLs expire too, but a job may wait longer (a long
 * queue, a bot that was down), and a reroll may come days later. Files are content-addressed,
 * `<dir>/<sha256>`, written once (temporary name, then rename) and read back as a boundary: the name
 * must be a sha256, the size within the download cap, and the bytes must hash to the name.
 *
 * Caps: each file at most MAX_REFERENCE_BYTES (the download cap), all of them at most `maxTotalBytes`
 * (REFERENCE_STORE_MAX_MB). When full, new requests with images are refused at no cost.
 * The job_references rows say which jobs need which file; `sweep` deletes the others.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BotError, type Failure } from '../errors.ts';
import { MAX_REFERENCE_BYTES } from './references.ts';

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
const TEMP_PREFIX = '.tmp-';

/** `references.store_full`: the store is at the operator's cap; nothing was held or uploaded. */
export const REFERENCE_STORE_FULL: Failure = {
  code: 'references.store_full',
  userMessage: 'The bot cannot keep any more reference images right now (its storage is full). Nothing was charged; try again later, or without images.',
};

/** `references.gone`: the stored bytes are gone and Runway's upload has expired. */
export const REFERENCES_GONE: Failure = {
  code: 'references.gone',
  userMessage: 'The reference images of this request are no longer kept by the bot, and Runway has forgotten them. You were not charged; send the request again with the images attached.',
};

export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ReferenceStore {
  /** Files written by a request still being accepted: not yet in job_references, never swept. */
  private readonly pinned = new Map<string, number>();
  /** The open `watchPins` sets: each gets every hash pinned while it is open. */
  private readonly pinWatchers = new Set<Set<string>>();

  constructor(
    readonly dir: string,
    readonly maxTotalBytes: number,
    readonly maxFileBytes: number = MAX_REFERENCE_BYTES,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** The bytes every stored file takes. */
  usedBytes(): number {
    let total = 0;
    for (const name of this.names()) total += this.sizeOf(name);
    return total;
  }

  isFull(): boolean {
    return this.usedBytes() >= this.maxTotalBytes;
  }

  /** Keep `bytes`, pinned until `unpin`; returns its sha256. Throws REFERENCE_STORE_FULL past the cap. */
  put(bytes: Uint8Array): string {
    if (bytes.byteLength > this.maxFileBytes) throw new Error(`reference of ${bytes.byteLength} bytes is above the store's per-file cap`);
    const sha = sha256Of(bytes);
    this.pin(sha);
    const path = join(this.dir, sha);
    if (existsSync(path) && this.read(sha) !== null) return sha;
    if (this.usedBytes() + bytes.byteLength > this.maxTotalBytes) {
      this.unpin(sha);
      throw new BotError(REFERENCE_STORE_FULL);
    }
    const temp = join(this.dir, `${TEMP_PREFIX}${randomUUID()}`);
    writeFileSync(temp, bytes);
    renameSync(temp, path);
    return sha;
  }

  pin(sha: string): void {
    this.pinned.set(sha, (this.pinned.get(sha) ?? 0) + 1);
    for (const watcher of this.pinWatchers) watcher.add(sha);
  }

  /**
   * The hashes pinned now, and every one pinned from now until `stop`. A sweep reads which files the
   * jobs need while acceptances go on (the read waits on the database): a file pinned during the read
   * may have had its job_references row written, and its pin dropped, after the read. Such files are
   * kept until the next sweep, which sees their rows.
   */
  watchPins(): { readonly pinned: ReadonlySet<string>; stop(): void } {
    const pinned = new Set(this.pinned.keys());
    this.pinWatchers.add(pinned);
    return { pinned, stop: () => this.pinWatchers.delete(pinned) };
  }

  unpin(sha: string): void {
    const count = (this.pinned.get(sha) ?? 0) - 1;
    if (count > 0) this.pinned.set(sha, count);
    else this.pinned.delete(sha);
  }

  has(sha: string): boolean {
    return this.read(sha) !== null;
  }

  /** The stored bytes, or null when absent, too large or not what their name says (a damaged file is deleted). */
  read(sha: string): Uint8Array | null {
    if (!sha256Schema.safeParse(sha).success) return null;
    const path = join(this.dir, sha);
    if (!existsSync(path) || this.sizeOf(sha) > this.maxFileBytes) return null;
    const bytes = new Uint8Array(readFileSync(path));
    if (sha256Of(bytes) !== sha) {
      rmSync(path, { force: true });
      return null;
    }
    return bytes;
  }

  /** Delete every file not in `keep` and not pinned (and stray temporary files); returns the deleted hashes. */
  sweep(keep: ReadonlySet<string>): string[] {
    const deleted: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) {
        // A write interrupted by a crash; live writes are synchronous, so none is in progress now.
        rmSync(join(this.dir, name), { force: true });
        continue;
      }
      if (keep.has(name) || this.pinned.has(name)) continue;
      rmSync(join(this.dir, name), { force: true });
      deleted.push(name);
    }
    return deleted;
  }

  private names(): string[] {
    return readdirSync(this.dir).filter((name) => sha256Schema.safeParse(name).success);
  }

  private sizeOf(name: string): number {
    try {
      return statSync(join(this.dir, name)).size;
    } catch {
      return 0;
    }
  }
}
