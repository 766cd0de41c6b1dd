/**
 * The slash commands: `/imagine` (text only: slash commands carry no files), `/credits [@user]`
 * and `/quota …`. Each runs after Bolt has acknowledged the request.
 * https://docs.slack.dev/interactivity/implementing-slash-commands
 */
import { parseQuotaText } from '../../src/commands/quota-text.ts';
import { echo } from '../../src/imagine/user-text.ts';
import type { Reply } from '../../src/ports.ts';
import { logRefusal, parseSlackImagineText, runImagine, type ImagineFlowDeps, type ReplyPrivately } from './imagine-flow.ts';
import type { SlashCommand } from './payloads.ts';
import { historyText } from './texts.ts';
import { parseUserToken, type ResolveRequester } from './requester.ts';

export interface CommandDeps extends ImagineFlowDeps {
  resolveRequester: ResolveRequester;
}

/** How a slash command answers: privately (ephemeral) or to the channel. */
export interface CommandReplies {
  replyPrivately: ReplyPrivately;
  replyPublicly: (text: string) => Promise<void>;
  /** Privately, text that is mrkdwn already (links, dates), its typed parts escaped by whoever built it. */
  replyPrivatelyMrkdwn: (mrkdwn: string) => Promise<void>;
}

/** `/imagine <prompt> [--model m] [--ratio W:H] [--seed n] [--count n] [--tags a b c]`, `/imagine help`, or `/imagine history` (private). */
export async function handleImagineCommand(deps: CommandDeps, command: SlashCommand, replies: CommandReplies): Promise<void> {
  if (command.text.trim().toLowerCase() === 'history') {
    const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
    const outcome = await deps.core.history(requester);
    if (!outcome.ok) logRefusal(deps.log, outcome.code, { team: command.team_id, user: command.user_id });
    return outcome.ok ? replies.replyPrivatelyMrkdwn(historyText(outcome.entries)) : replies.replyPrivately(outcome.reply.text);
  }
  const parsed = parseSlackImagineText(command.text);
  if (!parsed.ok) {
    if (parsed.code !== null) logRefusal(deps.log, parsed.code, { team: command.team_id, user: command.user_id });
    return replies.replyPrivately(parsed.reply);
  }
  const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
  await runImagine(deps, {
    requester,
    options: { ...parsed.options, references: [] },
    location: { channel: command.channel_id, threadTs: null },
    replyPrivately: replies.replyPrivately,
  });
}

/** `/credits` for yourself, `/credits @user` for someone else (the core checks who may). */
export async function handleCreditsCommand(deps: CommandDeps, command: SlashCommand, replies: CommandReplies): Promise<void> {
  const target = command.text.trim();
  const subject = parseUserToken(target);
  if (target !== '' && subject === null) {
    return replies.replyPrivately(`I can't tell who ${echo(target)} is: mention them, like \`/credits @name\`.`);
  }
  // Only now, for a command that will run: users.info is not spent on a typo.
  const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
  return sendReply(replies, await deps.core.credits(requester, subject === null ? undefined : { userId: subject.userId, displayName: subject.userName }));
}

/** `/quota set|grant|allowance|cap|report …`: moderators only, decided by the core from server-side facts. */
export async function handleQuotaCommand(deps: CommandDeps, command: SlashCommand, replies: CommandReplies): Promise<void> {
  const parsed = parseQuotaText(command.text, parseUserToken);
  if (!parsed.ok) {
    logRefusal(deps.log, parsed.failure.code, { team: command.team_id, user: command.user_id });
    return replies.replyPrivately(parsed.failure.userMessage);
  }
  const requester = await deps.resolveRequester(command.team_id, command.user_id, command.user_name);
  return sendReply(replies, await deps.core.quota(requester, parsed.command));
}

function sendReply(replies: CommandReplies, reply: Reply): Promise<void> {
  return reply.visibility === 'public' ? replies.replyPublicly(reply.text) : replies.replyPrivately(reply.text);
}
