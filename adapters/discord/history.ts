import { escapeMarkdown } from 'discord.js';
import type { HistoryEntry } from '../../src/ports.ts';
import { clipContent, clipText } from './messages.ts';
import { formatCredits } from '../../src/credits/messages.ts';

/** Characters of each prompt /history shows. */
const HISTORY_PROMPT_CHARS = 80;

/** One line per result: the prompt (clipped, escaped), model, cost, when (Discord's own timestamp), and a link to the message. */
export function historyContent(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'You have no images in this server yet. Make one with `/imagine`.';
  const lines = entries.map((entry, index) => {
    const prompt = escapeMarkdown(clipText(entry.prompt.replace(/\s+/g, ' '), HISTORY_PROMPT_CHARS)).replace(/[<>@]/g, (c) => `\\${c}`);
    const images = entry.images > 1 ? ` · ${entry.images} images` : '';
    const credits = formatCredits(entry.costCredits);
    const link = entry.link === null ? '' : ` · [open](<${entry.link}>)`;
    return `${index + 1}. “${prompt}” · ${entry.modelLabel}${images} · ${credits} · <t:${Math.floor(entry.deliveredAt / 1000)}:R>${link}`;
  });
  return clipContent([`Your last ${entries.length === 1 ? 'image' : `${entries.length} images`} in this server:`, ...lines].join('\n'));
}
