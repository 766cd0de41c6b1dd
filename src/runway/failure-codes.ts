/**
 * Runway's failure codes in plain words, with what to do next.
 * https://docs.dev.runwayml.com/errors/task-failures/
 *
 * What Runway documents there, and what the bot makes of it:
 * - `SAFETY.INPUT.*` (an input, the prompt or an image, was declined) and `SAFETY.OUTPUT.*` (the
 *   result was): content moderation. Runway says the third part (`TEXT`, `IMAGE`…) is diagnostic only,
 *   "best effort", and not to be shown to users: every `SAFETY.INPUT.*` reads the same, as does every
 *   `SAFETY.OUTPUT.*`. Not to be retried unchanged.
 * - `INPUT_PREPROCESSING.SAFETY.TEXT`: the prompt's moderation before generation, a decline like
 *   `SAFETY.INPUT`, not bad input.
 * - `INPUT_PREPROCESSING.INTERNAL`: Runway's own trouble preparing the request; may work after a delay.
 * - `ASSET.INVALID`: an input does not meet the model's requirements; retrying with the same file fails again.
 * - `INTERNAL.BAD_OUTPUT.*`: the result was rejected for quality; often caused by text or graphics
 *   overlaid on an input image. Worth another try, better with a cleaner image.
 * - `INTERNAL`: an internal error; may work after a delay.
 * - `THIRD_PARTY.*` (e.g. `THIRD_PARTY.UNAVAILABLE`): the partner that runs the model for Runway
 *   failed or is unavailable; may work after a delay, or with another model.
 * - Anything else, or no code: unexplained.
 * A code matches a rule on whole dot-separated parts: `INTERNAL.BAD_OUTPUT.CODE01` is BAD_OUTPUT,
 * `INTERNALS` is nothing we know.
 */
import type { ErrorCode, Failure } from '../errors.ts';

/** The same words for every input Runway's moderation declined, whichever part of the code it names. */
const SAFETY_INPUT =
  "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again.";

/** Runway's code prefixes, most specific first: the first that matches explains the failure. */
const RULES: readonly { readonly prefix: string; readonly code: ErrorCode; readonly text: string }[] = [
  { prefix: 'SAFETY.INPUT', code: 'runway.safety_input', text: SAFETY_INPUT },
  {
    prefix: 'SAFETY.OUTPUT',
    code: 'runway.safety_output',
    text: "Runway's content moderation blocked the generated image. Try a different prompt or seed.",
  },
  // Moderation of the prompt text before generation: a decline like SAFETY.INPUT, not bad input.
  { prefix: 'INPUT_PREPROCESSING.SAFETY', code: 'runway.safety_input', text: SAFETY_INPUT },
  {
    prefix: 'INPUT_PREPROCESSING.INTERNAL',
    code: 'runway.preprocessing_failed',
    text: 'Runway had a problem on its side while preparing this request. Please try again in a few minutes.',
  },
  {
    prefix: 'ASSET.INVALID',
    code: 'runway.invalid_asset',
    text: "Runway could not use one of the reference images: its size, shape or format is outside what this model accepts. Try another PNG, JPEG or WebP image (the same one will fail again).",
  },
  // Not documented beyond the two above: kept so a new preprocessing code still reads sensibly.
  {
    prefix: 'INPUT_PREPROCESSING',
    code: 'runway.invalid_input',
    text: 'Runway could not use this input. Check the reference images and prompt, then try again.',
  },
  {
    prefix: 'INTERNAL.BAD_OUTPUT',
    code: 'runway.bad_output',
    text:
      'Runway rejected the generated image as unusable. This often happens when a reference image has text, a logo or graphics overlaid on it: try an image without them, or simply try again.',
  },
  {
    prefix: 'INTERNAL',
    code: 'runway.internal',
    text: 'Runway had an internal error while generating. Please try again in a moment.',
  },
  {
    prefix: 'THIRD_PARTY',
    code: 'runway.third_party_failed',
    text: "The partner that runs this model for Runway failed or is unavailable right now. Try again in a few minutes, or pick another model.",
  },
];

/** `runway.failed`: a failure code we have no rule for, or none at all. */
const UNEXPLAINED: { readonly code: ErrorCode; readonly text: string } = {
  code: 'runway.failed',
  text: 'Runway could not finish this image. Please try again; if it keeps failing, try a different prompt.',
};

/** Whether `failureCode` is `prefix` or starts with `prefix` followed by a dot: whole parts only. */
function hasPrefix(failureCode: string, prefix: string): boolean {
  return failureCode === prefix || failureCode.startsWith(`${prefix}.`);
}

/**
 * Whether Runway's failure code says its content moderation declined the request (SAFETY.*, or the
 * prompt's check before generation): billed like a success, and a strike against the member.
 * https://docs.dev.runwayml.com/usage/moderation
 */
export function isModerationDecline(failureCode: string | undefined): boolean {
  return failureCode !== undefined && (hasPrefix(failureCode, 'SAFETY') || hasPrefix(failureCode, 'INPUT_PREPROCESSING.SAFETY'));
}

/**
 * The failure to show for a task Runway reports as FAILED with `failureCode`, saying plainly what
 * it cost: Runway bills a moderated generation like a successful one. The code itself is never shown.
 */
export function explainFailureCode(failureCode: string | undefined, chargedCredits = 0): Failure {
  const rule = (failureCode ? RULES.find((r) => hasPrefix(failureCode, r.prefix)) : undefined) ?? UNEXPLAINED;
  return { code: rule.code, userMessage: `${rule.text} ${whatItCost(chargedCredits, isModerationDecline(failureCode))}` };
}

/** `runway.cancelled`: the task was cancelled at Runway before it finished, charged what Runway reported. */
export function taskCancelled(chargedCredits = 0): Failure {
  return {
    code: 'runway.cancelled',
    userMessage: `This generation was cancelled before it finished. ${whatItCost(chargedCredits, false)} Run \`/imagine\` again if you still want it.`,
  };
}

/** `runway.cancelled` when Runway charged nothing. */
export const TASK_CANCELLED: Failure = taskCancelled(0);

function whatItCost(chargedCredits: number, moderated: boolean): string {
  if (chargedCredits === 0) return 'You were not charged.';
  const credits = `${chargedCredits} ${chargedCredits === 1 ? 'credit' : 'credits'}`;
  return moderated
    ? `Runway charges for requests its moderation declines as for finished images, so this one cost ${credits}.`
    : `Runway charged ${credits} for the work it did, and so were you.`;
}
