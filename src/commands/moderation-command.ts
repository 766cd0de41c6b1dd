/**
 * `/quota pardon <user>` and `/quota block-words add|remove|list …`: a moderator's answers to
 * Runway's content moderation. Permission is checked here, whatever the platform showed. Word
 * lists are answered privately: posting them would advertise what is blocked.
 */
import { describeCurrentPeriod } from '../credits/messages.ts';
import type { ErrorCode } from '../errors.ts';
import { MAX_BLOCKED_ENTRIES, MAX_ENTRY_LENGTH, type Moderation } from '../moderation/moderation.ts';
import type { QuotaCommand, Requester } from '../ports.ts';
import { NOT_MODERATOR, type CommandReplyCode, type CommandResult } from './credits-command.ts';

type ModerationCommand = Extract<QuotaCommand, { action: 'pardon' | 'block-words' }>;

/** Carry out `pardon` or `block-words` for `requester`. */
export async function moderationCommand(moderation: Moderation, requester: Requester, command: ModerationCommand): Promise<CommandResult> {
  if (!requester.isModerator) return reply(NOT_MODERATOR.code, NOT_MODERATOR.userMessage);
  const communityId = requester.communityId;
  if (command.action === 'pardon') {
    const name = command.userName ?? command.userId;
    const forgiven = await moderation.pardon(communityId, command.userId, name);
    const what = forgiven === 0 ? 'had no strikes to forgive' : `had ${forgiven} ${forgiven === 1 ? 'strike' : 'strikes'} forgiven`;
    return { code: 'quota.pardoned', reply: { visibility: 'public', text: `${requester.displayName} lifted ${name}'s pause: they ${what} and can use /imagine again.` } };
  }
  switch (command.operation) {
    case 'list': {
      const words = await moderation.blockedWords(communityId);
      return reply('quota.blocked_words', words.length === 0 ? 'No blocked words in this community. Add some with `/quota block-words add word, another phrase`.' : `Blocked words (${words.length}): ${words.map(quote).join(', ')}.`);
    }
    case 'add': {
      if (command.entries.length === 0) return reply('quota.usage', 'Usage: `/quota block-words add word, another phrase`.');
      const result = await moderation.addBlockedWords(communityId, command.entries, requester.userId);
      const lines = [];
      if (result.added.length > 0) lines.push(`Blocked: ${result.added.map(quote).join(', ')}. Prompts containing them are refused at no cost.`);
      if (result.known.length > 0) lines.push(`Already blocked: ${result.known.map(quote).join(', ')}.`);
      if (result.unusable.length > 0) lines.push(`Not usable (no letters or digits, or longer than ${MAX_ENTRY_LENGTH} characters): ${result.unusable.map(quote).join(', ')}.`);
      if (result.full.length > 0) lines.push(`Not added, the list is full (${MAX_BLOCKED_ENTRIES} entries; remove some first): ${result.full.map(quote).join(', ')}.`);
      return reply('quota.blocked_words', lines.join('\n'));
    }
    case 'remove': {
      if (command.entries.length === 0) return reply('quota.usage', 'Usage: `/quota block-words remove word, another phrase`.');
      const result = await moderation.removeBlockedWords(communityId, command.entries);
      const lines = [];
      if (result.removed.length > 0) lines.push(`No longer blocked: ${result.removed.map(quote).join(', ')}.`);
      if (result.missing.length > 0) lines.push(`Not on the list: ${result.missing.map(quote).join(', ')}. \`/quota block-words list\` shows it.`);
      return reply('quota.blocked_words', lines.join('\n'));
    }
  }
}

/** The moderation lines of `/quota report`: declined generations this window, per member, and the pause rule. */
export async function strikesSummary(moderation: Moderation, communityId: string): Promise<string> {
  const rule = moderation.strikeRule;
  const members = await moderation.communityStrikes(communityId);
  const total = members.reduce((sum, member) => sum + member.strikes, 0);
  const window = describeCurrentPeriod(rule?.period ?? 'day');
  const who = members.length === 0 ? '' : ` (${members.map((m) => `${m.displayName} ${m.strikes}`).join(', ')})`;
  const pause = rule ? `a member is paused after ${rule.count} in a ${rule.period}; \`/quota pardon\` lifts it` : 'members are never paused (MODERATION_STRIKES=off)';
  return `Declined by Runway's moderation ${window}: ${total}${who}; ${pause}.`;
}

/** Entries typed after add/remove: comma-separated phrases, or else single words. */
export function splitEntries(text: string): string[] {
  const parts = text.includes(',') ? text.split(',') : text.split(/\s+/);
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

function quote(entry: string): string {
  return `"${entry.replace(/`/g, "'").slice(0, MAX_ENTRY_LENGTH + 10)}"`;
}

function reply(code: CommandReplyCode | ErrorCode, text: string): CommandResult {
  return { code, reply: { visibility: 'private', text } };
}
