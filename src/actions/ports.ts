/**
 * What the core offers adapters for the buttons on a result and on a placeholder (issue 9, item 5).
 * BotCore (src/ports.ts) extends this. Every method reads the job from the database by the id the
 * button carries, so a button on an old message, or after a restart, works the same.
 */
import type { ErrorCode } from '../errors.ts';
import type { ImagineOutcome, Reply, Requester } from '../ports.ts';

/** One action offered under a finished result, with the price it holds when pressed. */
export interface ResultOffer {
  readonly action: 'upscale2' | 'upscale4' | 'vary';
  /** Plain words for the button: `Upscale ×2`, `Vary`. */
  readonly label: string;
  /** What it holds when accepted (the catalogue's estimate; Runway's estimate then replaces it). */
  readonly credits: number;
}

/** The prompt a Vary form starts from, and its price; or why there is nothing to vary. */
export type VaryDraft = { readonly ok: true; readonly prompt: string; readonly priceCredits: number } | { readonly ok: false; readonly code: ErrorCode; readonly reply: Reply };

/** What a Cancel did: told privately either way. */
export type CancelOutcome = { readonly ok: true; readonly reply: Reply } | { readonly ok: false; readonly code: ErrorCode; readonly reply: Reply };

export interface ResultActionsCore {
  /** Upscale ×2 or ×4 (any other factor is refused) of a job's result, as a new job shown on `placeholder`. */
  upscale(requester: Requester, jobId: string, factor: number, placeholder: string): Promise<ImagineOutcome>;
  /** Cheap (a database read): what the Vary form shows, before anything is fetched. */
  varyDraft(requester: Requester, jobId: string): Promise<VaryDraft>;
  /** Vary a job's result with `prompt` (the original's, or edited), as a new job shown on `placeholder`. */
  vary(requester: Requester, jobId: string, prompt: string, placeholder: string): Promise<ImagineOutcome>;
  /** Cancel a job in progress: the requester or a moderator only. */
  cancel(requester: Requester, jobId: string): Promise<CancelOutcome>;
}
