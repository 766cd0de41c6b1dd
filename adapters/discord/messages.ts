import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent } from 'discord.js';
import type { ResultOffer } from '../../src/actions/ports.ts';
import type { Delivery, JobStatusView } from '../../src/ports.ts';
import { offerButtons } from './actions.ts';

/** What the placeholder says while a job is under way. */
export function statusText(status: JobStatusView): string {
  switch (status.kind) {
    case 'queued':
      return status.position <= 1 ? '⏳ Queued: you are next.' : `⏳ Queued: position ${status.position} in line.`;
    case 'starting':
      return '🎨 Starting the generation…';
    case 'running':
      return status.progress === null ? '🎨 Generating…' : `🎨 Generating… ${Math.round(Math.min(1, Math.max(0, status.progress)) * 100)}%`;
    case 'delivering':
      return '📤 Almost there: uploading the image…';
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

/** Discord's message content limit. https://discord.com/developers/docs/resources/message#create-message-jsonform-params */
const MAX_CONTENT_CHARS = 2000;

/** Cut text to one of Discord's length limits, marking the cut with an ellipsis. */
export function clipText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** Message content cut to Discord's 2000 characters. */
export function clipContent(text: string): string {
  return clipText(text, MAX_CONTENT_CHARS);
}

/** The text above a delivered image: who asked, the prompt, the settings. */
export function resultContent(delivery: Delivery, mentionUser: boolean): string {
  const who = mentionUser ? `<@${delivery.requester.userId}>, your image is ready.\n` : '';
  return clipContent(`${who}${delivery.caption}`);
}

/** Button ids carry the action and the job: `imagine:reroll:<jobId>`. Discord caps them at 100 characters. */
type ButtonAction = { readonly action: 'reroll' | 'delete'; readonly jobId: string };
const CUSTOM_ID = /^imagine:(reroll|delete):(.+)$/;
const customIdOf = ({ action, jobId }: ButtonAction): string => `imagine:${action}:${jobId}`;

/** The action of a button we made, or null for an id that is not ours. */
export function parseCustomId(customId: string): ButtonAction | null {
  const [, action, jobId] = CUSTOM_ID.exec(customId) ?? [];
  return (action === 'reroll' || action === 'delete') && jobId !== undefined ? { action, jobId } : null;
}

/** The reroll and delete buttons under a result; then the priced offers (Upscale, Vary: ./actions.ts) on a row of their own. */
export function resultButtons(jobId: string, offers: readonly ResultOffer[] = []): APIActionRowComponent<APIButtonComponent>[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        { type: ComponentType.Button, style: ButtonStyle.Primary, label: 'Reroll', emoji: { name: '🎲' }, custom_id: customIdOf({ action: 'reroll', jobId }) },
        { type: ComponentType.Button, style: ButtonStyle.Secondary, label: 'Delete', emoji: { name: '🗑️' }, custom_id: customIdOf({ action: 'delete', jobId }) },
      ],
    },
    ...offerButtons(jobId, offers),
  ];
}
