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

  /** A fresh signed URL for a succeeded task's only output. */
  urlFor(taskId: string): string {
    const expires = this.clock.now() + this.settings.ttlMs;
    return `${this.links.baseUrl()}/outputs/${taskId}/0.png?expires=${expires}&sig=${this.links.sign(`${taskId}/0:${expires}`)}`;
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
    if (!task || task.deleted || task.status !== 'SUCCEEDED' || index !== '0') return sendText(res, 404, 'NoSuchKey');
    const png = this.pictureOf(task);
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  }

  /** The PNG a task produces (or will), byte for byte: what tests compare deliveries with. */
  pictureOf(task: { readonly id: string; readonly ratio: string; readonly promptText: string; readonly seed: number }): Buffer {
    let png = this.pictures.get(task.id);
    if (!png) {
      const { width, height } = outputSize(task.ratio, this.settings.scale);
      png = renderPicture(task.promptText, task.seed, width, height);
      this.pictures.set(task.id, png);
    }
    return png;
  }
}
