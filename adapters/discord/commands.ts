import {
  ApplicationCommandOptionType,
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandAttachmentOption,
  type APIApplicationCommandIntegerOption,
  type APIApplicationCommandStringOption,
  type APIApplicationCommandUserOption,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import { largestOfferedCount } from '../../src/imagine/count.ts';
import { MAX_SEED } from '../../src/imagine/seed.ts';
import { defaultModel, offeredModels } from '../../src/models.ts';
import { clipText } from './messages.ts';

/**
 * The slash commands, as the JSON Discord's bulk-overwrite route takes. Model choices come from
 * the catalogue (src/models.ts), so adding a model there adds it here; a model the operator hides
 * (MODELS) is left out. Built when the adapter starts, after the core has applied MODELS.
 * https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands
 */

/** Discord caps names and descriptions of choices and options at 100 characters. */
const MAX_CHOICE_NAME_CHARS = 100;
/** Discord takes at most 25 choices for an option. */
export const MAX_OPTION_CHOICES = 25;
/** Discord's longest string option (`max_length`). */
export const MAX_STRING_OPTION_CHARS = 6000;

const PERIOD_CHOICES = [
  { name: 'per day', value: 'day' },
  { name: 'per week', value: 'week' },
  { name: 'per month', value: 'month' },
  { name: 'no reset (one-off budget)', value: 'none' },
];

/** Only in servers: credits belong to a community. The adapter still answers DMs politely. */
const guildOnly = (): { contexts: InteractionContextType[]; integration_types: ApplicationIntegrationType[] } => ({
  contexts: [InteractionContextType.Guild],
  integration_types: [ApplicationIntegrationType.GuildInstall],
});

function imagineCommand(): RESTPutAPIApplicationCommandsJSONBody[number] {
  const models = offeredModels();
  if (models.length > MAX_OPTION_CHOICES) throw new Error(`Discord takes at most ${MAX_OPTION_CHOICES} model choices; ${models.length} models are offered`);
  // The longest prompt any offered model takes, within what Discord allows; the core checks each model's own limit.
  const maxPromptUnits = Math.min(MAX_STRING_OPTION_CHARS, Math.max(...models.map((model) => model.maxPromptUnits)));
  const maxCount = largestOfferedCount();
  const imageOption = (index: number): APIApplicationCommandAttachmentOption => ({
    type: ApplicationCommandOptionType.Attachment,
    name: `image${index}`,
    description: index === 1 ? 'A reference image (PNG, JPEG or WebP); call it @image1 in the prompt' : `Another reference image; call it @image${index}`,
    required: false,
  });
  return {
    name: 'imagine',
    description: 'Generate an image with Runway',
    ...guildOnly(),
    options: [
      { type: ApplicationCommandOptionType.String, name: 'prompt', description: 'What to draw. Mention reference images as @image1, @image2…', required: true, max_length: maxPromptUnits },
      {
        type: ApplicationCommandOptionType.String,
        name: 'model',
        description: `Which Runway model to use (default: ${defaultModel().label})`,
        required: false,
        choices: models.map((model) => ({ name: clipText(`${model.label}: ${model.description}`, MAX_CHOICE_NAME_CHARS), value: model.id })),
      },
      { type: ApplicationCommandOptionType.String, name: 'ratio', description: "Width:height in pixels; the list shows the chosen model's sizes", required: false, autocomplete: true },
      imageOption(1),
      imageOption(2),
      imageOption(3),
      { type: ApplicationCommandOptionType.String, name: 'tags', description: 'Your names for the images, in order, e.g. "cat garden" (then write @cat in the prompt)', required: false, max_length: 60 },
      { type: ApplicationCommandOptionType.Integer, name: 'seed', description: 'Same seed + same prompt = same picture (not every model takes one)', required: false, min_value: 0, max_value: MAX_SEED },
      // Only when some offered model makes several images per request; the core checks each model's own values.
      ...(maxCount > 1
        ? [{ type: ApplicationCommandOptionType.Integer, name: 'count', description: `Images in one request, each charged (models that take it; at most ${maxCount})`, required: false, min_value: 1, max_value: maxCount } as const]
        : []),
    ],
  };
}

function historyCommand(): RESTPutAPIApplicationCommandsJSONBody[number] {
  return { name: 'history', description: 'Your last 10 images in this server, with links (only you see it)', ...guildOnly() };
}

function creditsCommand(): RESTPutAPIApplicationCommandsJSONBody[number] {
  return {
    name: 'credits',
    description: 'Your image credits: balance, allowance and when it resets',
    ...guildOnly(),
    options: [{ type: ApplicationCommandOptionType.User, name: 'user', description: "Someone else's credits (moderators)", required: false }],
  };
}

function quotaCommand(hideFromMembers: boolean): RESTPutAPIApplicationCommandsJSONBody[number] {
  const user: APIApplicationCommandUserOption = { type: ApplicationCommandOptionType.User, name: 'user', description: 'The member', required: true };
  // Amounts are integers in Discord's UI; the core still validates them (and explains bad ones).
  const amount = (description: string, minValue?: number): APIApplicationCommandIntegerOption => ({
    type: ApplicationCommandOptionType.Integer,
    name: 'amount',
    description,
    required: true,
    ...(minValue === undefined ? {} : { min_value: minValue }),
  });
  const period = (description: string): APIApplicationCommandStringOption => ({
    type: ApplicationCommandOptionType.String,
    name: 'period',
    description,
    required: false,
    choices: PERIOD_CHOICES,
  });
  return {
    name: 'quota',
    description: 'Manage image credits for this server (moderators)',
    ...guildOnly(),
    // Hidden from members without Manage Server, unless a moderator role must see it too. Either
    // way the core checks again on every call: visibility is a convenience, not a guard.
    ...(hideFromMembers ? { default_member_permissions: PermissionFlagsBits.ManageGuild.toString() } : {}),
    options: [
      { type: ApplicationCommandOptionType.Subcommand, name: 'set', description: "Set a member's balance to an amount", options: [user, amount('The new balance in credits', 0)] },
      { type: ApplicationCommandOptionType.Subcommand, name: 'grant', description: 'Give a member extra credits (negative takes them away)', options: [user, amount('Credits to add')] },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'allowance',
        description: 'The credits every member gets each period',
        options: [amount('Credits per member per period', 0), period('How often it resets')],
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'cap',
        description: 'The most the whole server may spend per period',
        options: [amount('Credits for the whole server per period', 0), period('How often it resets')],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: 'report', description: 'Top spenders, spend per model and the remaining cap' },
      { type: ApplicationCommandOptionType.Subcommand, name: 'pardon', description: "Lift a member's pause after Runway's moderation declined their prompts", options: [user] },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: 'block-words',
        description: 'Words and phrases whose prompts are refused at no cost',
        options: [
          {
            type: ApplicationCommandOptionType.String,
            name: 'action',
            description: 'Add, remove or list',
            required: true,
            choices: [
              { name: 'add', value: 'add' },
              { name: 'remove', value: 'remove' },
              { name: 'list', value: 'list' },
            ],
          },
          { type: ApplicationCommandOptionType.String, name: 'words', description: 'Comma-separated: word, another phrase', required: false, max_length: 1000 },
        ],
      },
    ],
  };
}

/**
 * Every command the bot registers. With a moderator role configured, /quota stays visible to all:
 * Discord's default permissions cannot name a role, and hiding it would lock that role out.
 */
export function commandDefinitions(options: { hasModeratorRole: boolean }): RESTPutAPIApplicationCommandsJSONBody {
  return [imagineCommand(), creditsCommand(), quotaCommand(!options.hasModeratorRole), historyCommand()];
}
