import RunwayML, { APIConnectionError, APIConnectionTimeoutError, APIError, toFile } from '@runwayml/sdk';
import type { Clock } from '../clock.ts';
import { BotError, type Failure } from '../errors.ts';
import { textToImageBody, type TextToImageParams } from './create-body.ts';
import { parseOrganization, type OrganizationRead } from './organization.ts';
import { createResponseSchema, runwayTaskSchema, type RunwayTask } from './task-schema.ts';

/** `runway.upload_failed`: a reference could not be uploaded; nothing is reserved before uploads. */
export const UPLOAD_FAILED: Failure = {
  code: 'runway.upload_failed',
  userMessage: 'Your reference image could not be sent to Runway just now. Nothing was charged; please try again in a moment.',
};

export type { TextToImageParams } from './create-body.ts';

/** Runway's one image upscaler (`imageUpscale.create`). */
export const UPSCALE_MODEL = 'magnific_precision_upscaler_v2' as const;

/** What to send for an upscale: the image (a `runway://` upload) and the factor the bot offers. */
export interface UpscaleParams {
  readonly imageUri: string;
  readonly scaleFactor: 2 | 4;
}

/**
 * The outcome of a create. Runway's create is not idempotent (no idempotency key), so a create
 * that might have reached Runway is `ambiguous` and must never be retried automatically.
 */
export type CreateOutcome =
  | { readonly kind: 'created'; readonly taskId: string; readonly estimatedCredits: number | null }
  | { readonly kind: 'rate_limited'; readonly retryAfterMs: number }
  | { readonly kind: 'unreachable'; readonly retryAfterMs: number }
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string }
  | { readonly kind: 'ambiguous'; readonly message: string };

/** Which Runway endpoint a call went to, for the call counter (src/service/metrics.ts). */
export type RunwayCallKind = 'upload' | 'create' | 'poll' | 'organization';

/** How a call ended: answered (`ok`), refused (429, other 4xx), failed on Runway's side (5xx) or never answered (`network`). */
export type RunwayCallOutcome = 'ok' | '429' | '4xx' | '5xx' | 'network';

/** Told after every call to Runway; must not throw (a metrics mistake must never fail a create). */
export type RunwayCallObserver = (call: { readonly kind: RunwayCallKind; readonly outcome: RunwayCallOutcome }) => void;

export type PollOutcome =
  | { readonly kind: 'task'; readonly task: RunwayTask }
  | { readonly kind: 'retry_later'; readonly retryAfterMs: number | null; readonly message: string }
  /** Runway answered, but not with a task we understand: retrying a little may help, forever will not. */
  | { readonly kind: 'malformed'; readonly message: string }
  | { readonly kind: 'not_found' };

/**
 * The one gateway to Runway. Wraps @runwayml/sdk, turns its errors into outcomes the job runner
 * can act on, and parses every response with zod. Never uses `waitForTaskOutput`: polling is the
 * scheduler's job (one loop for all tasks, durable across restarts). Every call takes an optional
 * `AbortSignal`, handed to the SDK, so a caller can give up on a request in flight.
 */
export class RunwayGateway {
  /** `clock` turns a Retry-After date into a delay; `onCall` hears how each call ended (metrics, readiness). */
  constructor(
    private readonly client: RunwayML,
    private readonly clock: Clock,
    private readonly onCall?: RunwayCallObserver,
  ) {}

  /** Run one SDK call and tell `onCall` how it ended, without changing what it returns or throws. */
  private async observed<T>(kind: RunwayCallKind, call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.report(kind, 'ok');
      return result;
    } catch (error) {
      this.report(kind, callOutcome(error));
      throw error;
    }
  }

  private report(kind: RunwayCallKind, outcome: RunwayCallOutcome): void {
    try {
      this.onCall?.({ kind, outcome });
    } catch {
      // An observer's bug must not turn a task Runway created into an error we would refund.
    }
  }

  /**
   * Upload a reference image; returns its `runway://` URI (valid 24 h).
   * https://docs.dev.runwayml.com/api/#tag/Uploads
   */
  async uploadReference(bytes: Uint8Array, filename: string, contentType: string, signal?: AbortSignal): Promise<string> {
    try {
      const file = await toFile(Buffer.from(bytes), filename, { type: contentType });
      const { uri } = await this.observed('upload', () => this.client.uploads.createEphemeral({ file }, { signal }));
      if (!uri.startsWith('runway://')) throw new Error('upload did not return a runway:// URI');
      return uri;
    } catch (error) {
      throw new BotError(UPLOAD_FAILED, { cause: error, logMessage: `runway upload failed: ${describe(error)}` });
    }
  }

  /**
   * Create a text-to-image task, exactly once: `maxRetries: 0`, we decide about retries. The body
   * follows the model's catalogue entry (src/runway/create-body.ts); one the entry forbids is never
   * sent and comes back `rejected`, so the job fails at no cost.
   * https://docs.dev.runwayml.com/api/#tag/Start-generations/paths/~1v1~1text_to_image/post
   */
  async createTextToImage(params: TextToImageParams, signal?: AbortSignal): Promise<CreateOutcome> {
    const built = textToImageBody(params);
    if (!built.ok) return { kind: 'rejected', status: 400, message: built.problem };
    try {
      const raw: unknown = await this.observed('create', () => this.client.textToImage.create(built.body, { maxRetries: 0, signal }));
      const created = createResponseSchema.parse(raw);
      return { kind: 'created', taskId: created.id, estimatedCredits: created.estimatedCost?.credits ?? null };
    } catch (error) {
      return classifyCreateError(error, this.clock.now());
    }
  }

  /**
   * Create an upscale task (Magnific precision upscaler), exactly once, like createTextToImage.
   * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1image_upscale/post
   */
  async createUpscale(params: UpscaleParams, signal?: AbortSignal): Promise<CreateOutcome> {
    try {
      const body = { model: UPSCALE_MODEL, imageUri: params.imageUri, scaleFactor: params.scaleFactor };
      const raw: unknown = await this.observed('create', () => this.client.imageUpscale.create(body, { maxRetries: 0, signal }));
      const created = createResponseSchema.parse(raw);
      return { kind: 'created', taskId: created.id, estimatedCredits: created.estimatedCost?.credits ?? null };
    } catch (error) {
      return classifyCreateError(error, this.clock.now());
    }
  }

  /**
   * Cancel a task in flight (`DELETE /v1/tasks/{id}`; on a finished task it deletes it). Runway then
   * no longer serves the task. `not_found`: Runway no longer knows it (already cancelled or deleted).
   * https://docs.dev.runwayml.com/api/#tag/Task-management/paths/~1v1~1tasks~1%7Bid%7D/delete
   */
  async cancelTask(taskId: string, signal?: AbortSignal): Promise<'cancelled' | 'not_found' | { readonly failed: string }> {
    try {
      await this.observed('poll', () => this.client.tasks.delete(taskId, { maxRetries: 1, signal }));
      return 'cancelled';
    } catch (error) {
      if (error instanceof APIError && error.status === 404) return 'not_found';
      return { failed: describe(error) };
    }
  }

  /**
   * Read a task once. Transient failures come back as `retry_later`, honouring Retry-After.
   * https://docs.dev.runwayml.com/api/#tag/Task-management/paths/~1v1~1tasks~1%7Bid%7D/get
   */
  async getTask(taskId: string, signal?: AbortSignal): Promise<PollOutcome> {
    let raw: unknown;
    try {
      raw = await this.observed('poll', () => this.client.tasks.retrieve(taskId, { maxRetries: 0, signal }));
    } catch (error) {
      if (error instanceof APIError && error.status === 404) return { kind: 'not_found' };
      return { kind: 'retry_later', retryAfterMs: error instanceof APIError ? retryAfterMs(error.headers, this.clock.now()) : null, message: describe(error) };
    }
    const parsed = runwayTaskSchema.safeParse(raw);
    if (parsed.success) return { kind: 'task', task: parsed.data };
    // Paths and zod's messages only: the values may hold signed output URLs.
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    return { kind: 'malformed', message: `unexpected task answer: ${issues.join('; ')}`.slice(0, 300) };
  }

  /**
   * Read the organisation once: balance, per-model limits, today's usage. Failures come back as
   * `{ ok: false }` with a loggable message (never a throw), and the caller keeps what it had.
   * https://docs.dev.runwayml.com/api/#tag/Organization/paths/~1v1~1organization/get
   */
  async organization(signal?: AbortSignal): Promise<OrganizationRead> {
    // Taken before the request: a job started while it is in flight then counts on our side too, which errs on the safe side.
    const readAtMs = this.clock.now();
    let raw: unknown;
    try {
      raw = await this.observed('organization', () => this.client.organization.retrieve({ maxRetries: 1, signal }));
    } catch (error) {
      return { ok: false, message: `could not read the organisation: ${describe(error)}` };
    }
    return parseOrganization(raw, readAtMs);
  }
}

function classifyCreateError(error: unknown, nowMs: number): CreateOutcome {
  // A timeout may have reached Runway: ambiguous. Checked before its parent class.
  if (error instanceof APIConnectionTimeoutError) return { kind: 'ambiguous', message: describe(error) };
  if (error instanceof APIConnectionError) {
    // Refused or unresolvable: the request never left us, so no task exists.
    return isNeverSent(error) ? { kind: 'unreachable', retryAfterMs: 5_000 } : { kind: 'ambiguous', message: describe(error) };
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    if (error.status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfterMs(error.headers, nowMs) ?? 5_000 };
    if (error.status >= 400 && error.status < 500) return { kind: 'rejected', status: error.status, message: describe(error) };
    return { kind: 'ambiguous', message: describe(error) };
  }
  return { kind: 'ambiguous', message: describe(error) };
}

/** An SDK error's outcome: an HTTP status names it; anything else (refused, reset, timed out, aborted) got no answer. */
function callOutcome(error: unknown): RunwayCallOutcome {
  if (!(error instanceof APIError) || typeof error.status !== 'number') return 'network';
  if (error.status === 429) return '429';
  if (error.status >= 500) return '5xx';
  return error.status >= 400 ? '4xx' : 'network';
}

function isNeverSent(error: APIConnectionError): boolean {
  const codes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return true;
  }
  return false;
}

/** Runway (like the SDK) sends `retry-after-ms` or `retry-after` in seconds or as a date, which is measured from `nowMs`. */
export function retryAfterMs(headers: Headers | undefined, nowMs: number): number | null {
  if (!headers) return null;
  const ms = Number(headers.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const after = headers.get('retry-after');
  if (after === null) return null;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

function describe(error: unknown): string {
  if (error instanceof APIError) return `${error.status ?? 'connection'}: ${error.message}`.slice(0, 300);
  return error instanceof Error ? error.message.slice(0, 300) : String(error);
}
