/**
 * The Slack Web API methods this adapter uses, one method per route with typed arguments, each
 * result parsed with zod where it arrives. The transport (@slack/web-api's WebClient, with its
 * bounded retry policy that honours Retry-After) is injected, never a global.
 * https://docs.slack.dev/reference/methods
 */
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Logger } from '../../src/log.ts';

/** A Slack `ok:false` answer, with Slack's own error string as the code (`message_not_found`, …). */
export class SlackApiError extends Error {
  constructor(
    readonly method: string,
    readonly slackError: string,
    options?: { cause?: unknown },
  ) {
    super(`slack.${method}: ${slackError}`, options);
    this.name = 'SlackApiError';
  }
}

/** The retry policy for every Web API call: bounded (about 10 s in all), rate limits honoured by WebClient. */
export const WEB_API_RETRY = { retries: 4, factor: 2, minTimeout: 200, maxTimeout: 3_000, randomize: true } as const;

const postedSchema = z.object({ ts: z.string(), channel: z.string() });
const ephemeralSchema = z.object({ message_ts: z.string().optional() });
const uploadUrlSchema = z.object({ upload_url: z.string().url(), file_id: z.string() });
const userSchema = z.object({
  user: z.object({
    id: z.string(),
    name: z.string().optional(),
    real_name: z.string().optional(),
    is_admin: z.boolean().optional(),
    is_owner: z.boolean().optional(),
    is_primary_owner: z.boolean().optional(),
    profile: z.object({ display_name: z.string().optional(), real_name: z.string().optional() }).optional(),
  }),
});
const fileInfoSchema = z.object({
  file: z.object({
    id: z.string(),
    shares: z.record(z.string(), z.record(z.string(), z.array(z.unknown()))).optional(),
    channels: z.array(z.string()).optional(),
    groups: z.array(z.string()).optional(),
    ims: z.array(z.string()).optional(),
  }),
});

export interface SlackUser {
  id: string;
  displayName: string;
  isAdminOrOwner: boolean;
}

export interface SlackApiOptions {
  client: WebClient;
  botToken: string;
  /** Origins trusted with the bot token on an upload POST (Slack's own hosts). */
  tokenOrigins: readonly string[];
  log: Logger;
  /** Injectable for tests of the upload retry; default global fetch. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export class SlackApi {
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: SlackApiOptions) {
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** https://docs.slack.dev/reference/methods/chat.postMessage */
  async postMessage(args: { channel: string; text: string; threadTs?: string | null }): Promise<{ ts: string; channel: string }> {
    const result = await this.call('chat.postMessage', { channel: args.channel, text: args.text, thread_ts: args.threadTs ?? undefined });
    return postedSchema.parse(result);
  }

  /** https://docs.slack.dev/reference/methods/chat.update */
  async updateMessage(args: { channel: string; ts: string; text: string; blocks?: readonly unknown[] }): Promise<void> {
    await this.call('chat.update', { channel: args.channel, ts: args.ts, text: args.text, ...(args.blocks === undefined ? {} : { blocks: args.blocks }) });
  }

  /** Open a modal for the user who clicked (within 3 s of the click). https://docs.slack.dev/reference/methods/views.open */
  async openView(args: { triggerId: string; view: Record<string, unknown> }): Promise<void> {
    await this.call('views.open', { trigger_id: args.triggerId, view: args.view });
  }

  /** https://docs.slack.dev/reference/methods/chat.delete */
  async deleteMessage(args: { channel: string; ts: string }): Promise<void> {
    await this.call('chat.delete', { channel: args.channel, ts: args.ts });
  }

  /** https://docs.slack.dev/reference/methods/chat.postEphemeral */
  async postEphemeral(args: { channel: string; user: string; text: string; threadTs?: string | null }): Promise<void> {
    const result = await this.call('chat.postEphemeral', {
      channel: args.channel,
      user: args.user,
      text: args.text,
      thread_ts: args.threadTs ?? undefined,
    });
    ephemeralSchema.parse(result);
  }

  /** https://docs.slack.dev/reference/methods/users.info */
  async userInfo(userId: string): Promise<SlackUser> {
    const { user } = userSchema.parse(await this.call('users.info', { user: userId }));
    const displayName = user.profile?.display_name || user.profile?.real_name || user.real_name || user.name || user.id;
    return { id: user.id, displayName, isAdminOrOwner: user.is_admin === true || user.is_owner === true || user.is_primary_owner === true };
  }

  /** Step 1 of files.uploadV2. https://docs.slack.dev/reference/methods/files.getUploadURLExternal */
  async getUploadUrl(args: { filename: string; length: number; altText?: string }): Promise<{ uploadUrl: string; fileId: string }> {
    const result = uploadUrlSchema.parse(
      await this.call('files.getUploadURLExternal', { filename: args.filename, length: args.length, alt_text: args.altText }),
    );
    return { uploadUrl: result.upload_url, fileId: result.file_id };
  }

  /**
   * Step 2 of files.uploadV2: POST the bytes to the upload URL as one multipart part named `body`,
   * as @slack/web-api's own uploadV2 does (the URL is pre-signed). Retried a few times, honouring Retry-After:
   * the URL stays valid until completion, so a repeat only replaces the same file's content.
   */
  async uploadBytes(args: { uploadUrl: string; filename: string; contentType: string; bytes: Uint8Array }): Promise<void> {
    const origin = new URL(args.uploadUrl).origin;
    const headers: Record<string, string> = this.options.tokenOrigins.includes(origin)
      ? { authorization: `Bearer ${this.options.botToken}` }
      : {};
    const maxAttempts = WEB_API_RETRY.retries + 1;
    for (let attempt = 1; ; attempt += 1) {
      const form = new FormData();
      form.append('body', new Blob([Buffer.from(args.bytes)], { type: args.contentType }), args.filename);
      let status: number;
      let retryAfterMs: number | null = null;
      try {
        const response = await this.fetchFn(args.uploadUrl, { method: 'POST', body: form, headers, redirect: 'error', signal: AbortSignal.timeout(30_000) });
        status = response.status;
        await response.arrayBuffer();
        const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
        if (Number.isFinite(retryAfter)) retryAfterMs = Math.min(retryAfter, 60) * 1000;
      } catch (error) {
        if (attempt >= maxAttempts) throw new SlackApiError('upload', 'network_error', { cause: error });
        status = 0;
      }
      if (status >= 200 && status < 300) return;
      const isRetryable = status === 0 || status === 429 || status >= 500;
      if (!isRetryable || attempt >= maxAttempts) throw new SlackApiError('upload', `http_${status}`);
      const backoffMs = Math.min(WEB_API_RETRY.minTimeout * 2 ** (attempt - 1), WEB_API_RETRY.maxTimeout);
      this.options.log.info('slack upload retried', { status, attempt, waitMs: retryAfterMs ?? backoffMs });
      await this.sleep(retryAfterMs ?? backoffMs);
    }
  }

  /** Step 3 of files.uploadV2: share. https://docs.slack.dev/reference/methods/files.completeUploadExternal */
  async completeUpload(args: {
    files: readonly { id: string; title: string }[];
    channel: string;
    threadTs: string | null;
    initialComment: string;
  }): Promise<void> {
    await this.call('files.completeUploadExternal', {
      files: JSON.stringify(args.files),
      channel_id: args.channel,
      thread_ts: args.threadTs ?? undefined,
      initial_comment: args.initialComment,
    });
  }

  /** Whether a file has been shared anywhere yet. https://docs.slack.dev/reference/methods/files.info */
  async isFileShared(fileId: string): Promise<boolean> {
    const { file } = fileInfoSchema.parse(await this.call('files.info', { file: fileId }));
    const shareCount = Object.values(file.shares ?? {}).reduce((sum, byChannel) => sum + Object.keys(byChannel).length, 0);
    return shareCount > 0 || (file.channels?.length ?? 0) + (file.groups?.length ?? 0) + (file.ims?.length ?? 0) > 0;
  }

  /**
   * A link to the message a shared file sits in, in `channel`: its ts from files.info's shares, then
   * chat.getPermalink. Null when Slack does not list the share (yet).
   * https://docs.slack.dev/reference/methods/chat.getPermalink
   */
  async sharedFilePermalink(fileId: string, channel: string): Promise<string | null> {
    const { file } = fileInfoSchema.parse(await this.call('files.info', { file: fileId }));
    const shares = Object.values(file.shares ?? {}).flatMap((byChannel) => byChannel[channel] ?? []);
    const ts = z.array(z.object({ ts: z.string() })).safeParse(shares);
    const first = ts.success ? ts.data[0] : undefined;
    if (first === undefined) return null;
    const answer = z.object({ permalink: z.url() }).parse(await this.call('chat.getPermalink', { channel, message_ts: first.ts }));
    return answer.permalink;
  }

  /** One call; an `ok:false` answer becomes a SlackApiError carrying Slack's error string. */
  private async call(method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    try {
      const result: unknown = await this.options.client.apiCall(method, args);
      return z.record(z.string(), z.unknown()).parse(result);
    } catch (error) {
      const slackError = platformErrorOf(error);
      throw new SlackApiError(method, slackError ?? (error instanceof Error ? error.message : String(error)), { cause: error });
    }
  }
}

function platformErrorOf(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const data = (error as { data?: unknown }).data;
  if (typeof data === 'object' && data !== null && typeof (data as { error?: unknown }).error === 'string') {
    return (data as { error: string }).error;
  }
  return null;
}
