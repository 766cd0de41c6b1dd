/**
 * One /imagine from Slack, after the acknowledgement: check it (free), show the placeholder,
 * hand it to the core. Shared by the slash command (text only) and mentions (with images).
 */
import { asBotError, type ErrorCode } from '../../src/errors.ts';
import { imagineHelpText } from '../../src/imagine/help.ts';
import { parseImagineText } from '../../src/imagine/text-command.ts';
import type { Logger } from '../../src/log.ts';
import type { BotCore, ImagineOptionsInput, Requester } from '../../src/ports.ts';
import { encodePlaceholder } from './placeholder.ts';
import { SlackApiError, type SlackApi } from './slack-api.ts';
import { acceptedText, failureText, placeholderHead } from './texts.ts';

/** Sends a message only the requester sees (response_url or chat.postEphemeral). */
export type ReplyPrivately = (text: string) => Promise<void>;

export interface ImagineFlowDeps {
  api: SlackApi;
  core: BotCore;
  log: Logger;
}

/** Where the placeholder and the result go. */
export interface SlackLocation {
  channel: string;
  /** The thread to answer in (a mention's thread), or null for the channel itself. */
  threadTs: string | null;
}

const CANNOT_POST = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);

const REFS_ON_SLACK =
  "`--ref` works in the terminal sandbox only. On Slack, attach the images to a message that mentions me (as many as the model takes: `/imagine help` lists each model's limit): `@imagine-bot a cat in a hat --tags cat`.";

/** The options typed after `/imagine` or a mention; the references come from the message's files. */
export type TypedImagineOptions = Omit<ImagineOptionsInput, 'references'>;

/**
 * Read `/imagine` or mention text: the options, or the private answer (help, a problem, `--ref`,
 * which only the sandbox takes) that ends the request before anything is posted or charged. A
 * problem carries its code; help and `--ref` are answers, not failures, and carry none.
 */
export function parseSlackImagineText(
  text: string,
): { ok: true; options: TypedImagineOptions } | { ok: false; code: ErrorCode | null; reply: string } {
  const parsed = parseImagineText(text);
  if (!parsed.ok) return { ok: false, code: parsed.failure.code, reply: parsed.failure.userMessage };
  if (parsed.kind === 'help') return { ok: false, code: null, reply: imagineHelpText() };
  if (parsed.refs.length > 0) return { ok: false, code: null, reply: REFS_ON_SLACK };
  return { ok: true, options: { prompt: parsed.prompt, model: parsed.model, ratio: parsed.ratio, seed: parsed.seed, count: parsed.count, tags: parsed.tags } };
}

/**
 * One log line per refused request, with its code: the reply the user sees carries no code, so this
 * is where operators (and tests) read why. Ids only, never what was typed.
 */
export function logRefusal(log: Logger, code: ErrorCode, requester: { team: string; user: string }): void {
  log.info('slack request refused', { code, team: requester.team, user: requester.user });
}

/** Check the request, post the placeholder, hand both to the core; every refusal goes to the requester alone. */
export async function runImagine(
  deps: ImagineFlowDeps,
  request: { requester: Requester; options: ImagineOptionsInput; location: SlackLocation; replyPrivately: ReplyPrivately },
): Promise<void> {
  const { api, core, log } = deps;
  const { requester, options, location, replyPrivately } = request;
  const check = await core.checkImagine(requester, options);
  if (!check.ok) {
    logRefusal(log, check.code, { team: requester.communityId, user: requester.userId });
    await replyPrivately(check.reply.text);
    return;
  }

  const head = placeholderHead(requester.userId, options.prompt);
  let posted: { ts: string; channel: string };
  try {
    posted = await api.postMessage({ channel: location.channel, threadTs: location.threadTs, text: acceptedText(head) });
  } catch (error) {
    log.warn('slack placeholder could not be posted', { channel: location.channel, error });
    const isMembership = error instanceof SlackApiError && CANNOT_POST.has(error.slackError);
    await replyPrivately(
      isMembership
        ? "I can't post in this conversation. Invite me first (`/invite @imagine-bot`), or use me in a channel I'm in. Nothing was charged."
        : 'Slack would not let me post here just now. Nothing was charged; please try again in a moment.',
    );
    return;
  }

  const placeholder = encodePlaceholder({
    team: requester.communityId,
    channel: posted.channel,
    ts: posted.ts,
    thread: location.threadTs,
    user: requester.userId,
    head,
  });
  try {
    const outcome = await core.imagine(requester, options, placeholder);
    if (outcome.ok) {
      log.info('slack imagine accepted', { jobId: outcome.jobId, team: requester.communityId, position: outcome.position });
      return;
    }
    // Rejected (not enough credits, a bad image…): nothing was charged, so the public placeholder goes.
    logRefusal(log, outcome.code, { team: requester.communityId, user: requester.userId });
    if (outcome.reply.visibility === 'public') {
      await api.updateMessage({ channel: posted.channel, ts: posted.ts, text: failureText(head, outcome.reply.text) });
      return;
    }
    await api.deleteMessage({ channel: posted.channel, ts: posted.ts }).catch((error: unknown) => log.warn('slack placeholder delete failed', { error }));
    await replyPrivately(outcome.reply.text);
  } catch (error) {
    const botError = asBotError(error);
    log.error('slack imagine failed', { error: botError, cause: botError.cause });
    await api.updateMessage({ channel: posted.channel, ts: posted.ts, text: failureText(head, botError.userMessage) }).catch(() => undefined);
  }
}
