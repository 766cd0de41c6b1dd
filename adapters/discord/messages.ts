import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIButtonComponent } from 'discord.js';
import { z } from 'zod';
import type { Delivery, JobStatusView } from '../../src/ports.ts';

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

export function clipContent(text: string): string {
  return text.length <= MAX_CONTENT_CHARS ? text : `${text.slice(0, MAX_CONTENT_CHARS - 1)}…`;
}

/** The text above a delivered image: who asked, the prompt, the settings. */
export function resultContent(delivery: Delivery, mentionUser: boolean): string {
  const who = mentionUser ? `<@${delivery.requester.userId}>, your image is ready.\n` : '';
  return clipContent(`${who}${delivery.caption}`);
}

/** Button ids carry the action and the job: `imagine:reroll:<jobId>`. Discord caps them at 100 characters. */
const customIdSchema = z
  .string()
  .regex(/^imagine:(reroll|delete):(.+)$/)
  .transform((id) => {
    const [, action, jobId] = /^imagine:(reroll|delete):(.+)$/.exec(id) ?? [];
    return { action: action as 'reroll' | 'delete', jobId: jobId ?? '' };
  });

export type ButtonAction = z.infer<typeof customIdSchema>;

export function parseCustomId(customId: string): ButtonAction | null {
  const parsed = customIdSchema.safeParse(customId);
  return parsed.success ? parsed.data : null;
}

/** The reroll and delete buttons under a result. */
export function resultButtons(jobId: string): APIActionRowComponent<APIButtonComponent>[] {
  return [
    {
      type: ComponentType.ActionRow,
      components: [
        { type: ComponentType.Button, style: ButtonStyle.Primary, label: 'Reroll', emoji: { name: '🎲' }, custom_id: `imagine:reroll:${jobId}` },
        { type: ComponentType.Button, style: ButtonStyle.Secondary, label: 'Delete', emoji: { name: '🗑️' }, custom_id: `imagine:delete:${jobId}` },
      ],
    },
  ];
}
