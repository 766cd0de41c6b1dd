/**
 * `@imagine-bot <prompt> [flags]` in a message, with images attached: the way to send
 * references on Slack, since slash commands carry no files. Answers go into the mention's thread.
 * https://docs.slack.dev/reference/events/app_mention
 */
import type { CommandDeps } from './commands.ts';
import { logRefusal, parseSlackImagineText, runImagine, type ReplyPrivately } from './imagine-flow.ts';
import type { AppMention } from './payloads.ts';
import { fileNotOnSlack, isOnSlackFileHost, slackReference, type SlackFileAccess } from './references.ts';
import type { SlackApi } from './slack-api.ts';
import { escapeMrkdwn } from './texts.ts';

export interface MentionDeps extends CommandDeps, SlackFileAccess {}

/** Answers the person who mentioned the bot, alone, in the mention's thread (if it was in one). */
export function replyToMentioner(api: SlackApi, origin: { channel: string; user: string; thread_ts?: string | undefined }): ReplyPrivately {
  // Escaped: a reply may echo what was typed, and must not turn it into a mention.
  return (text) => api.postEphemeral({ channel: origin.channel, user: origin.user, text: escapeMrkdwn(text), threadTs: origin.thread_ts ?? null });
}

export async function handleMention(deps: MentionDeps, teamId: string, botUserId: string | undefined, event: AppMention): Promise<void> {
  const replyPrivately = replyToMentioner(deps.api, event);
  const parsed = parseSlackImagineText(stripBotMention(event.text, botUserId));
  if (!parsed.ok) {
    if (parsed.code !== null) logRefusal(deps.log, parsed.code, { team: teamId, user: event.user });
    return replyPrivately(parsed.reply);
  }

  // A file that is not on Slack's file host is refused before anything is fetched or charged.
  const foreign = event.files.find((file) => !isOnSlackFileHost(file, deps.fileOrigins));
  if (foreign !== undefined) {
    deps.log.warn('slack mention with a file off Slack', { channel: event.channel, fileId: foreign.id });
    const refusal = fileNotOnSlack(foreign);
    logRefusal(deps.log, refusal.code, { team: teamId, user: event.user });
    return replyPrivately(refusal.userMessage);
  }

  const requester = await deps.resolveRequester(teamId, event.user);
  await runImagine(deps, {
    requester,
    options: { ...parsed.options, references: event.files.map((file) => slackReference(file, deps)) },
    location: { channel: event.channel, threadTs: event.thread_ts ?? event.ts },
    replyPrivately,
  });
}

/** The message text without the mention of the bot (`<@U123>` or `<@U123|imagine-bot>`). */
export function stripBotMention(text: string, botUserId: string | undefined): string {
  const pattern = botUserId === undefined ? /<@[UW][A-Z0-9]+(?:\|[^>]*)?>/ : new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g');
  return text.replace(pattern, ' ').trim();
}
