/**
 * The contract between the platform-agnostic core and each chat platform (Discord, Slack, the
 * terminal sandbox). Adapters turn platform events into calls on `BotCore` and carry out the
 * core's replies through their `ChatSurface`. Nothing here names a platform.
 */
import type { ResultActionsCore, ResultOffer } from './actions/ports.ts';
import type { ErrorCode, Failure } from './errors.ts';

/** Who asked, and in which community their budget lives. */
export interface Requester {
  /** The adapter that carries this request and will deliver its result: 'discord', 'slack', 'sandbox'. */
  readonly platform: string;
  /** Discord server id, Slack workspace (team) id, or 'sandbox'. */
  readonly communityId: string;
  readonly userId: string;
  readonly displayName: string;
  /** Decided by the adapter from the platform's own permissions, on the server side. */
  readonly isModerator: boolean;
}

/**
 * A reference image attached in the chat. The adapter holds the platform credential and downloads
 * through `src/media/download.ts` (origin allowlist, size cap while streaming, timeouts).
 */
export interface ReferenceSource {
  /** The file name the user gave it, for messages. */
  readonly filename: string;
  /** The platform's claimed size, if known: lets the core refuse a 30 MB file before fetching it. */
  readonly declaredSizeBytes?: number;
  download(limits: { maxBytes: number; signal: AbortSignal }): Promise<Uint8Array>;
}

/** The options of an /imagine as the user typed them: raw, validated by the core. */
export interface ImagineOptionsInput {
  readonly prompt: string;
  readonly model?: string | undefined;
  readonly ratio?: string | undefined;
  /** Raw text or number: the core says why `-1` or `1.5` is not a seed. */
  readonly seed?: string | number | undefined;
  /** The user's names for the references, in attachment order. */
  readonly tags?: readonly string[] | undefined;
  /** Images in one request (Runway's `outputCount`), raw text or number: the core checks it against the model. */
  readonly count?: string | number | undefined;
  readonly references: readonly ReferenceSource[];
}

/** A message the core wants shown. `private` is ephemeral where the platform can do it. */
export interface Reply {
  readonly visibility: 'private' | 'public';
  /** Plain text with `code` spans and simple line breaks: renders on every platform. */
  readonly text: string;
}

/** What a placeholder shows while a job is under way. */
export type JobStatusView =
  | { readonly kind: 'queued'; readonly position: number }
  | { readonly kind: 'starting' }
  | { readonly kind: 'running'; readonly progress: number | null }
  | { readonly kind: 'delivering' };

/** A finished image, downloaded from Runway at once and handed over as bytes. */
export interface OutputFile {
  readonly filename: string;
  readonly contentType: 'image/png' | 'image/jpeg' | 'image/webp';
  readonly bytes: Uint8Array;
}

/** Everything a result message needs. */
export interface Delivery {
  readonly jobId: string;
  readonly requester: Pick<Requester, 'userId' | 'displayName'>;
  readonly files: readonly OutputFile[];
  readonly prompt: string;
  readonly model: string;
  readonly modelLabel: string;
  readonly ratio: string;
  readonly seed: number | null;
  readonly costCredits: number;
  /** One line summarising the settings, ready to show under the image. */
  readonly caption: string;
  /** Actions offered under the result (Upscale, Vary), with their prices; absent: none. */
  readonly offers?: readonly ResultOffer[];
}

/** What a platform knows once a result is posted: a link to the message holding it, if it can tell. */
export interface DeliveryReceipt {
  readonly link: string | null;
}

/** One of a member's past results, for /history; the adapter formats it. */
export interface HistoryEntry {
  readonly jobId: string;
  readonly prompt: string;
  readonly modelId: string;
  readonly modelLabel: string;
  readonly costCredits: number;
  readonly images: number;
  readonly deliveredAt: number;
  readonly link: string | null;
}

/** The answer to /history: the entries, newest first, or a private refusal. */
export type HistoryOutcome = { readonly ok: true; readonly entries: readonly HistoryEntry[] } | { readonly ok: false; readonly code: ErrorCode; readonly reply: Reply };

/**
 * Durable scratch space for an adapter's multi-step delivery (for example Slack's upload, then
 * share): saved in the job's row, so a delivery resumed after a crash can see what was done.
 */
export interface DeliveryCheckpoint {
  load(): Promise<string | null>;
  /** Resolves once the value is stored; rejects when the job is no longer this delivery's to go on with. */
  save(value: string): Promise<void>;
}

/**
 * What a chat platform does for the core. `placeholder` is the adapter's own serialised handle
 * (message ids, interaction token, channel), stored in the job's row when the request is accepted.
 * Every method may be called again after a restart: each must be idempotent.
 */
export interface ChatSurface {
  readonly platform: string;
  /** Show queue position or progress on the placeholder. Best effort: a failure is logged, not retried. */
  showStatus(placeholder: string, status: JobStatusView, jobId?: string): Promise<void>;
  /**
   * Replace the placeholder with the images. Calling it twice must still show the images once.
   * May say where the result now is (a link to its message), recorded for /history.
   */
  deliver(placeholder: string, delivery: Delivery, checkpoint: DeliveryCheckpoint): Promise<DeliveryReceipt | void>;
  /** Replace the placeholder with a failure the user can act on (refunds already made). */
  showFailure(placeholder: string, failure: Failure): Promise<void>;
  /**
   * Tell the community's moderators something, publicly, where the placeholder's request was made
   * (Discord: the channel, mentioning the moderator role if one is configured; Slack: the channel).
   */
  notifyModerators(placeholder: string, text: string): Promise<void>;
}

/** A /quota sub-command, with amounts still raw text so the core can explain bad ones. */
export type QuotaCommand =
  | { readonly action: 'set'; readonly userId: string; readonly userName?: string; readonly amount: string }
  | { readonly action: 'grant'; readonly userId: string; readonly userName?: string; readonly amount: string }
  | { readonly action: 'allowance'; readonly amount: string; readonly period?: string | undefined }
  | { readonly action: 'cap'; readonly amount: string; readonly period?: string | undefined }
  | { readonly action: 'report' }
  /** Lift a member's moderation pause. */
  | { readonly action: 'pardon'; readonly userId: string; readonly userName?: string }
  /** The community's blocked words: entries as typed (comma-separated phrases, or single words). */
  | { readonly action: 'block-words'; readonly operation: 'add' | 'remove' | 'list'; readonly entries: readonly string[] };

/** The outcome of accepting an /imagine. */
export type ImagineOutcome =
  | { readonly ok: true; readonly jobId: string; readonly position: number; readonly reservedCredits: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly reply: Reply };

/** The outcome of the cheap check before an /imagine is accepted. */
export type ImagineCheck = { readonly ok: true } | { readonly ok: false; readonly code: ErrorCode; readonly reply: Reply };

/** What the core offers every adapter. */
export interface BotCore extends ResultActionsCore {
  /**
   * Whether the operator serves this community (listed, not blocked): adapters ask first, before
   * resolving the member or touching the platform, and show the refusal as is.
   */
  admission(platform: string, communityId: string): Promise<{ readonly ok: true } | { readonly ok: false; readonly failure: Failure }>;
  /**
   * Validate an /imagine without side effects (no download, no charge): cheap enough to run
   * before the platform's acknowledgement deadline. A failure comes back as a private reply.
   */
  checkImagine(requester: Requester, options: ImagineOptionsInput): Promise<ImagineCheck>;
  /**
   * Accept an /imagine whose placeholder the adapter has already shown: download and check the
   * references, reserve credits, upload to Runway, queue. The job then runs on its own and talks
   * back through the platform's ChatSurface.
   */
  imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome>;
  /** Run the same request again with a new seed, charged as a new request. */
  reroll(requester: Requester, jobId: string, placeholder: string): Promise<ImagineOutcome>;
  /** Whether this requester may delete the result of a job (its requester, or a moderator). */
  mayDeleteResult(requester: Requester, jobId: string): Promise<boolean>;
  /** `/credits [user]`: balance, allowance, reset time, spend this period. */
  credits(requester: Requester, subject?: { userId: string; displayName: string }): Promise<Reply>;
  /** `/quota …`: moderators only, checked here, not only by the command's visibility. */
  quota(requester: Requester, command: QuotaCommand): Promise<Reply>;
  /** `/history`: the requester's last results in this community (HISTORY_LIMIT), newest first. */
  history(requester: Requester): Promise<HistoryOutcome>;
}

/**
 * Whether a platform delivery is new, decided in the database so that every process sharing it
 * agrees: a platform may deliver one request twice (retries, redelivered envelopes), to any
 * process. An adapter asks right after acknowledging and drops a repeat without a word.
 */
export interface DeliveryDedupe {
  /** Claim `key` (the platform's own id of the delivery): true for the first claimer only, in any process. */
  firstDelivery(key: string): Promise<boolean>;
}
