/**
 * `@imagine-bot <prompt> [flags]` in a message, with 0 to 3 images attached: the way to send
 * references on Slack, since slash commands carry no files. Answers go into the mention's thread.
 * https://docs.slack.dev/reference/events/app_mention
 */
import { imagineHelpText } from '../../src/imagine/help.ts';
import { parseImagineText } from '../../src/imagine/text-command.ts';
import { REFS_ON_SLACK, type CommandDeps } from './commands.ts';
import { runImagine } from './imagine-flow.ts';
import type { AppMention } from './payloads.ts';
import { isOnSlackFileHost, notOnSlack, slackReference } from './references.ts';
import { escapeMrkdwn } from './texts.ts';

export interface MentionDeps extends CommandDeps {
  botToken: string;
  fileOrigins: readonly string[];
  redirectOrigins: readonly string[];
}

export async function handleMention(deps: MentionDeps, teamId: string, botUserId: string | undefined, event: AppMention): Promise<void> {
  const threadTs = event.thread_ts ?? event.ts;
  // Escaped: a reply may echo what was typed, and must not turn it into a mention.
  const replyPrivately = (text: string): Promise<void> =>
    deps.api.postEphemeral({ channel: event.channel, user: event.user, text: escapeMrkdwn(text), threadTs: event.thread_ts ?? null });

  const text = stripBotMention(event.text, botUserId);
  const parsed = parseImagineText(text);
  if (!parsed.ok) return replyPrivately(parsed.problem.userMessage);
  if (parsed.kind === 'help') return replyPrivately(imagineHelpText());
  if (parsed.refs.length > 0) return replyPrivately(REFS_ON_SLACK);

  // A file that is not on Slack's file host is refused before anything is fetched or charged.
  const foreign = event.files.find((file) => !isOnSlackFileHost(file, deps.fileOrigins));
  if (foreign !== undefined) {
    deps.log.warn('slack mention with a file off Slack', { channel: event.channel, fileId: foreign.id });
    return replyPrivately(notOnSlack(foreign).userMessage);
  }

  const requester = await deps.resolveRequester(teamId, event.user);
  await runImagine(deps, {
    requester,
    options: {
      prompt: parsed.prompt,
      model: parsed.model,
      ratio: parsed.ratio,
      seed: parsed.seed,
      tags: parsed.tags,
      references: event.files.map((file) =>
        slackReference(file, { botToken: deps.botToken, fileOrigins: deps.fileOrigins, redirectOrigins: deps.redirectOrigins }),
      ),
    },
    location: { channel: event.channel, threadTs },
    replyPrivately,
  });
}

/** The message text without the mention of the bot (`<@U123>` or `<@U123|imagine-bot>`). */
export function stripBotMention(text: string, botUserId: string | undefined): string {
  const pattern = botUserId === undefined ? /<@[UW][A-Z0-9]+(?:\|[^>]*)?>/ : new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g');
  return text.replace(pattern, ' ').trim();
}
