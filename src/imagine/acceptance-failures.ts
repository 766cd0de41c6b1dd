/**
 * The failures the acceptance path (src/jobs/acceptance.ts) and the Bot's reroll and recovery
 * answer with, kept apart so tests and src/app.ts can name them without importing the Bot.
 */
import type { Failure } from '../errors.ts';
import type { ImagineOutcome } from '../ports.ts';

/** `reroll.unknown_job`: the button's job is gone, or belongs to another community. */
export const REROLL_UNKNOWN_JOB: Failure = {
  code: 'reroll.unknown_job',
  userMessage: 'That image is no longer known to the bot, so it cannot be rerolled. Run `/imagine` again.',
};

/** `reroll.references_expired`: the original's uploads expired at Runway and the bot no longer keeps their bytes. */
export const REROLL_REFERENCES_EXPIRED: Failure = {
  code: 'reroll.references_expired',
  userMessage: 'The reference images of this request have expired at Runway and the bot no longer keeps them. Run `/imagine` again with the images attached.',
};

/** `recovery.references_lost`: a restart came between the chat's download and the upload to Runway. */
export const REFERENCES_LOST: Failure = {
  code: 'recovery.references_lost',
  userMessage:
    'The bot was interrupted while your reference images were being prepared (a restart, or its database was out of reach). Nothing was charged; please send the request again.',
};

/** `internal.job_moved`: the job left `queued` under us (a race with recovery); someone else handled it. */
export const JOB_MOVED: Failure = {
  code: 'internal.job_moved',
  userMessage: 'This request was already handled: look for its answer in this channel, or run `/imagine` again if none arrives.',
};

/** `recovery.not_reserved`: a job accepted by a version that held nothing at acceptance cannot go on without a hold. */
export const NOT_HELD: Failure = {
  code: 'recovery.not_reserved',
  userMessage: 'The bot was updated while your request was being prepared. Nothing was charged; please send the request again.',
};

/** `internal.accept_interrupted`: the hold stays, truthfully: the bot's recovery (within minutes, or at a restart) either runs the job or refunds it. */
export const HELD_UNTIL_RECOVERY: Failure = {
  code: 'internal.accept_interrupted',
  userMessage:
    'Something went wrong on our side while preparing your request. Its credits stay on hold until the bot recovers it, within a few minutes, and then either makes the image or refunds them; `/credits` shows them as held until then.',
};

/** `jobs.too_many_in_flight`: the member already has the most images in progress that one member may have. */
export function tooManyInFlight(inFlight: number, limit: number): Failure {
  const images = inFlight === 1 ? 'image' : 'images';
  return {
    code: 'jobs.too_many_in_flight',
    userMessage: `You already have ${inFlight} ${images} in progress, the most one member may have at once (${limit}). Wait for one to finish, then try again. Nothing was charged.`,
  };
}

/** A failure as the private refusal of an /imagine. */
export function refusal(failure: Failure): Extract<ImagineOutcome, { ok: false }> {
  return { ok: false, code: failure.code, reply: { visibility: 'private', text: failure.userMessage } };
}
