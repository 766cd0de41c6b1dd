import { describe, expect, it } from 'vitest';
import { fileNotFound } from '../adapters/sandbox/file-reference.ts';
import { fileAccessDenied, fileNotOnSlack } from '../adapters/slack/references.ts';
import { HELD_UNTIL_RECOVERY, JOB_MOVED, NOT_HELD, REFERENCES_LOST, REROLL_REFERENCES_EXPIRED, REROLL_UNKNOWN_JOB, tooManyInFlight } from './imagine/acceptance-failures.ts';
import {
  ACTION_BAD_BUTTON,
  ACTION_NOT_FINISHED,
  ACTION_RESULT_EXPIRED,
  ACTION_UNKNOWN_JOB,
  CANCEL_FAILED,
  CANCEL_FINISHED,
  CANCEL_NOT_YOURS,
  CANCEL_STARTING,
  cancelledBy,
  VARY_NOT_APPLICABLE,
} from './actions/result-actions.ts';
import { upscaleTooLarge, upscaleTooSmall } from './actions/upscale.ts';
import { COMMAND_REPLY_CODES, NOT_MODERATOR } from './commands/credits-command.ts';
import { invalidPeriod } from './commands/quota-command.ts';
import { quotaHelp, quotaUsage, unknownSubcommand, unknownUser } from './commands/quota-text.ts';
import { invalidAmount } from './credits/amount.ts';
import { alreadyReserved, noReservation } from './credits/job-money.ts';
import { COMMUNITY_BLOCKED, COMMUNITY_NOT_SERVED } from './communities/admission.ts';
import { blockedWord, memberPaused } from './moderation/moderation.ts';
import { capAboveBudget, communityBudgetSpent, communityCapReached, insufficientCredits, operatorBudgetSpent } from './credits/messages.ts';
import { asBotError, BotError, ERROR_CODES, STORE_UNAVAILABLE, storedFailure, unexpectedFailure, type ErrorCode, type Failure } from './errors.ts';
import { countNotSupported, countOutOfRange } from './imagine/count.ts';
import { modelNotOffered, unknownModel } from './imagine/model-choice.ts';
import { ratioNotOffered } from './imagine/ratios.ts';
import { needsReference, tooManyReferences } from './imagine/references.ts';
import { PROMPT_EMPTY, promptTooLong } from './imagine/request.ts';
import { invalidSeed, seedNotSupported } from './imagine/seed.ts';
import { duplicateTag, invalidTag, tagsNotSupported, tooManyTags, unknownPromptTag } from './imagine/tags.ts';
import { flagMissingValue, repeatedFlag, unknownFlag } from './imagine/text-command.ts';
import { CREATE_UNCERTAIN, decideAfterCreate, MAX_DEFERRED_CREATES } from './jobs/create-decision.ts';
import { UNDELIVERABLE } from './jobs/delivery.ts';
import { REFERENCE_STORE_FULL, REFERENCES_GONE } from './jobs/reference-store.ts';
import { decideAfterPoll, MAX_MALFORMED_POLLS } from './jobs/poll-decision.ts';
import {
  INVALID_URL,
  mediaHttpError,
  mediaNotAnImage,
  mediaTimeout,
  mediaTooLarge,
  NETWORK_ERROR,
  ORIGIN_NOT_ALLOWED,
  PRIVATE_ADDRESS,
  TOO_MANY_REDIRECTS,
} from './media/errors.ts';
import { findModel, type ModelInfo } from './models.ts';
import { explainFailureCode, TASK_CANCELLED, taskCancelled } from './runway/failure-codes.ts';
import { UPLOAD_FAILED } from './runway/gateway.ts';
import { dailyLimitReached, organizationOutOfCredits } from './runway/organization.ts';

const CODE_SHAPE = /^[a-z]+\.[a-z]+(?:_[a-z]+)*$/;

function model(id: string): ModelInfo {
  const found = findModel(id);
  if (!found) throw new Error(`no model ${id} in the catalogue`);
  return found;
}

function createFailure(kind: 'rate_limited' | 'unreachable'): Failure {
  const decision = decideAfterCreate({ kind, retryAfterMs: 1_000 }, MAX_DEFERRED_CREATES);
  if (decision.kind !== 'fail') throw new Error(`expected a failure, got ${decision.kind}`);
  return decision.failure;
}

function rejectedCreate(): Failure {
  const decision = decideAfterCreate({ kind: 'rejected', status: 400, message: 'bad' }, 0);
  if (decision.kind !== 'fail') throw new Error(`expected a failure, got ${decision.kind}`);
  return decision.failure;
}

function pollFailure(outcome: Parameters<typeof decideAfterPoll>[0]): Failure {
  const decision = decideAfterPoll(outcome, MAX_MALFORMED_POLLS);
  if (decision.kind !== 'failed') throw new Error(`expected a failure, got ${decision.kind}`);
  return decision.failure;
}

const NOW = Date.UTC(2026, 0, 1, 20, 40);
const gen4 = model('gen4_image');
const turbo = model('gen4_image_turbo');
const gemini = model('gemini_2.5_flash');
const muse = model('muse_image');

/** One or more messages for every code, built the way the bot builds them, with sample numbers. */
const SAMPLES: readonly (readonly [ErrorCode, Failure])[] = [
  ['request.prompt_empty', PROMPT_EMPTY],
  ['request.prompt_too_long', promptTooLong(gen4, 1_001)],
  ['request.prompt_too_long', promptTooLong(model('seedream5_pro'), 4_002)],
  ['request.unknown_model', unknownModel('dall-e-3')],
  ['request.model_not_offered', modelNotOffered(model('gpt_image_2'))],
  ['request.ratio_not_offered', ratioNotOffered(gemini, '1920:1080', '1344:768')],
  ['request.ratio_not_offered', ratioNotOffered(gen4, '7:3')],
  ['request.ratio_not_offered', ratioNotOffered(model('gemini_image3.1_flash'), '7:3')],
  ['request.ratio_not_offered', ratioNotOffered(model('seedream5_lite'), '1000:1000')],
  ['request.invalid_seed', invalidSeed('-1')],
  ['request.seed_not_supported', seedNotSupported(gemini)],
  ['request.too_many_references', tooManyReferences(gen4, 4)],
  // Only Turbo needs references today, and it has its own code: a made-up model shows the other.
  ['request.needs_reference', needsReference({ ...turbo, id: 'some_future_model' }, 0)],
  ['request.turbo_needs_reference', needsReference(turbo, 0)],
  ['request.invalid_tag', invalidTag('ab')],
  ['request.invalid_tag', invalidTag('1cat')],
  ['request.invalid_tag', invalidTag('my-cat')],
  ['request.tags_not_supported', tagsNotSupported(muse)],
  ['request.too_many_tags', tooManyTags(2, 1)],
  ['request.duplicate_tag', duplicateTag('cat', 'Cat', 2)],
  ['request.unknown_prompt_tag', unknownPromptTag(['dog'], [])],
  ['request.unknown_prompt_tag', unknownPromptTag(['Cat'], ['cat', 'image2'])],
  ['request.unknown_flag', unknownFlag('--ratoi')],
  ['request.flag_missing_value', flagMissingValue('seed')],
  ['request.repeated_flag', repeatedFlag('seed', '1', '2')],
  ['request.count_not_supported', countNotSupported(gen4)],
  ['request.count_out_of_range', countOutOfRange(model('gemini_image3_pro'), '3')],

  ['credits.insufficient', insufficientCredits({ balance: 3, price: 8, modelId: 'gen4_image', ratio: '1920:1080', cheaperOptions: [], resetsAt: NOW + 3_600_000, allowance: 50, nowMs: NOW })],
  ['credits.insufficient', insufficientCredits({ balance: 0, price: 8, modelId: 'gen4_image', ratio: '1920:1080', cheaperOptions: [], resetsAt: null, allowance: 5, nowMs: NOW })],
  ['credits.community_cap', communityCapReached({ capRemaining: 4, price: 8, resetsAt: NOW + 86_400_000, period: 'day', nowMs: NOW })],
  ['credits.community_cap', communityCapReached({ capRemaining: 0, price: 5, resetsAt: null, nowMs: NOW })],
  ['credits.community_budget', communityBudgetSpent({ remaining: 3, price: 8, period: 'day', resetsAt: NOW + 3_600_000, nowMs: NOW })],
  ['credits.community_budget', communityBudgetSpent({ remaining: 0, price: 8, period: 'none', resetsAt: null, nowMs: NOW })],
  ['credits.operator_budget', operatorBudgetSpent({ remaining: 0, price: 8, period: 'day', resetsAt: NOW + 3_600_000, nowMs: NOW })],
  ['quota.cap_above_budget', capAboveBudget({ amount: 200, period: 'day' })],
  ['community.not_served', COMMUNITY_NOT_SERVED],
  ['community.blocked', COMMUNITY_BLOCKED],
  ['moderation.blocked_word', blockedWord('big cat')],
  ['recovery.not_reserved', NOT_HELD],
  ['internal.accept_interrupted', HELD_UNTIL_RECOVERY],
  ['jobs.too_many_in_flight', tooManyInFlight(2, 2)],
  ['jobs.too_many_in_flight', tooManyInFlight(1, 1)],
  ['moderation.paused', memberPaused({ paused: true, strikes: 3, untilMs: NOW + 3_600_000 }, NOW)],
  ['credits.already_reserved', alreadyReserved('job-1')],
  ['credits.no_reservation', noReservation('job-1', 'settle')],

  ['quota.not_moderator', NOT_MODERATOR],
  ['quota.invalid_amount', invalidAmount({ kind: 'missing' })],
  ['quota.invalid_amount', invalidAmount({ kind: 'too_large', raw: '2000000' })],
  ['quota.invalid_amount', invalidAmount({ kind: 'negative', raw: '-5' })],
  ['quota.invalid_amount', invalidAmount({ kind: 'not_whole', raw: '1.5' })],
  ['quota.invalid_amount', invalidAmount({ kind: 'not_a_number', raw: 'lots' })],
  ['quota.invalid_amount', invalidAmount({ kind: 'zero_grant' })],
  ['quota.invalid_period', invalidPeriod('fortnight')],
  ['quota.unknown_subcommand', unknownSubcommand('gift')],
  ['quota.usage', quotaUsage('grant')],
  ['quota.unknown_user', unknownUser('nobody', 'grant', '5')],
  ['quota.help', quotaHelp()],

  ['media.invalid_url', INVALID_URL],
  ['media.origin_not_allowed', ORIGIN_NOT_ALLOWED],
  ['media.private_address', PRIVATE_ADDRESS],
  ['media.too_many_redirects', TOO_MANY_REDIRECTS],
  ['media.http_error', mediaHttpError(403)],
  ['media.network_error', NETWORK_ERROR],
  ['media.timeout', mediaTimeout(30_000)],
  ['media.too_large', mediaTooLarge(20 * 1_048_576)],
  ['media.too_large', mediaTooLarge(20 * 1_048_576, '`huge.png`')],
  ['media.not_an_image', mediaNotAnImage(false)],
  ['media.not_an_image', mediaNotAnImage(true, '`party.gif`')],

  ['runway.upload_failed', UPLOAD_FAILED],
  ['runway.rate_limited', createFailure('rate_limited')],
  ['runway.unreachable', createFailure('unreachable')],
  ['runway.rejected_request', rejectedCreate()],
  ['runway.create_uncertain', CREATE_UNCERTAIN],
  ['runway.bad_response', pollFailure({ kind: 'malformed', message: 'not a task' })],
  ['runway.task_missing', pollFailure({ kind: 'not_found' })],
  ['runway.safety_input', explainFailureCode('SAFETY.INPUT.TEXT')],
  ['runway.safety_output', explainFailureCode('SAFETY.OUTPUT.IMAGE')],
  ['runway.invalid_asset', explainFailureCode('ASSET.INVALID')],
  ['runway.invalid_input', explainFailureCode('INPUT_PREPROCESSING.SOMETHING_NEW')],
  ['runway.preprocessing_failed', explainFailureCode('INPUT_PREPROCESSING.INTERNAL')],
  ['runway.third_party_failed', explainFailureCode('THIRD_PARTY.UNAVAILABLE')],
  ['runway.third_party_failed', explainFailureCode('THIRD_PARTY.UNAVAILABLE', 2)],
  ['runway.safety_input', explainFailureCode('INPUT_PREPROCESSING.SAFETY.TEXT', 8)],
  ['runway.safety_output', explainFailureCode('SAFETY.OUTPUT.IMAGE', 1)],
  ['runway.internal', explainFailureCode('INTERNAL', 3)],
  ['runway.cancelled', taskCancelled(2)],
  ['runway.bad_output', explainFailureCode('INTERNAL.BAD_OUTPUT.CODE01')],
  ['runway.bad_output', explainFailureCode('INTERNAL.BAD_OUTPUT.CODE01', 5)],
  ['runway.internal', explainFailureCode('INTERNAL')],
  ['runway.failed', explainFailureCode('SOMETHING.NEW')],
  ['runway.failed', explainFailureCode(undefined)],
  ['runway.cancelled', TASK_CANCELLED],
  ['runway.organization_out_of_credits', organizationOutOfCredits(8)],
  ['runway.daily_limit_reached', dailyLimitReached({ modelId: 'gen4_image', maxDaily: 100, nowMs: NOW })],
  ['runway.daily_limit_reached', dailyLimitReached({ modelId: 'gen4_image_turbo', maxDaily: 1, nowMs: NOW })],

  ['reroll.unknown_job', REROLL_UNKNOWN_JOB],
  ['reroll.references_expired', REROLL_REFERENCES_EXPIRED],
  ['references.store_full', REFERENCE_STORE_FULL],
  ['references.gone', REFERENCES_GONE],
  ['actions.bad_button', ACTION_BAD_BUTTON],
  ['actions.unknown_job', ACTION_UNKNOWN_JOB],
  ['actions.not_finished', ACTION_NOT_FINISHED],
  ['actions.result_expired', ACTION_RESULT_EXPIRED],
  ['actions.not_applicable', VARY_NOT_APPLICABLE],
  ['upscale.too_small', upscaleTooSmall({ width: 480, height: 270 })],
  ['upscale.too_large', upscaleTooLarge({ width: 1920, height: 1080 }, 4)],
  ['upscale.too_large', upscaleTooLarge({ width: 9000, height: 600 }, 2)],
  ['cancel.not_yours', CANCEL_NOT_YOURS],
  ['cancel.finished', CANCEL_FINISHED],
  ['cancel.starting', CANCEL_STARTING],
  ['cancel.failed', CANCEL_FAILED],
  ['cancel.by_user', cancelledBy('Ann', 0)],
  ['cancel.by_user', cancelledBy('Ann', 3)],
  ['recovery.references_lost', REFERENCES_LOST],
  ['delivery.failed', UNDELIVERABLE],
  ['store.unavailable', STORE_UNAVAILABLE],
  ['internal.unexpected', unexpectedFailure()],
  ['internal.job_moved', JOB_MOVED],

  ['discord.interaction_failed', unexpectedFailure('discord.interaction_failed')],
  ['slack.file_not_on_slack', fileNotOnSlack({ id: 'F1', name: 'cat.png' })],
  ['slack.file_access_denied', fileAccessDenied({ id: 'F1' })],
  ['sandbox.file_not_found', fileNotFound('./cat.png')],
];

/**
 * Codes with no sample here. `config.invalid` is ConfigError's code, a list of bad variables for the
 * operator's terminal, never a Failure; the two Discord start-up errors are private to the adapter's
 * entry module, which would load discord.js into this unit test.
 */
const NOT_SAMPLED: readonly ErrorCode[] = ['config.invalid', 'discord.token_rejected', 'discord.no_application'];

/**
 * Texts that name no next step, each for a reason: bookkeeping errors that mean a bug (nothing for
 * the user to do), the help and usage texts (they are the instructions), a race someone else won,
 * and texts noticed without one, left as they are (see the report of issue 10, item 6).
 */
const NO_NEXT_STEP: ReadonlySet<string> = new Set([
  'This request was already charged.',
  'This request was never charged, so its cost cannot be changed.',
  'This request was already handled.',
  '`2000000` is more than the limit of 1,000,000 credits.',
  quotaHelp().userMessage,
]);

/**
 * What a next step looks like: an instruction ("attach", "try again"…), an example or the usage of
 * what to type ("for example `--seed 42`", "like `20`"), when things work again ("refills",
 * "resets"), who can help ("a moderator can"), or the command that does what the user may do
 * instead ("`/credits` on its own shows yours").
 */
const NEXT_STEP =
  /\b(try|trying|attach|use|pick|choose|give|leave|run|ask|remove|shorten|keep|mention|rephrase|check|upload|send|describe|drop|write|take|resize|type|invite|raise|for example|like `|usage|refills|resets|moderator can|shows)\b/i;

describe('error codes', () => {
  it('are unique and read area.snake_case', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(CODE_SHAPE);
  });

  it('are apart from the codes of answers that are not failures, which read the same way', () => {
    const errors: ReadonlySet<string> = new Set(ERROR_CODES);
    expect(new Set(COMMAND_REPLY_CODES).size).toBe(COMMAND_REPLY_CODES.length);
    for (const code of COMMAND_REPLY_CODES) {
      expect(code).toMatch(CODE_SHAPE);
      expect(errors.has(code)).toBe(false);
    }
  });

  it('each have a sample message below, unless named as not sampled', () => {
    const sampled = new Set(SAMPLES.map(([code]) => code));
    expect([...ERROR_CODES].filter((code) => !sampled.has(code) && !NOT_SAMPLED.includes(code))).toEqual([]);
  });
});

describe('user messages', () => {
  it.each(SAMPLES.map(([code, failure]) => ({ code, failure })))('$code: built with its own code, complete, and says what to do next', ({ code, failure }) => {
    expect(failure.code).toBe(code);
    expect(failure.userMessage.trim()).not.toBe('');
    expect(failure.userMessage).not.toMatch(/undefined|NaN|\[object |null\b/);
    if (!NO_NEXT_STEP.has(failure.userMessage)) expect(failure.userMessage).toMatch(NEXT_STEP);
  });

  it('media.too_large: one text for the download cap and the reference check, with the limit in MB', () => {
    expect(mediaTooLarge(20 * 1_048_576, '`huge.png`').userMessage).toBe(
      '`huge.png` is larger than the 20 MB limit. Please attach a smaller image (resize or compress it) and try again. Nothing was charged.',
    );
    expect(mediaTooLarge(1.5 * 1_048_576).userMessage).toBe(
      'That file is larger than the 1.5 MB limit. Please attach a smaller image (resize or compress it) and try again. Nothing was charged.',
    );
  });

  it('media.not_an_image: one text for downloads and references, naming GIFs when it is one', () => {
    expect(mediaNotAnImage(true, '`party.gif`').userMessage).toBe(
      '`party.gif` is not a PNG, JPEG or WebP image (GIFs are not supported). Please attach a PNG, JPEG or WebP image and try again. Nothing was charged.',
    );
    expect(mediaNotAnImage(false).userMessage).toBe(
      'That file is not a PNG, JPEG or WebP image. Please attach a PNG, JPEG or WebP image and try again. Nothing was charged.',
    );
  });

  it('quota.not_moderator: one text for /quota and for /credits about someone else', () => {
    expect(NOT_MODERATOR.userMessage).toBe(
      "Only moderators (Manage Server on Discord, workspace admins on Slack, or members the operator names) can change credits, see the report or see another member's credits. `/credits` on its own shows yours.",
    );
  });

  it('request.prompt_too_long: the length, the limit and how much to cut', () => {
    expect(promptTooLong(gen4, 1_001).userMessage).toBe(
      'Your prompt is 1001 characters long and Gen-4 Image takes at most 1000: shorten it by 1 (emoji and some symbols count as 2).',
    );
  });

  it("runway.*: Runway's failure codes keep their mapping, by prefix", () => {
    expect(explainFailureCode('SAFETY.INPUT.IMAGE')).toEqual({
      code: 'runway.safety_input',
      userMessage:
        "Runway's content moderation declined this prompt or reference image. Rephrase the prompt (or use another image) and try again. You were not charged.",
    });
    expect(explainFailureCode('INTERNAL.BAD_OUTPUT.CODE01').code).toBe('runway.bad_output');
    expect(explainFailureCode('INTERNAL.OTHER').code).toBe('runway.internal');
    expect(explainFailureCode('NEW.CODE')).toEqual({
      code: 'runway.failed',
      userMessage: 'Runway could not finish this image. Please try again; if it keeps failing, try a different prompt. You were not charged.',
    });
  });

  it('quota.invalid_amount: a zero grant is explained with the amount to give', () => {
    expect(invalidAmount({ kind: 'zero_grant' }).userMessage).toBe('A grant of 0 credits changes nothing: give at least `1`.');
  });
});

describe('BotError and asBotError', () => {
  it('a BotError is a Failure you can throw', () => {
    const error = new BotError(mediaHttpError(403), { logMessage: 'media.http_error: HTTP 403 from https://cdn.example/x' });
    expect(error).toMatchObject({
      code: 'media.http_error',
      userMessage: "The file host answered with HTTP 403, so I couldn't download the file. The link may have expired: please attach it again.",
      message: 'media.http_error: HTTP 403 from https://cdn.example/x',
    });
  });

  it('wraps a foreign error once, and leaves a BotError as it is', () => {
    const wrapped = asBotError(new Error('socket hang up'));
    expect(wrapped).toMatchObject({
      code: 'internal.unexpected',
      userMessage: 'Something went wrong on our side. Nothing was charged for it; please try again in a moment.',
      message: 'internal.unexpected: socket hang up',
    });
    expect(asBotError(wrapped, 'discord.interaction_failed')).toBe(wrapped);
    expect(asBotError('odd', 'discord.interaction_failed').code).toBe('discord.interaction_failed');
  });

  it("says the database is out of reach when it is, rather than 'something went wrong'", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    for (const error of [refused, shutdown, busy, new Error('Connection terminated unexpectedly')]) {
      expect(asBotError(error)).toMatchObject({
        code: 'store.unavailable',
        userMessage: "The bot can't reach its database for a moment. Nothing was charged; please try again in a minute.",
      });
    }
    // A broken rule is not an outage.
    const constraint = Object.assign(new Error('UNIQUE constraint failed: ledger.job_id'), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(asBotError(constraint).code).toBe('internal.unexpected');
  });

  it('a failure read back from the jobs table keeps a known code and its text; anything else is unexpected', () => {
    expect(storedFailure('runway.cancelled', 'stored text')).toEqual({ code: 'runway.cancelled', userMessage: 'stored text' });
    expect(storedFailure('failed', 'stored text')).toEqual(unexpectedFailure());
    expect(storedFailure(null, null)).toEqual(unexpectedFailure());
  });
});
