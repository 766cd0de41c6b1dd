/**
 * Runway's failure codes in plain words, with what to do next.
 * https://docs.dev.runwayml.com/errors/task-failures/
 */
import type { Failure } from '../errors.ts';

/** Runway's code prefixes, most specific first: the first that matches explains the failure. */
const RULES: readonly { readonly prefix: string; readonly failure: Failure }[] = [
  {
    prefix: 'SAFETY.INPUT',
    failure: {
      code: 'runway.safety_input',
      userMessage:
        "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again.",
    },
  },
  {
    prefix: 'SAFETY.OUTPUT',
    failure: {
      code: 'runway.safety_output',
      userMessage: "Runway's content moderation blocked the generated image. Try a different prompt or seed.",
    },
  },
  {
    // Moderation of the prompt text before generation: a decline like SAFETY.INPUT, not bad input.
    prefix: 'INPUT_PREPROCESSING.SAFETY',
    failure: {
      code: 'runway.safety_input',
      userMessage:
        "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again.",
    },
  },
  {
    prefix: 'ASSET.INVALID',
    failure: {
      code: 'runway.invalid_asset',
      userMessage: 'Runway could not read one of the reference images. Try another PNG, JPEG or WebP image.',
    },
  },
  {
    prefix: 'INPUT_PREPROCESSING',
    failure: {
      code: 'runway.invalid_input',
      userMessage: 'Runway could not use this input. Check the reference images and prompt, then try again.',
    },
  },
  {
    prefix: 'INTERNAL.BAD_OUTPUT',
    failure: {
      code: 'runway.bad_output',
      userMessage: 'Runway produced an unusable image this time. Trying again usually works.',
    },
  },
  {
    prefix: 'INTERNAL',
    failure: {
      code: 'runway.internal',
      userMessage: 'Runway had an internal error while generating. Please try again in a moment.',
    },
  },
];

/** `runway.failed`: a failure code we have no rule for, or none at all. */
const UNEXPLAINED: Failure = {
  code: 'runway.failed',
  userMessage: 'Runway could not finish this image. Please try again; if it keeps failing, try a different prompt.',
};

/**
 * Whether Runway's failure code says its content moderation declined the request (SAFETY.*, or the
 * prompt's check before generation): billed like a success, and a strike against the member.
 * https://docs.dev.runwayml.com/usage/moderation
 */
export function isModerationDecline(failureCode: string | undefined): boolean {
  return failureCode !== undefined && (failureCode.startsWith('SAFETY.') || failureCode.startsWith('INPUT_PREPROCESSING.SAFETY'));
}

/**
 * The failure to show for a task Runway reports as FAILED with `failureCode`, saying plainly what
 * it cost: Runway bills a moderated generation like a successful one.
 */
export function explainFailureCode(failureCode: string | undefined, chargedCredits = 0): Failure {
  const rule = failureCode ? RULES.find((r) => failureCode.startsWith(r.prefix)) : undefined;
  const failure = rule?.failure ?? UNEXPLAINED;
  return { code: failure.code, userMessage: `${failure.userMessage} ${whatItCost(chargedCredits, isModerationDecline(failureCode))}` };
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
