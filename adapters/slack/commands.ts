/**
 * The slash commands: `/imagine` (text only: slash commands carry no files), `/credits [@user]`
 * and `/quota …`. Each runs after Bolt has acknowledged the request.
 * https://docs.slack.dev/interactivity/implementing-slash-commands
 */
import { parseQuotaText } from '../../src/commands/quota-text.ts';
import { imagineHelpText } from '../../src/imagine/help.ts';
import { parseImagineText } from '../../src/imagine/text-command.ts';
import type { Reply } from '../../src/ports.ts';
import { runImagine, type ImagineFlowDeps, type ReplyPrivately } from './imagine-flow.ts';
import type { SlashCommand } from './payloads.ts';
import { parseUserToken, type ResolveRequester } from './requester.ts';

export interface CommandDeps extends ImagineFlowDeps {
  resolveRequester: ResolveRequester;
}

/** How a slash command answers: privately (ephemeral) or to the channel. */
export interface CommandReplies {
  replyPrivately: ReplyPrivately;
  replyPublicly: (text: string) => Promise<void>;
}

export const REFS_ON_SLACK =
  "`--ref` works in the terminal sandbox only. On Slack, attach 1 to 3 images to a message that mentions me: `@imagine-bot a cat in a hat --tags cat`.";

/** `/imagine <prompt> [--model m] [--ratio W:H] [--seed n] [--tags a b c]`, or `/imagine help`. */
export async function handleImagineCommand(deps: CommandDeps, command: SlashCommand, replies: CommandReplies): Promise<void> {
  const parsed = parseImagineText(command.text);
  if (!parsed.ok) return replies.replyPrivately(parsed.problem.userMessage);
  if (parsed.kind === 'help') return replies.replyPrivately(imagineHelpText());
  if (parsed.refs.length > 0) return replies.replyPrivately(REFS_ON_SLACK);
  const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
  await runImagine(deps, {
    requester,
    options: { prompt: parsed.prompt, model: parsed.model, ratio: parsed.ratio, seed: parsed.seed, tags: parsed.tags, references: [] },
    location: { channel: command.channel_id, threadTs: null },
    replyPrivately: replies.replyPrivately,
  });
}

/** `/credits` for yourself, `/credits @user` for someone else (the core checks who may). */
export async function handleCreditsCommand(deps: CommandDeps, command: SlashCommand, replies: CommandReplies): Promise<void> {
  const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
  const target = command.text.trim();
  if (target === '') return sendReply(replies, deps.core.credits(requester));
  const subject = parseUserToken(target);
  if (subject === null) {
    return replies.replyPrivately(`I can't tell who \`${target.replace(/`/g, "'").slice(0, 40)}\` is: mention them, like \`/credits @name\`.`);
  }
  return sendReply(replies, deps.core.credits(requester, { userId: subject.userId, displayName: subject.userName }));
}

/** `/quota set|grant|allowance|cap|report …`: moderators only, decided by the core from server-side facts. */
export async function handleQuotaCommand(deps: CommandDeps, command: SlashCommand, replies: CommandReplies): Promise<void> {
  const parsed = parseQuotaText(command.text, parseUserToken);
  if (!parsed.ok) return replies.replyPrivately(parsed.problem.userMessage);
  const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
  return sendReply(replies, deps.core.quota(requester, parsed.command));
}

function sendReply(replies: CommandReplies, reply: Reply): Promise<void> {
  return reply.visibility === 'public' ? replies.replyPublicly(reply.text) : replies.replyPrivately(reply.text);
}
