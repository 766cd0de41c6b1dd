import {
  MessageFlags,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type ModalSubmitInteraction,
  type RepliableInteraction,
  type User,
} from 'discord.js';
import type { Clock } from '../../src/clock.ts';
import { asBotError } from '../../src/errors.ts';
import { splitEntries } from '../../src/commands/moderation-command.ts';
import { splitTagInput } from '../../src/imagine/tags.ts';
import type { Logger } from '../../src/log.ts';
import type { BotCore, ImagineOptionsInput, ImagineOutcome, QuotaCommand, Reply } from '../../src/ports.ts';
import { historyContent } from './history.ts';
import { clipContent, parseCustomId } from './messages.ts';
import { displayNameOf, requesterOf } from './permissions.ts';
import { DEFAULT_ATTACHMENT_SIZE_LIMIT_BYTES, serialisePlaceholder } from './placeholder.ts';
import { ratioChoices } from './ratios.ts';
import { referenceFromAttachment } from './references.ts';
import type { DiscordSurface } from './surface.ts';
import { handleActionButton, handleVaryForm, isActionId } from './actions.ts';

/** What the interaction handlers need: the core, our surface, and the operator's settings. */
export interface InteractionDeps {
  readonly core: BotCore;
  readonly surface: DiscordSurface;
  readonly log: Logger;
  readonly clock: Clock;
  readonly moderatorRoleId: string | undefined;
  /** Origins reference downloads may come from: Discord's CDN plus the operator's extras. */
  readonly mediaOrigins: readonly string[];
}

const SERVERS_ONLY = 'I work in servers, where credits are shared by the community. Invite me to a server and use `/imagine` there.';
export const NOT_YOURS = 'Only the person who asked for this image, or a moderator, can delete it. Ask one of them if it should go.';
export const UNKNOWN_BUTTON = 'That button is no longer in use. Run `/imagine` again for a new picture.';
const UNKNOWN_COMMAND = 'I do not know that command any more; it will disappear shortly. Use `/imagine`, `/history`, `/credits` or `/quota` instead.';

type GuildInteraction<T extends Interaction> = T & { guildId: string };
const inGuild = <T extends Interaction>(interaction: T): interaction is GuildInteraction<T> => interaction.guildId !== null;

/** Route one interaction to its handler. Never throws: failures are logged and, where possible, told to the user. */
export async function routeInteraction(interaction: Interaction, deps: InteractionDeps): Promise<void> {
  try {
    // The operator pays: a server it does not serve gets one polite refusal and nothing else.
    const admission = interaction.guildId === null ? null : await deps.core.admission('discord', interaction.guildId);
    if (interaction.isAutocomplete()) return await (admission?.ok === false ? interaction.respond([]) : answerAutocomplete(interaction));
    if (interaction.isChatInputCommand() || interaction.isButton() || interaction.isModalSubmit()) {
      if (!inGuild(interaction)) return await tellPrivately(interaction, SERVERS_ONLY);
      if (admission?.ok === false) {
        // Logged with its code like every other refusal: the reply itself carries none.
        deps.log.info('discord: request refused', { code: admission.failure.code, interactionId: interaction.id });
        return await tellPrivately(interaction, admission.failure.userMessage);
      }
      if (interaction.isButton()) return await handleButton(interaction, deps);
      // Only our own forms exist (Vary); any other modal id is refused there as not ours.
      if (interaction.isModalSubmit()) return await handleVaryForm(interaction, deps);
      switch (interaction.commandName) {
        case 'imagine':
          return await handleImagine(interaction, deps);
        case 'credits':
          return await handleCredits(interaction, deps);
        case 'quota':
          return await handleQuota(interaction, deps);
        case 'history':
          return await handleHistory(interaction, deps);
        default:
          return await tellPrivately(interaction, UNKNOWN_COMMAND);
      }
    }
  } catch (error) {
    const botError = asBotError(error, 'discord.interaction_failed');
    deps.log.error('discord: interaction failed', { code: botError.code, interactionId: interaction.id, error });
    if (interaction.isRepliable()) await tellPrivately(interaction, botError.userMessage).catch(() => undefined);
  }
}

/** The ratio list of the model picked so far, filtered by what the user typed. */
async function answerAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name !== 'ratio') return interaction.respond([]);
  await interaction.respond(ratioChoices(interaction.options.getString('model'), String(focused.value)));
}

function imagineOptionsOf(interaction: ChatInputCommandInteraction, mediaOrigins: readonly string[]): ImagineOptionsInput {
  const attachments = ['image1', 'image2', 'image3']
    .map((name) => interaction.options.getAttachment(name))
    .filter((attachment) => attachment !== null);
  const tags = splitTagInput([interaction.options.getString('tags') ?? '']);
  return {
    prompt: interaction.options.getString('prompt', true),
    model: interaction.options.getString('model') ?? undefined,
    ratio: interaction.options.getString('ratio') ?? undefined,
    seed: interaction.options.getInteger('seed') ?? undefined,
    count: interaction.options.getInteger('count') ?? undefined,
    tags: tags.length > 0 ? tags : undefined,
    references: attachments.map((attachment) => referenceFromAttachment(attachment, mediaOrigins)),
  };
}

/**
 * /imagine: check cheaply, defer within Discord's 3 s, then hand the job to the core with a
 * placeholder it can edit. https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction
 */
async function handleImagine(interaction: GuildInteraction<ChatInputCommandInteraction>, deps: InteractionDeps): Promise<void> {
  const requester = requesterOf(interaction, deps.moderatorRoleId);
  const options = imagineOptionsOf(interaction, deps.mediaOrigins);
  const check = await deps.core.checkImagine(requester, options);
  if (!check.ok) {
    deps.log.info('discord: request refused', { code: check.code, interactionId: interaction.id });
    return replyWith(interaction, check.reply);
  }
  const placeholder = await deferWithPlaceholder(interaction, deps.clock);
  const outcome = await deps.core.imagine(requester, options, placeholder).catch((error: unknown) => refusal(error));
  await settleOutcome(interaction, placeholder, outcome, deps);
}

/** Reroll makes a new public placeholder (the button's own reply) and asks the core for a new seed. */
async function handleButton(interaction: GuildInteraction<ButtonInteraction>, deps: InteractionDeps): Promise<void> {
  const action = parseCustomId(interaction.customId);
  // Upscale, Vary and Cancel (./actions.ts) refuse a tampered id themselves.
  if (action === null && isActionId(interaction.customId)) return handleActionButton(interaction, deps);
  if (action === null) return tellPrivately(interaction, UNKNOWN_BUTTON);
  const requester = requesterOf(interaction, deps.moderatorRoleId);
  switch (action.action) {
    case 'reroll': {
      const placeholder = await deferWithPlaceholder(interaction, deps.clock);
      const outcome = await deps.core.reroll(requester, action.jobId, placeholder).catch((error: unknown) => refusal(error));
      return settleOutcome(interaction, placeholder, outcome, deps);
    }
    case 'delete': {
      if (!(await deps.core.mayDeleteResult(requester, action.jobId))) return tellPrivately(interaction, NOT_YOURS);
      // For a component interaction, @original is the message the button sits on.
      await interaction.deferUpdate();
      await interaction.deleteReply();
      return;
    }
    default: {
      const unreachable: never = action.action;
      return unreachable;
    }
  }
}

async function handleCredits(interaction: GuildInteraction<ChatInputCommandInteraction>, deps: InteractionDeps): Promise<void> {
  const requester = requesterOf(interaction, deps.moderatorRoleId);
  const user = interaction.options.getUser('user');
  const subject = user === null || user.id === requester.userId ? undefined : pickedUser(interaction, user);
  await replyWith(interaction, await deps.core.credits(requester, subject));
}

/** The member picked in the `user` option, with the name Discord shows for them in this server. */
function pickedUser(interaction: ChatInputCommandInteraction, user: User): { userId: string; displayName: string } {
  return { userId: user.id, displayName: displayNameOf(user, interaction.options.getMember('user')) };
}

/** /history: always ephemeral, formatted here from the core's entries. */
async function handleHistory(interaction: GuildInteraction<ChatInputCommandInteraction>, deps: InteractionDeps): Promise<void> {
  const outcome = await deps.core.history(requesterOf(interaction, deps.moderatorRoleId));
  if (!outcome.ok) deps.log.info('discord: request refused', { code: outcome.code, interactionId: interaction.id });
  await replyWith(interaction, { visibility: 'private', text: outcome.ok ? historyContent(outcome.entries) : outcome.reply.text });
}

async function handleQuota(interaction: GuildInteraction<ChatInputCommandInteraction>, deps: InteractionDeps): Promise<void> {
  const requester = requesterOf(interaction, deps.moderatorRoleId);
  await replyWith(interaction, await deps.core.quota(requester, quotaCommandOf(interaction)));
}

/** The /quota sub-command as the core's QuotaCommand; amounts stay text so the core explains bad ones. */
function quotaCommandOf(interaction: ChatInputCommandInteraction): QuotaCommand {
  const subcommand = interaction.options.getSubcommand(true);
  const amount = () => String(interaction.options.getInteger('amount', true));
  const period = () => interaction.options.getString('period') ?? undefined;
  const target = () => {
    const { userId, displayName } = pickedUser(interaction, interaction.options.getUser('user', true));
    return { userId, userName: displayName };
  };
  switch (subcommand) {
    case 'set':
      return { action: 'set', ...target(), amount: amount() };
    case 'grant':
      return { action: 'grant', ...target(), amount: amount() };
    case 'allowance':
      return { action: 'allowance', amount: amount(), period: period() };
    case 'cap':
      return { action: 'cap', amount: amount(), period: period() };
    case 'pardon':
      return { action: 'pardon', ...target() };
    case 'block-words': {
      const action = interaction.options.getString('action', true);
      const operation = action === 'add' || action === 'remove' ? action : 'list';
      return { action: 'block-words', operation, entries: splitEntries(interaction.options.getString('words') ?? '') };
    }
    default:
      return { action: 'report' };
  }
}

/**
 * Defer (the public "thinking…" placeholder) and return what the core stores for it: @original's
 * ids plus what delivery needs after a restart. `withResponse` makes the callback's own answer
 * carry @original, so its id costs no second request.
 */
export async function deferWithPlaceholder(interaction: GuildInteraction<ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction>, clock: Clock): Promise<string> {
  const response = await interaction.deferReply({ withResponse: true });
  // The message id lets the channel fallback remove a placeholder whose token has died.
  const message = response.resource?.message ?? null;
  return serialisePlaceholder({
    v: 1,
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    guildId: interaction.guildId,
    channelId: interaction.channelId ?? message?.channelId ?? '',
    messageId: message?.id ?? null,
    userId: interaction.user.id,
    // Our clock, not the snowflake's: tests and the 15-minute rule then share one notion of time.
    createdAtMs: clock.now(),
    attachmentSizeLimitBytes: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_SIZE_LIMIT_BYTES,
  });
}

/** After the core answered: show the queue position, or swap the public placeholder for a private refusal. */
export async function settleOutcome(interaction: RepliableInteraction, placeholder: string, outcome: ImagineOutcome, deps: InteractionDeps): Promise<void> {
  if (outcome.ok) {
    await deps.surface.showInitialStatus(placeholder, { kind: 'queued', position: outcome.position }, outcome.jobId);
    return;
  }
  deps.log.info('discord: request refused', { code: outcome.code, interactionId: interaction.id });
  if (outcome.reply.visibility === 'public') {
    await interaction.editReply({ content: clipContent(outcome.reply.text), allowedMentions: { parse: [] } });
    return;
  }
  // A deferred reply cannot turn ephemeral: say it privately, then remove the public "thinking…".
  await tellPrivately(interaction, outcome.reply.text);
  await interaction.deleteReply();
}

export function refusal(error: unknown): ImagineOutcome {
  const botError = asBotError(error);
  return { ok: false, code: botError.code, reply: { visibility: 'private', text: botError.userMessage } };
}

async function replyWith(interaction: RepliableInteraction, reply: Reply): Promise<void> {
  await interaction.reply({
    content: clipContent(reply.text),
    allowedMentions: { parse: [] },
    ...(reply.visibility === 'private' ? { flags: MessageFlags.Ephemeral } : {}),
  });
}

/** Tell the user privately whatever state the interaction is in (not yet answered, deferred, replied). */
export async function tellPrivately(interaction: RepliableInteraction, text: string): Promise<void> {
  const message = { content: clipContent(text), flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } } as const;
  if (interaction.deferred || interaction.replied) await interaction.followUp(message);
  else await interaction.reply(message);
}

