/**
 * Runway's failure codes in plain words, with what to do next.
 * https://docs.dev.runwayml.com/errors/task-failures/
 */
export interface FailureExplanation {
  readonly code: string;
  readonly userMessage: string;
}

const RULES: readonly { prefix: string; code: string; message: string }[] = [
  {
    prefix: 'SAFETY.INPUT',
    code: 'runway.safety_input',
    message: "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again. You were not charged.",
  },
  {
    prefix: 'SAFETY.OUTPUT',
    code: 'runway.safety_output',
    message: "Runway's content moderation blocked the generated image. Try a different prompt or seed. You were not charged.",
  },
  {
    prefix: 'ASSET.INVALID',
    code: 'runway.invalid_asset',
    message: 'Runway could not read one of the reference images. Try another PNG, JPEG or WebP image. You were not charged.',
  },
  {
    prefix: 'INPUT_PREPROCESSING',
    code: 'runway.invalid_input',
    message: 'Runway could not use this input. Check the reference images and prompt, then try again. You were not charged.',
  },
  {
    prefix: 'INTERNAL.BAD_OUTPUT',
    code: 'runway.bad_output',
    message: 'Runway produced an unusable image this time. Trying again usually works. You were not charged.',
  },
  {
    prefix: 'INTERNAL',
    code: 'runway.internal',
    message: 'Runway had an internal error while generating. Please try again in a moment. You were not charged.',
  },
];

export function explainFailureCode(failureCode: string | undefined): FailureExplanation {
  const rule = failureCode ? RULES.find((r) => failureCode.startsWith(r.prefix)) : undefined;
  if (rule) return { code: rule.code, userMessage: rule.message };
  return {
    code: 'runway.failed',
    userMessage: 'Runway could not finish this image. Please try again; if it keeps failing, try a different prompt. You were not charged.',
  };
}

export const CANCELLED_EXPLANATION: FailureExplanation = {
  code: 'runway.cancelled',
  userMessage: 'This generation was cancelled before it finished. You were not charged.',
};
