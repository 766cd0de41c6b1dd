/**
 * The Slack placeholder handle: the message the bot posted when it accepted a request, serialised
 * into the job's row so that status, delivery and failure reach the same message after a restart.
 */
import { z } from 'zod';

const placeholderSchema = z.object({
  v: z.literal(1),
  team: z.string().min(1),
  channel: z.string().min(1),
  /** The placeholder message's own ts. */
  ts: z.string().min(1),
  /** The thread the request came from (mentions), or null for a channel-level /imagine. */
  thread: z.string().min(1).nullable(),
  user: z.string().min(1),
  /** A short header (who asked for what) repeated in every status, so the message stays readable. */
  head: z.string(),
});

export type SlackPlaceholder = z.infer<typeof placeholderSchema>;

/** Serialise for the core; the core stores the string verbatim. */
export function encodePlaceholder(placeholder: Omit<SlackPlaceholder, 'v'>): string {
  return JSON.stringify({ v: 1, ...placeholder });
}

/** Parse a handle read back from the job's row; throws a plain Error when it isn't ours. */
export function decodePlaceholder(value: string): SlackPlaceholder {
  const parsed = placeholderSchema.safeParse(safeJson(value));
  if (!parsed.success) throw new Error(`slack.placeholder_invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
