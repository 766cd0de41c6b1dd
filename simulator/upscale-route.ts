/**
 * `POST /v1/image_upscale` as Runway answers it (the pinned SDK's `ImageUpscaleCreateParams`): the
 * model `magnific_precision_upscaler_v2`, an `imageUri` (here a live `runway://` upload or a base64
 * `data:` URI of at most 5 MB), `scaleFactor` 2, 4, 8 or 16 (default 2), an optional `flavor` and
 * `sharpen`/`smartGrain`/`ultraDetail` from 0 to 100; each input side 300–8,000 px and the output
 * at most 25,300,000 pixels. A bad body gets Runway's 400 `{ error, issues }`. The task's output is
 * the input enlarged by the factor, a real PNG of that size.
 * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1image_upscale/post
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import sharp from 'sharp';
import { z } from 'zod';
import type { Clock } from '../src/clock.ts';
import { imageDimensions } from '../src/media/sniff.ts';
import { sendJson } from './http.ts';
import type { Organization } from './organization.ts';
import type { OutputStore } from './outputs.ts';
import type { TaskBook, TaskRecord } from './tasks.ts';
import type { UploadStore } from './uploads.ts';

export const UPSCALER = 'magnific_precision_upscaler_v2';
const MIN_SIDE = 300;
const MAX_SIDE = 8_000;
const MAX_OUTPUT_PIXELS = 25_300_000;
const MAX_DATA_URI_BYTES = 5 * 1024 * 1024;

const level = z.number().min(0).max(100).optional();
const bodySchema = z.strictObject({
  imageUri: z.string().min(1),
  model: z.literal(UPSCALER),
  flavor: z.enum(['sublime', 'photo', 'photo_denoiser']).optional(),
  scaleFactor: z.union([z.literal(2), z.literal(4), z.literal(8), z.literal(16)]).optional(),
  sharpen: level,
  smartGrain: level,
  ultraDetail: level,
});

/** What the simulator bills an upscale: 2 credits per factor step (×2: 4, ×4: 8). */
export function upscaleCost(scaleFactor: number): number {
  return 2 * scaleFactor;
}

const invalid = (res: ServerResponse, path: (string | number)[], message: string): void =>
  sendJson(res, 400, { error: 'Validation of body failed', issues: [{ path, message }] });

export class UpscaleRoute {
  constructor(
    private readonly clock: Clock,
    private readonly book: TaskBook,
    private readonly uploads: UploadStore,
    private readonly organization: Organization,
    private readonly outputs: OutputStore,
  ) {}

  async create(body: unknown, res: ServerResponse): Promise<void> {
    const parsed = bodySchema.safeParse(body);
    if (!parsed.success) {
      return void sendJson(res, 400, { error: 'Validation of body failed', issues: parsed.error.issues.map((i) => ({ path: i.path, message: i.message })) });
    }
    const request = parsed.data;
    const factor = request.scaleFactor ?? 2;
    const input = this.inputBytes(request.imageUri);
    if (!input) return invalid(res, ['imageUri'], 'imageUri must be a live runway:// upload or a base64 data URI of an image (up to 5MB)');
    const size = imageDimensions(input);
    if (!size) return invalid(res, ['imageUri'], 'imageUri is not a readable image');
    if (size.width < MIN_SIDE || size.height < MIN_SIDE || size.width > MAX_SIDE || size.height > MAX_SIDE) {
      return invalid(res, ['imageUri'], `Each input dimension must be between ${MIN_SIDE}px and ${MAX_SIDE}px (got ${size.width}x${size.height})`);
    }
    const width = size.width * factor;
    const height = size.height * factor;
    if (width * height > MAX_OUTPUT_PIXELS) {
      return invalid(res, ['scaleFactor'], `Output width times height cannot exceed ${MAX_OUTPUT_PIXELS} pixels (${width}x${height})`);
    }
    const costCredits = upscaleCost(factor);
    if (this.organization.wouldOverspend(costCredits)) return void sendJson(res, 400, { error: 'You do not have enough credits to run this task.' });
    // The output is drawn before the task exists, so it is there the moment the task succeeds.
    const png = await sharp(input).resize(width, height, { kernel: 'nearest', fit: 'fill' }).png({ compressionLevel: 1 }).toBuffer();
    const task: TaskRecord = {
      id: randomUUID(),
      model: UPSCALER,
      promptText: '',
      ratio: `${width}:${height}`,
      seed: 0,
      referenceImages: [{ uri: request.imageUri.startsWith('data:') ? 'data:…' : request.imageUri }],
      outputCount: 1,
      createdAtMs: this.clock.now(),
      costCredits,
      outcome: { kind: 'succeed' },
      deleted: false,
    };
    this.outputs.put(task.id, 0, png);
    this.book.add(task);
    sendJson(res, 200, { id: task.id, estimatedCost: { credits: costCredits } });
  }

  private inputBytes(uri: string): Buffer | undefined {
    if (uri.startsWith('runway://')) return this.uploads.bytesOf(uri);
    const data = /^data:image\/(?:png|jpeg|webp);base64,([A-Za-z0-9+/=]+)$/.exec(uri);
    if (!data?.[1]) return undefined;
    const bytes = Buffer.from(data[1], 'base64');
    return bytes.length <= MAX_DATA_URI_BYTES ? bytes : undefined;
  }
}
