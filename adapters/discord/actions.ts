/**
 * Discord's side of the actions on a result (issue 9, item 5): the Upscale ×2 / ×4 and Vary buttons
 * under a result, the Vary form (a modal, Midjourney's Remix), and the Cancel button on a
 * placeholder. Every id is `imagine:<action>:<jobId>`, read back through zod: a tampered or garbage
 * id is refused clearly; the job itself is read from the database by the core, so a button on an
 * old message, or after a restart, works the same.
 * https://discord.com/developers/docs/interactions/message-components
 */
import { ButtonStyle, ComponentType, TextInputStyle, type APIActionRowComponent, type APIButtonComponent, type ButtonInteraction, type ModalSubmitInteraction } from 'discord.js';
import { z } from 'zod';
import { ACTION_BAD_BUTTON } from '../../src/actions/result-actions.ts';
import type { ResultOffer } from '../../src/actions/ports.ts';
import { requesterOf } from './permissions.ts';
import { deferWithPlaceholder, refusal, settleOutcome, tellPrivately, type InteractionDeps } from './interactions.ts';
import { formatCredits } from '../../src/credits/messages.ts';

const ACTIONS = ['upscale2', 'upscale4', 'vary', 'cancel'] as const;
type Action = (typeof ACTIONS)[number];

/** A job id as the bot makes them (a UUID; tests use short words): nothing else reaches the core. */
const jobIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
const actionIdSchema = z.string().transform((id, ctx) => {
  const [prefix, action, jobId, ...rest] = id.split(':');
  const parsed = z.enum(ACTIONS).safeParse(action);
  const job = jobIdSchema.safeParse(jobId);
  if (prefix !== 'imagine' || rest.length > 0 || !parsed.success || !job.success) {
    ctx.addIssue({ code: 'custom', message: 'not an action id' });
    return z.NEVER;
  }
  return { action: parsed.data, jobId: job.data };
});
/** The Vary form's id: `imagine:varyform:<jobId>`. */
const VARY_FORM = 'varyform';
const PROMPT_FIELD = 'prompt';
/** Discord's longest text input. https://discord.com/developers/docs/components/reference#text-input */
const MAX_TEXT_INPUT = 4000;

const idOf = (action: Action | typeof VARY_FORM, jobId: string): string => `imagine:${action}:${jobId}`;

/** An action button id, or null: the caller says so clearly. */
export function parseActionId(customId: string): { action: Action; jobId: string } | null {
  const parsed = actionIdSchema.safeParse(customId);
  return parsed.success ? parsed.data : null;
}

const credits = formatCredits;

/** The second row under a result: each offer with its price on the label. */
export function offerButtons(jobId: string, offers: readonly ResultOffer[]): APIActionRowComponent<APIButtonComponent>[] {
  if (offers.length === 0) return [];
  return [
    {
      type: ComponentType.ActionRow,
      components: offers.map((offer) => ({
        type: ComponentType.Button,
        style: ButtonStyle.Secondary,
        label: `${offer.label} · ${credits(offer.credits)}`,
        emoji: { name: offer.action === 'vary' ? '🎨' : '🔍' },
        custom_id: idOf(offer.action, jobId),
      })),
    },
  ];
}

/** The Cancel button on a placeholder while its job waits or runs. */
export function cancelButtons(jobId: string): APIActionRowComponent<APIButtonComponent>[] {
  return [{ type: ComponentType.ActionRow, components: [{ type: ComponentType.Button, style: ButtonStyle.Danger, label: 'Cancel', custom_id: idOf('cancel', jobId) }] }];
}

/** Whether a button id is one of these actions' (checked after Reroll and Delete). */
export function isActionId(customId: string): boolean {
  return customId.startsWith('imagine:');
}

/** Upscale, Vary (opens the form) and Cancel. */
export async function handleActionButton(interaction: ButtonInteraction & { guildId: string }, deps: InteractionDeps): Promise<void> {
  const parsed = parseActionId(interaction.customId);
  if (parsed === null) return refuseBadId(interaction, deps);
  const requester = requesterOf(interaction, deps.moderatorRoleId);
  switch (parsed.action) {
    case 'upscale2':
    case 'upscale4': {
      const placeholder = await deferWithPlaceholder(interaction, deps.clock);
      const factor = parsed.action === 'upscale2' ? 2 : 4;
      const outcome = await deps.core.upscale(requester, parsed.jobId, factor, placeholder).catch((error: unknown) => refusal(error));
      return settleOutcome(interaction, placeholder, outcome, deps);
    }
    case 'vary': {
      // A modal must be the first answer (within 3 s), so only the cheap draft is read here.
      const draft = await deps.core.varyDraft(requester, parsed.jobId);
      if (!draft.ok) {
        deps.log.info('discord: request refused', { code: draft.code, interactionId: interaction.id });
        return tellPrivately(interaction, draft.reply.text);
      }
      await interaction.showModal({
        custom_id: idOf(VARY_FORM, parsed.jobId),
        title: `Vary · ${credits(draft.priceCredits)}`,
        components: [
          {
            type: ComponentType.ActionRow,
            components: [
              {
                type: ComponentType.TextInput,
                custom_id: PROMPT_FIELD,
                label: 'Prompt (edit it, or keep it)',
                style: TextInputStyle.Paragraph,
                value: draft.prompt.slice(0, MAX_TEXT_INPUT),
                max_length: MAX_TEXT_INPUT,
                required: true,
              },
            ],
          },
        ],
      });
      return;
    }
    case 'cancel': {
      const outcome = await deps.core.cancel(requester, parsed.jobId);
      if (!outcome.ok) deps.log.info('discord: request refused', { code: outcome.code, interactionId: interaction.id });
      return tellPrivately(interaction, outcome.reply.text);
    }
    default: {
      const unreachable: never = parsed.action;
      return unreachable;
    }
  }
}

const varyFormSchema = z.object({ jobId: jobIdSchema, prompt: z.string().max(MAX_TEXT_INPUT) });

/** The Vary form sent back: a new public placeholder, then the core's vary with the (edited) prompt. */
export async function handleVaryForm(interaction: ModalSubmitInteraction & { guildId: string }, deps: InteractionDeps): Promise<void> {
  const [prefix, kind, jobId, ...rest] = interaction.customId.split(':');
  let prompt: string | null = null;
  try {
    prompt = interaction.fields.getTextInputValue(PROMPT_FIELD);
  } catch {
    prompt = null;
  }
  const form = varyFormSchema.safeParse({ jobId, prompt });
  if (prefix !== 'imagine' || kind !== VARY_FORM || rest.length > 0 || !form.success) return refuseBadId(interaction, deps);
  const requester = requesterOf(interaction, deps.moderatorRoleId);
  const placeholder = await deferWithPlaceholder(interaction, deps.clock);
  const outcome = await deps.core.vary(requester, form.data.jobId, form.data.prompt, placeholder).catch((error: unknown) => refusal(error));
  return settleOutcome(interaction, placeholder, outcome, deps);
}

async function refuseBadId(interaction: ButtonInteraction | ModalSubmitInteraction, deps: InteractionDeps): Promise<void> {
  deps.log.info('discord: request refused', { code: ACTION_BAD_BUTTON.code, interactionId: interaction.id });
  return tellPrivately(interaction, ACTION_BAD_BUTTON.userMessage);
}
