import { z } from 'zod';

/** The states of a job: its row in `jobs` is the state machine (design §3). */
export const JOB_STATES = [
  'queued', // accepted with its credits held; references being checked and uploaded
  'reserved', // ready: credits held, references uploaded; waiting in the local fair queue for a Runway slot
  'submitting', // the create call is in flight: a crash here is ambiguous
  'submitted', // Runway has a task id
  'running', // Runway reported progress
  'succeeded', // Runway finished and the cost is settled; the image is not yet in the chat
  'delivered', // the image is in the chat
  'rejected', // refused before reaching Runway; whatever was held is refunded
  'failed', // Runway or delivery failed; the reservation is refunded
  'cancelled', // cancelled; refunded
] as const;

export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['delivered', 'rejected', 'failed', 'cancelled']);

/** The validated request as stored with the job, read back through zod (files on disk are a boundary too). */
export const storedRequestSchema = z.object({
  prompt: z.string(),
  modelId: z.string(),
  ratio: z.string(),
  seed: z.number().int().nullable(),
  tags: z.array(z.string()),
  /** Images in one task (Runway's `outputCount`); absent (every request before it existed) means one. */
  count: z.number().int().min(2).max(100).optional(),
  /** Set on an Upscale of a result (src/actions/upscale.ts): the job then calls image_upscale, not text_to_image. */
  upscale: z.object({ scaleFactor: z.union([z.literal(2), z.literal(4)]), sourceJobId: z.string().min(1) }).optional(),
});
export type StoredRequest = z.infer<typeof storedRequestSchema>;

export const referenceUrisSchema = z.array(z.object({ uri: z.string().startsWith('runway://'), tag: z.string() }));
export type ReferenceUri = z.infer<typeof referenceUrisSchema>[number];


/** Who asked and where the answer goes: the parts of a job fixed when it is accepted. */
export interface NewJob {
  readonly platform: string;
  readonly communityId: string;
  readonly userId: string;
  readonly userName: string;
  readonly placeholder: string;
  readonly request: StoredRequest;
}

interface JobBase extends NewJob {
  readonly id: string;
  readonly referenceUris: readonly ReferenceUri[] | null;
  readonly createdAt: number;
  readonly reservedAt: number | null;
  /** When the job is next looked at: a submit after a 429, the next poll, a delivery retry. */
  readonly runAt: number | null;
  /** The instance working the job, and until when (renewed while it runs). */
  readonly lockedBy: string | null;
  readonly lockedUntil: number | null;
  /** Consecutive failed tries in the current state: deferred creates, failed polls, failed deliveries. */
  readonly attempts: number;
  /** Consecutive poll answers that did not parse. */
  readonly malformedPolls: number;
  /** When a poll last found the task unfinished. */
  readonly lastUnfinishedAt: number | null;
  readonly deliveryCheckpoint: string | null;
  /** Where the delivered result was posted, as the platform gave it; null before delivery or when it gave none. */
  readonly resultLink: string | null;
  readonly deliveredAt: number | null;
}

/** Null only for a job accepted before holds moved to acceptance (a database from migration 1). */
type Queued = JobBase & { readonly state: 'queued'; readonly reservedCredits: number | null };
type Holding<S> = JobBase & { readonly state: S; readonly reservedCredits: number };
type AtRunway<S> = JobBase & {
  readonly state: S;
  readonly taskId: string;
  readonly submittedAt: number;
  /** Runway's last progress figure, and when it was read (null until a RUNNING answer carried one). */
  readonly progress: number | null;
  readonly progressAt: number | null;
};
type Finished<S> = JobBase & { readonly state: S; readonly taskId: string; readonly submittedAt: number; readonly costCredits: number };
type Ended<S> = JobBase & { readonly state: S; readonly failureCode: string | null; readonly failureMessage: string | null };

/** A job, with the fields each state guarantees: a `taskId` cannot be read where none exists. */
export type Job =
  | Queued
  | Holding<'reserved'>
  | Holding<'submitting'>
  | AtRunway<'submitted'>
  | AtRunway<'running'>
  | Finished<'succeeded'>
  | Finished<'delivered'>
  | Ended<'rejected'>
  | Ended<'failed'>
  | Ended<'cancelled'>;

/** A job known to be in one of the states S. */
export type JobIn<S extends JobState> = Extract<Job, { state: S }>;

/** The raw row, as better-sqlite3 returns it. */
export const jobRowSchema = z.object({
  id: z.string(),
  platform: z.string(),
  community_id: z.string(),
  user_id: z.string(),
  user_name: z.string(),
  placeholder: z.string(),
  request: z.string(),
  model: z.string(),
  state: z.enum(JOB_STATES),
  reference_uris: z.string().nullable(),
  reserved_credits: z.number().nullable(),
  task_id: z.string().nullable(),
  estimated_credits: z.number().nullable(),
  cost_credits: z.number().nullable(),
  progress: z.number().nullable(),
  progress_at: z.number().nullable(),
  failure_code: z.string().nullable(),
  failure_message: z.string().nullable(),
  delivery_checkpoint: z.string().nullable(),
  run_at: z.number().nullable(),
  locked_by: z.string().nullable(),
  locked_until: z.number().nullable(),
  attempts: z.number(),
  malformed_polls: z.number(),
  last_unfinished_at: z.number().nullable(),
  moderated: z.number(),
  created_at: z.number(),
  reserved_at: z.number().nullable(),
  submitted_at: z.number().nullable(),
  finished_at: z.number().nullable(),
  delivered_at: z.number().nullable(),
  updated_at: z.number(),
  /** Migration 3: where the delivered result was posted (a message link), for /history. */
  result_link: z.string().nullable().default(null),
});
export type JobRow = z.infer<typeof jobRowSchema>;

/** Turn a row into the typed job for its state; a row that breaks its state's invariants throws. */
export function jobFromRow(raw: unknown): Job {
  const row = jobRowSchema.parse(raw);
  const base: JobBase = {
    id: row.id,
    platform: row.platform,
    communityId: row.community_id,
    userId: row.user_id,
    userName: row.user_name,
    placeholder: row.placeholder,
    request: storedRequestSchema.parse(JSON.parse(row.request)),
    referenceUris: row.reference_uris === null ? null : referenceUrisSchema.parse(JSON.parse(row.reference_uris)),
    createdAt: row.created_at,
    reservedAt: row.reserved_at,
    runAt: row.run_at,
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    attempts: row.attempts,
    malformedPolls: row.malformed_polls,
    lastUnfinishedAt: row.last_unfinished_at,
    deliveryCheckpoint: row.delivery_checkpoint,
    resultLink: row.result_link,
    deliveredAt: row.delivered_at,
  };
  const need = <T>(value: T | null, field: string): T => {
    if (value === null) throw new Error(`job ${row.id} in state ${row.state} has no ${field}`);
    return value;
  };
  switch (row.state) {
    case 'queued':
      return { ...base, state: row.state, reservedCredits: row.reserved_credits };
    case 'reserved':
    case 'submitting':
      return { ...base, state: row.state, reservedCredits: need(row.reserved_credits, 'reserved_credits') };
    case 'submitted':
    case 'running':
      return {
        ...base,
        state: row.state,
        taskId: need(row.task_id, 'task_id'),
        submittedAt: need(row.submitted_at, 'submitted_at'),
        progress: row.progress,
        progressAt: row.progress_at,
      };
    case 'succeeded':
    case 'delivered':
      return {
        ...base,
        state: row.state,
        taskId: need(row.task_id, 'task_id'),
        submittedAt: need(row.submitted_at, 'submitted_at'),
        costCredits: need(row.cost_credits, 'cost_credits'),
      };
    case 'rejected':
    case 'failed':
    case 'cancelled':
      // A rejection's reason is shown to the user too (recovery tells it after a restart).
      return { ...base, state: row.state, failureCode: row.failure_code, failureMessage: row.failure_message };
    default: {
      const unreachable: never = row.state;
      throw new Error(`unknown state ${String(unreachable)}`);
    }
  }
}
