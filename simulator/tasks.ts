/**
 * The simulator's tasks and their life: PENDING → THROTTLED (over the model's concurrency, FIFO) →
 * RUNNING (progress grows linearly) → SUCCEEDED | FAILED | CANCELLED. Nothing runs on a timer: a
 * task's state is computed from the clock whenever it is read, so an injected clock drives it all.
 */

export type TaskStatus = 'PENDING' | 'THROTTLED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** What a task was destined to do, decided at create time (prompt keywords, bad assets). */
export type TaskOutcome =
  | { kind: 'succeed' }
  | { kind: 'fail'; failureCode: string; failure: string; when: 'start' | 'end' }
  | { kind: 'cancel' };

export interface TaskRecord {
  readonly id: string;
  readonly model: string;
  readonly promptText: string;
  readonly ratio: string;
  /** The seed used; Runway picks one at random when the request has none. */
  readonly seed: number;
  readonly referenceImages: readonly { uri: string; tag?: string | undefined; subject?: 'human' | 'object' | undefined }[];
  /** How many images the task makes (the request's `outputCount`, else 1). */
  readonly outputCount: number;
  readonly createdAtMs: number;
  readonly costCredits: number;
  readonly outcome: TaskOutcome;
  /** When a DELETE cancelled the task while it was still in flight. */
  cancelledAtMs?: number;
  /** A deleted task answers 404, as Runway's are "not able to be fetched again". */
  deleted: boolean;
}

/** A task as tests see it: its record plus its state at the moment of the call. */
export interface SimTask extends TaskRecord {
  readonly status: TaskStatus;
  /** 0..1 while RUNNING. */
  readonly progress?: number;
  /** When it began running (or will, for PENDING/THROTTLED tasks whose slot is already known). */
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  readonly failureCode?: string;
  readonly failure?: string;
}

export interface Timing {
  readonly pendingMs: number;
  readonly generationMs: number;
  readonly maxConcurrent: number;
}

interface Slot {
  readonly readyAtMs: number;
  /** Undefined when the task was cancelled before it ever ran. */
  readonly startAtMs: number | undefined;
  readonly endAtMs: number;
  readonly wasCancelled: boolean;
}

/** Keyword → outcome, so the sandbox and tests can demonstrate every failure path. */
export function outcomeForPrompt(promptText: string): TaskOutcome {
  if (promptText.includes('sim:output-safety')) {
    return { kind: 'fail', failureCode: 'SAFETY.OUTPUT.IMAGE', failure: 'The generated image did not pass our content moderation.', when: 'end' };
  }
  if (promptText.includes('sim:safety')) {
    return { kind: 'fail', failureCode: 'SAFETY.INPUT.TEXT', failure: 'Your prompt did not pass our content moderation.', when: 'start' };
  }
  if (promptText.includes('sim:internal')) {
    return { kind: 'fail', failureCode: 'INTERNAL.BAD_OUTPUT.CODE01', failure: 'An unexpected error occurred while generating the output.', when: 'end' };
  }
  if (promptText.includes('sim:cancel')) return { kind: 'cancel' };
  return { kind: 'succeed' };
}

export class TaskBook {
  private readonly tasks = new Map<string, TaskRecord>();
  /** The replayed schedule per model, valid until a task is added or cancelled (replay is O(tasks)). */
  private readonly schedules = new Map<string, Map<string, Slot>>();

  constructor(private readonly timing: Timing) {}

  add(task: TaskRecord): void {
    this.tasks.set(task.id, task);
    this.schedules.delete(task.model);
  }

  /** Cancel a task in flight at `atMs`: its slot frees up for the ones behind it. */
  cancel(id: string, atMs: number): void {
    const task = this.tasks.get(id);
    if (!task) return;
    task.cancelledAtMs = atMs;
    this.schedules.delete(task.model);
  }

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  all(): TaskRecord[] {
    return [...this.tasks.values()];
  }

  /** The task's state at `nowMs`. */
  view(id: string, nowMs: number): SimTask | undefined {
    const task = this.tasks.get(id);
    if (!task) return undefined;
    const slot = this.schedule(task.model).get(id);
    if (!slot) return undefined;
    return describe(task, slot, nowMs, this.timing.generationMs);
  }

  /** Tasks of a model created on the same UTC day as `nowMs` (Runway's daily generations). */
  dailyGenerations(model: string, nowMs: number): number {
    const day = Math.floor(nowMs / 86_400_000);
    return this.all().filter((t) => t.model === model && Math.floor(t.createdAtMs / 86_400_000) === day).length;
  }

  /**
   * Replays the model's tasks in creation order through `maxConcurrent` slots. Pure function of
   * the records, so every read agrees with every earlier one as long as the clock moves forward.
   */
  private schedule(model: string): Map<string, Slot> {
    const cached = this.schedules.get(model);
    if (cached) return cached;
    const replayed = this.replay(model);
    this.schedules.set(model, replayed);
    return replayed;
  }

  private replay(model: string): Map<string, Slot> {
    const { pendingMs, generationMs, maxConcurrent } = this.timing;
    const slotFreeAt: number[] = Array.from({ length: Math.max(1, maxConcurrent) }, () => Number.NEGATIVE_INFINITY);
    const slots = new Map<string, Slot>();
    for (const task of this.tasks.values()) {
      if (task.model !== model) continue;
      const readyAtMs = task.createdAtMs + pendingMs;
      const cancelledAt = task.cancelledAtMs;
      let earliest = 0;
      for (let i = 1; i < slotFreeAt.length; i++) if ((slotFreeAt[i] ?? 0) < (slotFreeAt[earliest] ?? 0)) earliest = i;
      const startAtMs = Math.max(readyAtMs, slotFreeAt[earliest] ?? 0);
      if (cancelledAt !== undefined && cancelledAt < startAtMs) {
        slots.set(task.id, { readyAtMs, startAtMs: undefined, endAtMs: cancelledAt, wasCancelled: true });
        continue;
      }
      const endsAtStart = task.outcome.kind === 'cancel' || (task.outcome.kind === 'fail' && task.outcome.when === 'start');
      let endAtMs = startAtMs + (endsAtStart ? 0 : generationMs);
      let wasCancelled = false;
      if (cancelledAt !== undefined && cancelledAt < endAtMs) {
        endAtMs = cancelledAt;
        wasCancelled = true;
      }
      slotFreeAt[earliest] = endAtMs;
      slots.set(task.id, { readyAtMs, startAtMs, endAtMs, wasCancelled });
    }
    return slots;
  }
}

function describe(task: TaskRecord, slot: Slot, nowMs: number, generationMs: number): SimTask {
  if (slot.startAtMs === undefined) return { ...task, status: 'CANCELLED', finishedAtMs: slot.endAtMs };
  const startedAtMs = slot.startAtMs;
  if (nowMs < slot.readyAtMs) return { ...task, status: 'PENDING', startedAtMs };
  if (nowMs < startedAtMs) return { ...task, status: 'THROTTLED', startedAtMs };
  if (nowMs < slot.endAtMs) {
    const progress = Math.min(0.99, Math.max(0, (nowMs - startedAtMs) / generationMs));
    return { ...task, status: 'RUNNING', progress, startedAtMs };
  }
  const finishedAtMs = slot.endAtMs;
  if (slot.wasCancelled || task.outcome.kind === 'cancel') return { ...task, status: 'CANCELLED', startedAtMs, finishedAtMs };
  if (task.outcome.kind === 'fail') {
    const { failureCode, failure } = task.outcome;
    return { ...task, status: 'FAILED', startedAtMs, finishedAtMs, failureCode, failure };
  }
  return { ...task, status: 'SUCCEEDED', startedAtMs, finishedAtMs };
}

/**
 * What Runway bills for a task: a finished image, and a generation its moderation declined
 * (SAFETY.*, INPUT_PREPROCESSING.SAFETY.*), at full price; any other failure and a cancellation
 * nothing. https://docs.dev.runwayml.com/usage/moderation
 */
export function billedCredits(task: Pick<SimTask, 'status' | 'failureCode' | 'costCredits'>): number {
  if (task.status === 'SUCCEEDED') return task.costCredits;
  const declined = task.failureCode?.startsWith('SAFETY.') === true || task.failureCode?.startsWith('INPUT_PREPROCESSING.SAFETY') === true;
  return task.status === 'FAILED' && declined ? task.costCredits : 0;
}
