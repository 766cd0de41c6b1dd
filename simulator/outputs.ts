/**
 * Finished tasks' PNGs behind signed, expiring URLs, like Runway's output links: a URL works until
 * its `expires` and only with the signature the simulator gave it.
 */
import { timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Clock } from '../src/clock.ts';
import { sendText } from './http.ts';
import type { Links } from './links.ts';
import { outputSize, renderPicture } from './picture.ts';
import type { TaskBook } from './tasks.ts';
import { sizeOf } from '../src/models.ts';

/** The size a model "picks" for `auto` (square), `auto_1k` and `auto_2k` (square at that tier). */
function concreteRatio(ratio: string): string {
  if (sizeOf(ratio)) return ratio;
  return ratio === 'auto_2k' ? '2048:2048' : '1024:1024';
}

export interface OutputSettings {
  /** How long a URL works after the task was read. */
  readonly ttlMs: number;
  /** Output PNG size = ratio size × scale. */
  readonly scale: number;
}

export class OutputStore {
  /** Rendering is the slow part; a task's picture never changes, so it is drawn once. */
  private readonly pictures = new Map<string, Buffer>();

  constructor(
    private readonly book: TaskBook,
    private readonly links: Links,
    private readonly clock: Clock,
    private readonly settings: OutputSettings,
  ) {}

  /** A fresh signed URL for one of a succeeded task's outputs (`index` from 0 to its outputCount - 1). */
  urlFor(taskId: string, index = 0): string {
    const expires = this.clock.now() + this.settings.ttlMs;
    return `${this.links.baseUrl()}/outputs/${taskId}/${index}.png?expires=${expires}&sig=${this.links.sign(`${taskId}/${index}:${expires}`)}`;
  }

  /** `GET /outputs/:task/:index.png`: the PNG, if the signature matches and has not expired. */
  serve(path: string, search: URLSearchParams, res: ServerResponse): void {
    const match = /^\/outputs\/([^/]+)\/(\d+)\.png$/.exec(path);
    const expires = Number(search.get('expires'));
    const sig = search.get('sig') ?? '';
    if (!match) return sendText(res, 404, 'NoSuchKey');
    const [, taskId = '', index = ''] = match;
    const expected = Buffer.from(this.links.sign(`${taskId}/${index}:${search.get('expires') ?? ''}`));
    const given = Buffer.from(sig);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return sendText(res, 403, 'SignatureDoesNotMatch');
    if (!Number.isFinite(expires) || this.clock.now() >= expires) return sendText(res, 403, 'Request has expired');
    const task = this.book.view(taskId, this.clock.now());
    const output = Number(index);
    if (!task || task.deleted || task.status !== 'SUCCEEDED' || String(output) !== index || output >= task.outputCount) return sendText(res, 404, 'NoSuchKey');
    const png = this.pictureOf(task, output);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  }

  /** Set a task's output picture ahead of time (an upscale's output is its input, enlarged). */
  put(taskId: string, index: number, png: Buffer): void {
    this.pictures.set(`${taskId}/${index}`, png);
  }

  /**
   * The PNG a task's output `index` is (or will be), byte for byte: what tests compare deliveries
   * with. Each output of a task is its own picture (its seed moved by the index).
   */
  pictureOf(task: { readonly id: string; readonly ratio: string; readonly promptText: string; readonly seed: number }, index = 0): Buffer {
    const key = `${task.id}/${index}`;
    let png = this.pictures.get(key);
    if (!png) {
      const { width, height } = outputSize(concreteRatio(task.ratio), this.settings.scale);
      png = renderPicture(task.promptText, (task.seed + index) % 2 ** 32, width, height);
      this.pictures.set(key, png);
    }
    return png;
  }
}
