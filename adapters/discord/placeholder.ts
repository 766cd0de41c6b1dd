import { z } from 'zod';

/**
 * The Discord handle the core stores with a job and hands back to the ChatSurface, possibly after
 * a restart: everything needed to edit the placeholder, or to fall back to the channel once the
 * interaction token has expired. Serialised as JSON; parsed with zod when read back.
 */
const placeholderSchema = z.object({
  v: z.literal(1),
  applicationId: z.string().min(1),
  /** The interaction token: lets us edit @original without the bot token, for 15 minutes. */
  interactionToken: z.string().min(1),
  guildId: z.string().min(1),
  channelId: z.string().min(1),
  /** The id of @original once fetched; lets the channel fallback remove a stale placeholder. */
  messageId: z.string().min(1).nullable(),
  userId: z.string().min(1),
  /** When Discord created the interaction (ms since epoch): the token dies 15 minutes later. */
  createdAtMs: z.number().int().nonnegative(),
  /** The interaction's `attachment_size_limit` in bytes. */
  attachmentSizeLimitBytes: z.number().int().positive(),
});

export type DiscordPlaceholder = z.infer<typeof placeholderSchema>;

/** Discord: "Interaction tokens are valid for 15 minutes". https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object */
const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/** Discord's default upload limit for bots since 2025, used when an interaction does not say. */
export const DEFAULT_ATTACHMENT_SIZE_LIMIT_BYTES = 10 * 1024 * 1024;

export function serialisePlaceholder(placeholder: DiscordPlaceholder): string {
  return JSON.stringify(placeholderSchema.parse(placeholder));
}

/** Parse a stored placeholder; throws if it is not one of ours (a bug or a corrupt row). */
export function parsePlaceholder(text: string): DiscordPlaceholder {
  return placeholderSchema.parse(JSON.parse(text));
}

/**
 * Whether the interaction token can still be used at `nowMs`. A minute of margin: a request
 * started at 14:59 would otherwise fail in flight and be sent twice.
 */
export function isTokenAlive(placeholder: DiscordPlaceholder, nowMs: number): boolean {
  return nowMs < placeholder.createdAtMs + INTERACTION_TOKEN_LIFETIME_MS - 60_000;
}
