/**
 * The Slack ChatSurface: status on the placeholder (throttled), the result uploaded with the
 * files.uploadV2 steps into the same channel or thread, and failures on the placeholder. Every
 * method may run again after a restart; delivery keeps a checkpoint so the image is shared once.
 */
import { z } from 'zod';
import type { Clock } from '../../src/clock.ts';
import type { Failure } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { ChatSurface, Delivery, DeliveryCheckpoint, DeliveryReceipt, JobStatusView } from '../../src/ports.ts';
import { cancelBlocks, offerBlocks } from './actions.ts';
import { decodePlaceholder, type SlackPlaceholder } from './placeholder.ts';
import { SlackApiError, type SlackApi } from './slack-api.ts';
import { deliveryComment, doneText, escapeMrkdwn, failureText, statusText } from './texts.ts';

/** chat.update is Tier 3 (~50/min per workspace): one status edit per message every 2 s is plenty. */
export const STATUS_MIN_INTERVAL_MS = 2_000;
const MAX_TRACKED_PLACEHOLDERS = 1_000;

const checkpointSchema = z.object({
  stage: z.enum(['uploaded', 'shared']),
  files: z.array(z.object({ id: z.string(), title: z.string() })).min(1),
});
type Checkpoint = z.infer<typeof checkpointSchema>;

/** Slack errors meaning the uploaded file is gone (never completed in time): upload again. */
const UPLOAD_GONE = new Set(['file_not_found', 'file_deleted', 'invalid_file_id', 'upload_expired']);

export function createSlackSurface(deps: { api: SlackApi; clock: Clock; log: Logger }): ChatSurface {
  const { api, clock, log } = deps;
  /** The last status shown per placeholder message, keyed by statusKey. */
  const lastStatus = new Map<string, { atMs: number; kind: JobStatusView['kind']; text: string }>();
  const statusKey = (placeholder: SlackPlaceholder): string => `${placeholder.channel}:${placeholder.ts}`;

  async function upload(placeholder: SlackPlaceholder, delivery: Delivery): Promise<Checkpoint> {
    const files: { id: string; title: string }[] = [];
    for (const file of delivery.files) {
      const { uploadUrl, fileId } = await api.getUploadUrl({ filename: file.filename, length: file.bytes.length, altText: delivery.prompt.slice(0, 1000) });
      await api.uploadBytes({ uploadUrl, filename: file.filename, contentType: file.contentType, bytes: file.bytes });
      files.push({ id: fileId, title: delivery.prompt.slice(0, 200) || file.filename });
    }
    log.debug('slack result uploaded', { jobId: delivery.jobId, channel: placeholder.channel, fileIds: files.map((f) => f.id) });
    return { stage: 'uploaded', files };
  }

  async function share(placeholder: SlackPlaceholder, delivery: Delivery, checkpoint: Checkpoint): Promise<void> {
    const [first] = checkpoint.files;
    // A share that happened just before a crash must not happen again: ask Slack first.
    const isShared = first === undefined ? false : await api.isFileShared(first.id).catch((error: unknown) => {
      if (error instanceof SlackApiError && UPLOAD_GONE.has(error.slackError)) return false;
      throw error;
    });
    if (isShared) {
      log.info('slack result already shared; not sharing again', { jobId: delivery.jobId });
      return;
    }
    await api.completeUpload({
      files: checkpoint.files,
      channel: placeholder.channel,
      threadTs: placeholder.thread,
      initialComment: deliveryComment(delivery),
    });
  }

  return {
    platform: 'slack',

    async showStatus(value, status, jobId) {
      const placeholder = decodePlaceholder(value);
      const key = statusKey(placeholder);
      const text = statusText(placeholder.head, status);
      const last = lastStatus.get(key);
      const nowMs = clock.now();
      if (last !== undefined && (last.text === text || (last.kind === status.kind && nowMs - last.atMs < STATUS_MIN_INTERVAL_MS))) return;
      if (lastStatus.size >= MAX_TRACKED_PLACEHOLDERS) lastStatus.clear();
      lastStatus.set(key, { atMs: nowMs, kind: status.kind, text });
      try {
        // A Cancel button while the job waits or runs (./actions.ts); none once the image is on its way.
        const blocks = jobId === undefined ? undefined : status.kind === 'delivering' ? [] : cancelBlocks(text, jobId);
        await api.updateMessage({ channel: placeholder.channel, ts: placeholder.ts, text, ...(blocks ? { blocks } : {}) });
      } catch (error) {
        log.warn('slack status update failed', { channel: placeholder.channel, error });
      }
    },

    async deliver(value, delivery, checkpoint: DeliveryCheckpoint): Promise<DeliveryReceipt> {
      const placeholder = decodePlaceholder(value);
      let state = readCheckpoint(await checkpoint.load());
      for (let round = 1; state?.stage !== 'shared'; round += 1) {
        if (state === null) {
          state = await upload(placeholder, delivery);
          await checkpoint.save(JSON.stringify(state));
        }
        try {
          await share(placeholder, delivery, state);
        } catch (error) {
          // Uploads that were never completed expire on Slack's side: start over, once.
          if (round === 1 && error instanceof SlackApiError && UPLOAD_GONE.has(error.slackError)) {
            log.warn('slack upload expired before sharing; uploading again', { jobId: delivery.jobId, slackError: error.slackError });
            state = null;
            continue;
          }
          throw error;
        }
        state = { stage: 'shared', files: state.files };
        await checkpoint.save(JSON.stringify(state));
      }
      lastStatus.delete(statusKey(placeholder));
      const done = doneText(placeholder.head);
      await api.updateMessage({ channel: placeholder.channel, ts: placeholder.ts, text: done, blocks: offerBlocks(done, delivery.jobId, delivery.offers ?? []) }).catch((error: unknown) => {
        // The image is in the channel; a placeholder someone deleted is no reason to fail delivery.
        if (error instanceof SlackApiError && error.slackError === 'message_not_found') return;
        throw error;
      });
      // Where the result is, for /history. Best effort: the image is delivered either way.
      const [first] = state.files;
      const link = first === undefined ? null : await api.sharedFilePermalink(first.id, placeholder.channel).catch((error: unknown) => {
        log.warn('slack result link unknown', { jobId: delivery.jobId, error });
        return null;
      });
      return { link };
    },

    async notifyModerators(value, text) {
      const placeholder = decodePlaceholder(value);
      // In the channel (or thread) where it happened, for everyone there: moderators read their channels.
      await api.postMessage({ channel: placeholder.channel, text: escapeMrkdwn(text), threadTs: placeholder.thread });
    },

    async showFailure(value, failure: Failure) {
      const placeholder = decodePlaceholder(value);
      lastStatus.delete(statusKey(placeholder));
      const text = failureText(placeholder.head, failure.userMessage);
      try {
        await api.updateMessage({ channel: placeholder.channel, ts: placeholder.ts, text, blocks: [] });
      } catch (error) {
        if (!(error instanceof SlackApiError && error.slackError === 'message_not_found')) throw error;
        // The placeholder was deleted: tell the requester alone rather than not at all.
        await api.postEphemeral({ channel: placeholder.channel, user: placeholder.user, text, threadTs: placeholder.thread });
      }
    },
  };
}

function readCheckpoint(value: string | null): Checkpoint | null {
  if (value === null) return null;
  try {
    const parsed = checkpointSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
