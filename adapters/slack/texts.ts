/**
 * What the Slack adapter writes into messages. Everything a user typed is escaped, so a prompt
 * containing `<!channel>` cannot make the bot ping a whole channel.
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
import type { Delivery, HistoryEntry, JobStatusView } from '../../src/ports.ts';
import { formatCredits, formatUtc } from '../../src/credits/messages.ts';

const HEAD_PROMPT_CHARS = 150;

/** Escape the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The line every placeholder starts with: who asked for what. */
export function placeholderHead(userId: string, prompt: string): string {
  const short = prompt.length > HEAD_PROMPT_CHARS ? `${prompt.slice(0, HEAD_PROMPT_CHARS - 1)}…` : prompt;
  return `<@${userId}> asked for “${escapeMrkdwn(short)}”`;
}

export function acceptedText(head: string): string {
  return `:hourglass_flowing_sand: ${head}\nQueued…`;
}

export function statusText(head: string, status: JobStatusView): string {
  switch (status.kind) {
    case 'queued':
      return `:hourglass_flowing_sand: ${head}\n${status.position <= 1 ? 'Queued: next up…' : `Queued: position ${status.position}…`}`;
    case 'starting':
      return `:rocket: ${head}\nStarting the generation…`;
    case 'running':
      return `:art: ${head}\n${status.progress === null ? 'Generating…' : `Generating… ${progressBar(status.progress)} ${Math.round(status.progress * 100)}%`}`;
    case 'delivering':
      return `:outbox_tray: ${head}\nUploading the result…`;
    default: {
      const unreachable: never = status;
      return String(unreachable);
    }
  }
}

export function doneText(head: string): string {
  return `:white_check_mark: ${head}\nDone: the image is below.`;
}

export function failureText(head: string, userMessage: string): string {
  return `:warning: ${head}\n${escapeMrkdwn(userMessage)}`;
}

/** The comment shared with the image: the requester, the prompt and the settings. */
export function deliveryComment(delivery: Delivery): string {
  return `<@${delivery.requester.userId}>: *${escapeMrkdwn(delivery.prompt)}*\n${escapeMrkdwn(delivery.caption)}`;
}

const HISTORY_PROMPT_CHARS = 80;

/** `/imagine history`: one line per result, prompt clipped and escaped, Slack's own date, and a link to the message. */
export function historyText(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'You have no images in this workspace yet. Make one with `/imagine a koi pond at dawn`.';
  const lines = entries.map((entry, index) => {
    const flat = entry.prompt.replace(/\s+/g, ' ');
    const prompt = escapeMrkdwn(flat.length > HISTORY_PROMPT_CHARS ? `${flat.slice(0, HISTORY_PROMPT_CHARS - 1)}…` : flat);
    const images = entry.images > 1 ? ` · ${entry.images} images` : '';
    const credits = formatCredits(entry.costCredits);
    const seconds = Math.floor(entry.deliveredAt / 1000);
    const when = `<!date^${seconds}^{date_short_pretty} {time}|${formatUtc(entry.deliveredAt)}>`;
    const link = entry.link === null ? '' : ` · <${entry.link}|open>`;
    return `${index + 1}. “${prompt}” · ${escapeMrkdwn(entry.modelLabel)}${images} · ${credits} · ${when}${link}`;
  });
  return [`Your last ${entries.length === 1 ? 'image' : `${entries.length} images`} in this workspace:`, ...lines].join('\n');
}

function progressBar(progress: number): string {
  const filled = Math.max(0, Math.min(10, Math.round(progress * 10)));
  return `${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)}`;
}
