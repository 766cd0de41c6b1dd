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
        "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again. You were not charged.",
    },
  },
  {
    prefix: 'SAFETY.OUTPUT',
    failure: {
      code: 'runway.safety_output',
      userMessage: "Runway's content moderation blocked the generated image. Try a different prompt or seed. You were not charged.",
    },
  },
  {
    prefix: 'ASSET.INVALID',
    failure: {
      code: 'runway.invalid_asset',
      userMessage: 'Runway could not read one of the reference images. Try another PNG, JPEG or WebP image. You were not charged.',
    },
  },
  {
    prefix: 'INPUT_PREPROCESSING',
    failure: {
      code: 'runway.invalid_input',
      userMessage: 'Runway could not use this input. Check the reference images and prompt, then try again. You were not charged.',
    },
  },
  {
    prefix: 'INTERNAL.BAD_OUTPUT',
    failure: {
      code: 'runway.bad_output',
      userMessage: 'Runway produced an unusable image this time. Trying again usually works. You were not charged.',
    },
  },
  {
    prefix: 'INTERNAL',
    failure: {
      code: 'runway.internal',
      userMessage: 'Runway had an internal error while generating. Please try again in a moment. You were not charged.',
    },
  },
];

/** `runway.failed`: a failure code we have no rule for, or none at all. */
const UNEXPLAINED: Failure = {
  code: 'runway.failed',
  userMessage: 'Runway could not finish this image. Please try again; if it keeps failing, try a different prompt. You were not charged.',
};

/** The failure to show for a task Runway reports as FAILED with `failureCode`. */
export function explainFailureCode(failureCode: string | undefined): Failure {
  const rule = failureCode ? RULES.find((r) => failureCode.startsWith(r.prefix)) : undefined;
  return rule?.failure ?? UNEXPLAINED;
}

/** `runway.cancelled`: the task was cancelled at Runway before it finished. */
export const TASK_CANCELLED: Failure = {
  code: 'runway.cancelled',
  userMessage: 'This generation was cancelled before it finished. You were not charged.',
};
