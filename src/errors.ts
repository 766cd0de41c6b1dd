/**
 * The one vocabulary of failures. Every failure the bot can explain carries a stable machine `code`
 * (for logs, tests, metrics and the jobs table) and a `userMessage` written for the person in the
 * chat: what went wrong and what to do next, with the numbers. Modelled on bolt-js's src/errors.ts.
 * Never put a token, a stack trace or a signed URL in userMessage.
 *
 * Each code's message is built in exactly one place, in the module of its area: a constant when the
 * text is fixed, one builder function when it needs numbers or names (`mediaTooLarge(maxBytes)`).
 */
import { isStoreUnavailable } from './store/unavailable.ts';

/**
 * Every error code the bot uses, grouped by area. Codes are stored in the jobs table and counted by
 * dashboards, so a code is never renamed or reused for another meaning; add new ones instead.
 */
export const ERROR_CODES = [
  // request.*: what the user typed for /imagine, refused before anything is fetched or spent.
  'request.prompt_empty',
  'request.prompt_too_long',
  'request.unknown_model',
  // A Runway model the operator has turned off (MODELS): no misspelling, so its own code.
  'request.model_not_offered',
  'request.ratio_not_offered',
  'request.invalid_seed',
  'request.seed_not_supported',
  'request.too_many_references',
  'request.needs_reference',
  // Its own code (not request.needs_reference) because dashboards and tests already count it by name.
  'request.turbo_needs_reference',
  'request.invalid_tag',
  // Tags given for a model whose reference images carry none (muse_image, seedream, grok).
  'request.tags_not_supported',
  'request.too_many_tags',
  'request.duplicate_tag',
  'request.unknown_prompt_tag',
  'request.unknown_flag',
  'request.flag_missing_value',
  'request.repeated_flag',
  // `count` (Runway's outputCount): on a model that makes one image, or a count the model does not take.
  'request.count_not_supported',
  'request.count_out_of_range',

  // credits.*: the budget says no, or the ledger caught a bookkeeping mistake.
  'credits.insufficient',
  'credits.community_cap',
  // The operator's levels (README "What the bot can cost you"): a community's budget, and the
  // operator's own across every community.
  'credits.community_budget',
  'credits.operator_budget',
  'credits.already_reserved',
  'credits.no_reservation',

  // quota.*: /credits and /quota refused or misspelled. `quota.help` is no mistake, but it ends the
  // command the same way (a private answer, nothing changed), so it travels as a failure.
  'quota.not_moderator',
  'quota.invalid_amount',
  'quota.invalid_period',
  'quota.unknown_subcommand',
  'quota.usage',
  'quota.unknown_user',
  'quota.help',
  // A moderator's cap above the budget the operator gives the community.
  'quota.cap_above_budget',

  // moderation.*: guards that keep Runway's moderation from being tripped at the operator's cost.
  'moderation.blocked_word',
  'moderation.paused',

  // community.*: the operator serves only listed communities, and can block one.
  'community.not_served',
  'community.blocked',

  // media.*: downloading a reference or an output (src/media/download.ts) or judging its bytes.
  'media.invalid_url',
  'media.origin_not_allowed',
  'media.private_address',
  'media.too_many_redirects',
  'media.http_error',
  'media.network_error',
  'media.timeout',
  'media.too_large',
  'media.not_an_image',

  // runway.*: talking to Runway. The task failures from safety_input to failed come from Runway's
  // own failure codes (src/runway/failure-codes.ts).
  'runway.upload_failed',
  'runway.rate_limited',
  'runway.unreachable',
  'runway.rejected_request',
  'runway.create_uncertain',
  'runway.bad_response',
  'runway.task_missing',
  'runway.safety_input',
  'runway.safety_output',
  'runway.invalid_asset',
  'runway.invalid_input',
  // INPUT_PREPROCESSING.INTERNAL: Runway's own trouble preparing the request, not bad input.
  'runway.preprocessing_failed',
  'runway.bad_output',
  'runway.internal',
  // THIRD_PARTY.*: the partner that runs the model for Runway failed or is unavailable.
  'runway.third_party_failed',
  'runway.failed',
  'runway.cancelled',
  // Runway's organisation as a budget (src/runway/organization.ts): refused before anything is
  // fetched or held, because Runway would refuse the create anyway.
  'runway.organization_out_of_credits',
  'runway.daily_limit_reached',

  // reroll.*: the 🔁 button on a result.
  'reroll.unknown_job',
  'reroll.references_expired',

  // references.*: the bot's own copy of reference images (src/jobs/reference-store.ts).
  // The store is at its operator-set size (REFERENCE_STORE_MAX_MB): new requests with images wait.
  'references.store_full',
  // The stored bytes of a job's references are gone (swept, or the disk lost them) and Runway's upload expired.
  'references.gone',

  // actions.*, upscale.*, cancel.*: the buttons on a result and on a placeholder (src/actions/).
  'actions.bad_button',
  'actions.unknown_job',
  'actions.not_finished',
  'actions.result_expired',
  'actions.not_applicable',
  'upscale.too_small',
  'upscale.too_large',
  'cancel.not_yours',
  'cancel.finished',
  'cancel.starting',
  'cancel.failed',
  'cancel.by_user',

  // recovery.*: what a restart could not resume.
  'recovery.references_lost',
  'recovery.not_reserved',

  // delivery.*: posting a finished image into the chat.
  'delivery.failed',

  // store.*: the bot's database out of reach for a moment (a PostgreSQL restart); nothing is lost.
  'store.unavailable',

  // internal.*: our own bugs and races; the user can only try again.
  'internal.unexpected',
  'internal.job_moved',
  // Acceptance failed after the hold and even its refund could not be written: recovery settles it.
  'internal.accept_interrupted',

  // jobs.*: flood control (MAX_JOBS_PER_MEMBER).
  'jobs.too_many_in_flight',

  // config.*: the operator's environment (src/config.ts ConfigError), shown on the terminal at start.
  'config.invalid',

  // Platform adapters. Listed here rather than in an adapter-local union because they cross into the
  // core: a download error thrown by an adapter's ReferenceSource comes back in ImagineOutcome.code
  // and is stored in the job's row, and BotError is one class for every platform.
  'discord.token_rejected',
  'discord.no_application',
  'discord.interaction_failed',
  'slack.file_not_on_slack',
  'slack.file_access_denied',
  'sandbox.file_not_found',
] as const;

/** A stable machine code for one kind of failure: `area.snake_case`. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure explained in plain words, with its machine code: what the core stores, returns and shows. */
export interface Failure {
  readonly code: ErrorCode;
  readonly userMessage: string;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether a text read from outside the type system (a database row) is one of our codes. */
export function isErrorCode(value: string): value is ErrorCode {
  return KNOWN_CODES.has(value);
}

/** A `Failure` you can throw: the one exception class the bot's own code raises for the user. */
export class BotError extends Error implements Failure {
  readonly code: ErrorCode;
  readonly userMessage: string;

  constructor(failure: Failure, options?: { cause?: unknown; logMessage?: string }) {
    super(options?.logMessage ?? `${failure.code}: ${failure.userMessage}`, { cause: options?.cause });
    this.name = 'BotError';
    this.code = failure.code;
    this.userMessage = failure.userMessage;
  }
}

/**
 * The codes a foreign error may be wrapped under. Each shares the one "something went wrong on our
 * side" text, so a wrapper cannot give, say, `media.too_large` a second message.
 */
export type UnexpectedCode = 'internal.unexpected' | 'discord.interaction_failed';

/** The failure for anything we did not foresee: our side, nothing charged, try again. */
export function unexpectedFailure(code: UnexpectedCode = 'internal.unexpected'): Failure {
  return { code, userMessage: 'Something went wrong on our side. Nothing was charged for it; please try again in a moment.' };
}

/** `store.unavailable`: the database did not answer (restarting, unreachable): nothing was written, so nothing was charged. */
export const STORE_UNAVAILABLE: Failure = {
  code: 'store.unavailable',
  userMessage: "The bot can't reach its database for a moment. Nothing was charged; please try again in a minute.",
};

/** Wrap anything thrown by a foreign library once, where it enters, so the rest sees one shape. */
export function asBotError(error: unknown, code: UnexpectedCode = 'internal.unexpected'): BotError {
  if (error instanceof BotError) return error;
  if (isStoreUnavailable(error)) {
    return new BotError(STORE_UNAVAILABLE, { cause: error, logMessage: `store.unavailable: ${error instanceof Error ? error.message : String(error)}` });
  }
  return new BotError(unexpectedFailure(code), {
    cause: error,
    logMessage: `${code}: ${error instanceof Error ? error.message : String(error)}`,
  });
}

/**
 * A failure read back from the jobs table, where code and text are plain columns. The stored text
 * is shown as it was written; a code this version does not know (or a missing one) becomes
 * `internal.unexpected` rather than an untyped code.
 */
export function storedFailure(code: string | null, userMessage: string | null): Failure {
  if (code === null || userMessage === null || !isErrorCode(code)) return unexpectedFailure();
  return { code, userMessage };
}
