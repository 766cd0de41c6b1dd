import { describe, expect, it } from 'vitest';
import type { Failure } from '../errors.ts';
import { explainFailureCode, isModerationDecline } from './failure-codes.ts';

const SAFETY_INPUT =
  "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again. You were not charged.";
const SAFETY_OUTPUT = "Runway's content moderation blocked the generated image. Try a different prompt or seed. You were not charged.";
const PREPROCESSING = 'Runway had a problem on its side while preparing this request. Please try again in a few minutes. You were not charged.';
const INVALID_ASSET =
  "Runway could not use one of the reference images: its size, shape or format is outside what this model accepts. Try another PNG, JPEG or WebP image (the same one will fail again). You were not charged.";
const INVALID_INPUT = 'Runway could not use this input. Check the reference images and prompt, then try again. You were not charged.';
const BAD_OUTPUT =
  'Runway rejected the generated image as unusable. This often happens when a reference image has text, a logo or graphics overlaid on it: try an image without them, or simply try again. You were not charged.';
const INTERNAL = 'Runway had an internal error while generating. Please try again in a moment. You were not charged.';
const THIRD_PARTY = 'The partner that runs this model for Runway failed or is unavailable right now. Try again in a few minutes, or pick another model. You were not charged.';
const UNEXPLAINED = 'Runway could not finish this image. Please try again; if it keeps failing, try a different prompt. You were not charged.';

/**
 * Every code https://docs.dev.runwayml.com/errors/task-failures/ documents (and the shapes it
 * describes with `*`), with the exact failure the user sees when Runway charged nothing.
 */
const TABLE: readonly (readonly [string | undefined, Failure, boolean])[] = [
  ['SAFETY.INPUT.TEXT', { code: 'runway.safety_input', userMessage: SAFETY_INPUT }, true],
  ['SAFETY.INPUT.IMAGE', { code: 'runway.safety_input', userMessage: SAFETY_INPUT }, true],
  ['SAFETY.INPUT.VIDEO', { code: 'runway.safety_input', userMessage: SAFETY_INPUT }, true],
  ['SAFETY.OUTPUT.IMAGE', { code: 'runway.safety_output', userMessage: SAFETY_OUTPUT }, true],
  ['SAFETY.OUTPUT.TEXT', { code: 'runway.safety_output', userMessage: SAFETY_OUTPUT }, true],
  ['INPUT_PREPROCESSING.SAFETY.TEXT', { code: 'runway.safety_input', userMessage: SAFETY_INPUT }, true],
  ['INPUT_PREPROCESSING.INTERNAL', { code: 'runway.preprocessing_failed', userMessage: PREPROCESSING }, false],
  ['INPUT_PREPROCESSING.SOMETHING_NEW', { code: 'runway.invalid_input', userMessage: INVALID_INPUT }, false],
  ['ASSET.INVALID', { code: 'runway.invalid_asset', userMessage: INVALID_ASSET }, false],
  ['INTERNAL.BAD_OUTPUT.CODE01', { code: 'runway.bad_output', userMessage: BAD_OUTPUT }, false],
  ['INTERNAL.BAD_OUTPUT.CODE02', { code: 'runway.bad_output', userMessage: BAD_OUTPUT }, false],
  ['INTERNAL', { code: 'runway.internal', userMessage: INTERNAL }, false],
  ['INTERNAL.OTHER', { code: 'runway.internal', userMessage: INTERNAL }, false],
  ['THIRD_PARTY.UNAVAILABLE', { code: 'runway.third_party_failed', userMessage: THIRD_PARTY }, false],
  ['THIRD_PARTY.SOMETHING_NEW', { code: 'runway.third_party_failed', userMessage: THIRD_PARTY }, false],
  ['SOMETHING.NEW', { code: 'runway.failed', userMessage: UNEXPLAINED }, false],
  // Parts match whole: these are no code we know.
  ['INTERNALS', { code: 'runway.failed', userMessage: UNEXPLAINED }, false],
  ['SAFETY.INPUTS', { code: 'runway.failed', userMessage: UNEXPLAINED }, true],
  ['THIRD_PARTYX', { code: 'runway.failed', userMessage: UNEXPLAINED }, false],
  ['', { code: 'runway.failed', userMessage: UNEXPLAINED }, false],
  [undefined, { code: 'runway.failed', userMessage: UNEXPLAINED }, false],
];

describe("Runway's failure codes", () => {
  it.each(TABLE.map(([failureCode, failure, moderated]) => ({ failureCode, failure, moderated })))(
    '$failureCode → $failure.code',
    ({ failureCode, failure, moderated }) => {
      expect(explainFailureCode(failureCode)).toEqual(failure);
      expect(isModerationDecline(failureCode)).toBe(moderated);
    },
  );

  it('never shows the code, or its third part, to the user', () => {
    for (const [failureCode] of TABLE) {
      const { userMessage } = explainFailureCode(failureCode);
      for (const part of (failureCode ?? '').split('.').filter((p) => p !== '')) expect(userMessage).not.toContain(part);
    }
  });

  it('appends what a moderated decline cost, and what other billed work cost', () => {
    expect(explainFailureCode('SAFETY.OUTPUT.IMAGE', 1).userMessage).toBe(
      "Runway's content moderation blocked the generated image. Try a different prompt or seed. Runway charges for requests its moderation declines as for finished images, so this one cost 1 credit.",
    );
    expect(explainFailureCode('INPUT_PREPROCESSING.SAFETY.TEXT', 8).userMessage).toBe(
      "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again. Runway charges for requests its moderation declines as for finished images, so this one cost 8 credits.",
    );
    expect(explainFailureCode('THIRD_PARTY.UNAVAILABLE', 3).userMessage).toBe(
      'The partner that runs this model for Runway failed or is unavailable right now. Try again in a few minutes, or pick another model. Runway charged 3 credits for the work it did, and so were you.',
    );
  });
});
