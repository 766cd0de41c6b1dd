/**
 * Runway's task endpoints: `POST /v1/text_to_image` makes a task (after the account's limits and
 * any failure a test queued), `GET /v1/tasks/:id` reports it and `DELETE` cancels or deletes it.
 * A create is validated per model from the catalogue (validate.ts) and refused with Runway's 400
 * body, `{ error, issues }`, which the SDK hands over as `APIError.error`; `estimatedCost` and the
 * finished task's `cost` are the catalogue's estimate times `outputCount`, and a finished task has
 * `outputCount` outputs.
 * https://docs.dev.runwayml.com/api/#tag/Start-generating/paths/~1v1~1text_to_image/post
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../src/clock.ts';
import { sendFailure, sendJson } from './http.ts';
import type { Organization } from './organization.ts';
import type { OutputStore } from './outputs.ts';
import { billedCredits, outcomeForPrompt, type SimTask, type TaskBook, type TaskOutcome, type TaskRecord } from './tasks.ts';
import type { UploadStore } from './uploads.ts';
import { validateTextToImage } from './validate.ts';

export type CreateFailure =
  | { status: 429 | 400 | 500 | 503; retryAfterMs?: number }
  /** Close the socket with no answer; `afterCreate` makes the task first (the dangerous case for retries). */
  | { dropConnection: true; afterCreate?: boolean };

export type PollFailure = { status: 429 | 500 | 503; retryAfterMs?: number };

const SIM_RETRY_AFTER_MS = 50;

export class TaskRoutes {
  private readonly createFailures: CreateFailure[] = [];
  private readonly pollFailures: PollFailure[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly book: TaskBook,
    private readonly uploads: UploadStore,
    private readonly organization: Organization,
    private readonly outputs: OutputStore,
  ) {}

  /** Queue a failure for the next create call (consumed in order). */
  failNextCreate(failure: CreateFailure): void {
    this.createFailures.push(failure);
  }

  /** Queue a failure for the next poll (consumed in order). */
  failNextPoll(failure: PollFailure): void {
    this.pollFailures.push(failure);
  }

  /** `POST /v1/text_to_image`. */
  create(body: unknown, req: IncomingMessage, res: ServerResponse): void {
    const injected = this.createFailures.shift();
    if (injected && !('dropConnection' in injected)) return sendFailure(res, injected.status, injected.retryAfterMs);
    if (injected && !injected.afterCreate) return void req.socket.destroy();
    // Past this point an injected failure is a drop *after* the task exists: the answer is lost.
    const dropAfterCreate = injected !== undefined;
    const result = validateTextToImage(body, (uri) => this.uploads.isKnown(uri));
    if (!result.ok) return sendJson(res, 400, { error: result.error, issues: result.issues });
    const { request } = result;
    if (request.promptText.includes('sim:429')) return sendFailure(res, 429, SIM_RETRY_AFTER_MS);
    if (request.promptText.includes('sim:500')) return sendFailure(res, 500);
    const nowMs = this.clock.now();
    if (this.organization.dailyLimitReached(request.model.id, nowMs)) {
      // Retrying the same day cannot succeed, so tell the SDK not to.
      res.setHeader('x-should-retry', 'false');
      return sendJson(res, 429, { error: `You have reached the daily generation limit for ${request.model.id}.` });
    }
    // Each of the `outputCount` images costs the same: per-reference surcharges are per generated image too.
    const costCredits = this.organization.costOf(request.model.id, request.ratio, request.referenceImages.length) * request.outputCount;
    if (this.organization.wouldOverspend(costCredits)) {
      return sendJson(res, 400, { error: 'You do not have enough credits to run this task.' });
    }
    const hasBadAsset = request.referenceImages.some((r) => !this.uploads.isImage(r.uri));
    const outcome: TaskOutcome = hasBadAsset
      ? { kind: 'fail', failureCode: 'ASSET.INVALID', failure: 'A reference image could not be read as an image.', when: 'start' }
      : outcomeForPrompt(request.promptText);
    const task: TaskRecord = {
      id: randomUUID(),
      model: request.model.id,
      promptText: request.promptText,
      ratio: request.ratio,
      seed: request.seed ?? randomInt(0, 2 ** 32 - 1),
      referenceImages: request.referenceImages.map((r) => ({ ...r })),
      outputCount: request.outputCount,
      createdAtMs: nowMs,
      costCredits,
      outcome,
      deleted: false,
    };
    this.book.add(task);
    if (dropAfterCreate) return void req.socket.destroy();
    sendJson(res, 200, { id: task.id, estimatedCost: { credits: costCredits } });
  }

  /** `GET /v1/tasks/:id` (after any queued poll failure) and `DELETE /v1/tasks/:id`. */
  handle(method: 'GET' | 'DELETE', id: string, res: ServerResponse): void {
    if (method === 'GET') {
      const failure = this.pollFailures.shift();
      if (failure) return sendFailure(res, failure.status, failure.retryAfterMs);
    }
    const stored = this.book.get(id);
    const view = this.book.view(id, this.clock.now());
    if (!stored || !view || stored.deleted) return sendJson(res, 404, { error: 'Task not found' });
    if (method === 'GET') return sendJson(res, 200, this.taskBody(view));
    // DELETE cancels a task in flight and deletes a finished one; either way it is gone for the API.
    if (view.status === 'PENDING' || view.status === 'THROTTLED' || view.status === 'RUNNING') this.book.cancel(id, this.clock.now());
    stored.deleted = true;
    res.writeHead(204).end();
  }

  /** The task as Runway's API shows it: only the fields its status has. */
  private taskBody(task: SimTask): Record<string, unknown> {
    const base = { id: task.id, createdAt: new Date(task.createdAtMs).toISOString(), status: task.status };
    switch (task.status) {
      case 'PENDING':
      case 'THROTTLED':
        return { ...base, estimatedCost: { credits: task.costCredits } };
      case 'RUNNING':
        return { ...base, estimatedCost: { credits: task.costCredits }, progress: task.progress ?? 0 };
      case 'SUCCEEDED':
        return { ...base, output: Array.from({ length: task.outputCount }, (_, index) => this.outputs.urlFor(task.id, index)), cost: { credits: task.costCredits } };
      case 'FAILED':
        return { ...base, failure: task.failure, failureCode: task.failureCode, cost: { credits: billedCredits(task) } };
      case 'CANCELLED':
        return { ...base, cost: { credits: billedCredits(task) } };
      default: {
        const never: never = task.status;
        throw new Error(`unknown status ${String(never)}`);
      }
    }
  }
}
