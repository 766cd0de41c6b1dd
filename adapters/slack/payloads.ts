/**
 * The Slack payloads this adapter reads, parsed with zod where they arrive from Bolt.
 * https://docs.slack.dev/interactivity/implementing-slash-commands#app_command_handling
 * https://docs.slack.dev/reference/events/app_mention
 */
import { z } from 'zod';

/**
 * Slack sends `&`, `<` and `>` that a person typed as `&amp;`, `&lt;` and `&gt;`; the core wants the
 * text as typed ("cats & dogs" to Runway, not "cats &amp; dogs"). Everything the adapter posts back
 * is escaped again (texts.ts), so a decoded `<!channel>` cannot ping anyone.
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */
function decodeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const slackText = z.string().default('').transform(decodeSlackText);

export const slashCommandSchema = z.object({
  team_id: z.string().min(1),
  channel_id: z.string().min(1),
  user_id: z.string().min(1),
  user_name: z.string().optional(),
  command: z.string(),
  text: slackText,
  response_url: z.string().optional(),
  /** Issued for each invocation: the command's delivery key (./deliveries.ts). */
  trigger_id: z.string().min(1),
});
export type SlashCommand = z.infer<typeof slashCommandSchema>;

const slackFileSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  mimetype: z.string().optional(),
  size: z.number().optional(),
  url_private: z.string().optional(),
});
export type SlackFile = z.infer<typeof slackFileSchema>;

/** A mention's who and where, readable even when its `files` are not: enough to answer the person. */
export const mentionOriginSchema = z.object({
  user: z.string().min(1),
  channel: z.string().min(1),
  thread_ts: z.string().optional(),
  bot_id: z.string().optional(),
});

export const appMentionSchema = z.object({
  type: z.literal('app_mention'),
  user: z.string().min(1),
  text: slackText,
  ts: z.string().min(1),
  channel: z.string().min(1),
  thread_ts: z.string().optional(),
  bot_id: z.string().optional(),
  files: z.array(slackFileSchema).default([]),
});
export type AppMention = z.infer<typeof appMentionSchema>;

/** The envelope's workspace (`team_id`; Bolt's context has it otherwise) and the id Slack keeps when it redelivers. */
export const eventEnvelopeSchema = z.object({ team_id: z.string().min(1).optional(), event_id: z.string().min(1) });
