import { DiscordAPIError, Routes, type REST, type RawFile } from 'discord.js';
import type { Clock } from '../../src/clock.ts';
import type { Failure } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import { z } from 'zod';
import type { ChatSurface, Delivery, DeliveryCheckpoint, DeliveryReceipt, JobStatusView } from '../../src/ports.ts';
import { cancelButtons } from './actions.ts';
import { fitFilesToLimit } from './fit.ts';
import { clipContent, resultButtons, resultContent, statusText } from './messages.ts';
import { isTokenAlive, parsePlaceholder, type DiscordPlaceholder } from './placeholder.ts';

/**
 * The core's view of Discord: edits the placeholder (@original of the interaction) while its token
 * lives, and past the 15 minutes, or when Discord says the token is dead, posts to the channel with
 * the bot token and mentions the user. Built on raw REST routes because after a restart all we
 * have is the placeholder, not a discord.js Interaction.
 */

export interface DiscordSurfaceOptions {
  readonly rest: REST;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Least time between two progress edits of one placeholder. Discord rate-limits webhook edits
   * (about 5 per 2 s per webhook, shared by all jobs of a channel); progress is worth less than that.
   */
  readonly statusMinIntervalMs?: number;
  /** DISCORD_MODERATOR_ROLE: mentioned when the moderators are told something; without it the notice names no one. */
  readonly moderatorRoleId?: string | undefined;
}

export interface DiscordSurface extends ChatSurface {
  /** Show the first status unless the job already reported one (it may be faster than us). */
  showInitialStatus(placeholder: string, status: JobStatusView, jobId?: string): Promise<void>;
}

/** Discord's "Invalid Webhook Token" (an expired interaction token) and "Unknown Webhook". */
const DEAD_TOKEN_CODES = new Set<number | string>([50027, 10015]);

/** Whether an error says the interaction token can no longer be used. */
function isDeadTokenError(error: unknown): boolean {
  return error instanceof DiscordAPIError && (DEAD_TOKEN_CODES.has(error.code) || error.status === 401);
}

interface StatusMemo {
  text: string;
  kind: JobStatusView['kind'];
  atMs: number;
}

const checkpointSchemaVersion = 'discord-channel-v1:';

/** The part of Discord's message object we read back: its id. */
const messageIdSchema = z.object({ id: z.string().regex(/^\d{1,25}$/) });

/** A link to a message in the placeholder's server and channel (for /history). */
function messageLink(p: DiscordPlaceholder, messageId: string): string | null {
  return /^\d{1,25}$/.test(messageId) ? `https://discord.com/channels/${p.guildId}/${p.channelId}/${messageId}` : null;
}

export function createDiscordSurface(options: DiscordSurfaceOptions): DiscordSurface {
  const { rest, clock, log } = options;
  const statusMinIntervalMs = options.statusMinIntervalMs ?? 2_000;
  const lastStatus = new Map<string, StatusMemo>();
  /**
   * Tokens Discord already called dead, with when: we stop using them at once, since Discord
   * counts every 401 towards its invalid-request limit (10 000 per 10 minutes, then a ban).
   */
  const deadTokens = new Map<string, number>();

  const forget = (token: string): void => {
    lastStatus.delete(token);
    // These maps are caches: drop entries whose token has expired anyway.
    const staleBefore = clock.now() - 20 * 60_000;
    for (const [key, memo] of lastStatus) if (memo.atMs < staleBefore) lastStatus.delete(key);
    for (const [key, atMs] of deadTokens) if (atMs < staleBefore) deadTokens.delete(key);
  };

  const canUseToken = (p: DiscordPlaceholder): boolean => isTokenAlive(p, clock.now()) && !deadTokens.has(p.interactionToken);
  const noteIfDead = (p: DiscordPlaceholder, error: unknown): boolean => {
    if (!isDeadTokenError(error)) return false;
    deadTokens.set(p.interactionToken, clock.now());
    return true;
  };

  const editOriginal = (p: DiscordPlaceholder, body: unknown, files?: RawFile[]) =>
    rest.patch(Routes.webhookMessage(p.applicationId, p.interactionToken, '@original'), {
      body,
      auth: false,
      ...(files ? { files } : {}),
    });

  /** Remove the stale public placeholder once its replacement went to the channel. Best effort. */
  const deleteStalePlaceholder = async (p: DiscordPlaceholder): Promise<void> => {
    if (p.messageId === null) return;
    try {
      await rest.delete(Routes.channelMessage(p.channelId, p.messageId));
    } catch (error) {
      log.debug('discord: could not remove the old placeholder', { channelId: p.channelId, error });
    }
  };

  const showStatus = async (placeholder: string, status: JobStatusView, onlyIfFirst: boolean, jobId?: string): Promise<void> => {
    const p = parsePlaceholder(placeholder);
    // Past the token's life the placeholder cannot be edited; the result will go to the channel.
    if (!canUseToken(p)) return;
    const text = statusText(status);
    const previous = lastStatus.get(p.interactionToken);
    const nowMs = clock.now();
    if (onlyIfFirst && previous) return;
    if (previous && previous.text === text) return;
    // Guard throttle: progress within the same phase is dropped if it comes too soon; a change of
    // phase (queued → running) is always shown.
    if (previous && previous.kind === status.kind && nowMs - previous.atMs < statusMinIntervalMs) return;
    lastStatus.set(p.interactionToken, { text, kind: status.kind, atMs: nowMs });
    try {
      // A Cancel button while the job waits or runs (./actions.ts); none once the image is on its way.
      const components = jobId === undefined ? {} : { components: status.kind === 'delivering' ? [] : cancelButtons(jobId) };
      await editOriginal(p, { content: text, ...components, allowed_mentions: { parse: [] } });
    } catch (error) {
      log.warn('discord: could not update the placeholder', { code: noteIfDead(p, error) ? 'discord.token_expired' : 'discord.edit_failed', error });
    }
  };

  const postToChannel = async (p: DiscordPlaceholder, jobKey: string, body: Record<string, unknown>, files?: RawFile[]): Promise<string> => {
    const message = (await rest.post(Routes.channelMessages(p.channelId), {
      body: {
        ...body,
        allowed_mentions: { users: [p.userId] },
        // Discord drops a second message with the same nonce for a few minutes: a crash between
        // posting and recording cannot show the image twice.
        nonce: jobKey.slice(0, 25),
        enforce_nonce: true,
      },
      ...(files ? { files } : {}),
    })) as { id: string };
    return message.id;
  };

  return {
    platform: 'discord',

    showStatus: (placeholder, status, jobId) => showStatus(placeholder, status, false, jobId),
    showInitialStatus: (placeholder, status, jobId) => showStatus(placeholder, status, true, jobId),

    async deliver(placeholder: string, delivery: Delivery, checkpoint: DeliveryCheckpoint): Promise<DeliveryReceipt> {
      const p = parsePlaceholder(placeholder);
      forget(p.interactionToken);
      const previous = await checkpoint.load();
      if (previous?.startsWith(checkpointSchemaVersion)) {
        // Already posted to the channel by an earlier attempt: only the cleanup may be missing.
        await deleteStalePlaceholder(p);
        return { link: messageLink(p, previous.slice(checkpointSchemaVersion.length)) };
      }
      const fitted = await fitFilesToLimit(delivery.files, p.attachmentSizeLimitBytes);
      const files: RawFile[] = fitted.map((file) => ({ name: file.filename, data: file.bytes, contentType: file.contentType }));
      // Attachment ids are snowflake strings in the API spec; here they are the index of `files[n]`.
      const attachments = fitted.map((file, index) => ({ id: String(index), filename: file.filename }));
      const components = resultButtons(delivery.jobId, delivery.offers);
      if (canUseToken(p)) {
        try {
          const edited = messageIdSchema.safeParse(await editOriginal(p, { content: resultContent(delivery, false), attachments, components, allowed_mentions: { parse: [] } }, files));
          return { link: edited.success ? messageLink(p, edited.data.id) : p.messageId === null ? null : messageLink(p, p.messageId) };
        } catch (error) {
          if (!noteIfDead(p, error)) throw error;
          log.info('discord: interaction token expired; delivering to the channel', { jobId: delivery.jobId });
        }
      }
      const messageId = await postToChannel(p, `r${delivery.jobId}`, { content: resultContent(delivery, true), attachments, components }, files);
      await checkpoint.save(`${checkpointSchemaVersion}${messageId}`);
      await deleteStalePlaceholder(p);
      return { link: messageLink(p, messageId) };
    },

    async notifyModerators(placeholder: string, text: string): Promise<void> {
      const p = parsePlaceholder(placeholder);
      const role = options.moderatorRoleId;
      await rest.post(Routes.channelMessages(p.channelId), {
        body: {
          content: clipContent(role ? `<@&${role}> ${text}` : text),
          // Only the moderator role may be pinged: the text names a member but must not summon them.
          allowed_mentions: role ? { parse: [], roles: [role] } : { parse: [] },
        },
      });
    },

    async showFailure(placeholder: string, failure: Failure): Promise<void> {
      const p = parsePlaceholder(placeholder);
      forget(p.interactionToken);
      const text = clipContent(`❌ ${failure.userMessage}`);
      if (canUseToken(p)) {
        try {
          await editOriginal(p, { content: text, components: [], attachments: [], allowed_mentions: { parse: [] } });
          return;
        } catch (error) {
          if (!noteIfDead(p, error)) throw error;
          log.info('discord: interaction token expired; reporting the failure in the channel', { code: failure.code });
        }
      }
      await postToChannel(p, `f${p.interactionToken.slice(-24)}`, { content: clipContent(`<@${p.userId}> ❌ ${failure.userMessage}`) });
      await deleteStalePlaceholder(p);
    },
  };
}
