/**
 * Which Slack delivery a payload is, so that a copy of it is worked once across every process on
 * the database. Keys come from the payload, never from the transport: Socket Mode hands Bolt the
 * envelope's `payload` alone, and Slack's docs promise nothing about a redelivered envelope's
 * `envelope_id` (only that its `retry_attempt` counts up), while the payload's ids name the thing
 * delivered. So HTTP and Socket Mode share one rule per kind:
 *
 * - Events API (`event_callback`): `event_id`, "globally unique across all workspaces" and kept
 *   when Slack retries (X-Slack-Retry-Num over HTTP, `retry_attempt` in Socket Mode).
 *   https://docs.slack.dev/apis/events-api/ and slackapi/slack-api-specs' event wrapper schema
 * - Slash commands, block_actions and view_submission: `trigger_id`, issued for each invocation
 *   (Bolt's SlashCommand, BlockAction and ViewSubmitAction types all require it). Slack does not
 *   retry a command, but a proxy or a client may send one twice.
 *   https://docs.slack.dev/interactivity/implementing-slash-commands
 *   https://docs.slack.dev/reference/interaction-payloads/block_actions-payload
 * https://docs.slack.dev/apis/events-api/using-socket-mode
 */
import type { Logger } from '../../src/log.ts';
import type { DeliveryDedupe } from '../../src/ports.ts';

/** A delivery's key: `event:<event_id>` or `trigger:<trigger_id>`. */
export type DeliveryKey = `event:${string}` | `trigger:${string}`;

/** An Events API delivery's key, from its envelope's `event_id`. */
export const eventKey = (eventId: string): DeliveryKey => `event:${eventId}`;
/** A slash command's, a click's or a form submission's key, from its `trigger_id`. */
export const triggerKey = (triggerId: string): DeliveryKey => `trigger:${triggerId}`;

/** True when this process may work the delivery; a copy seen before (here or elsewhere) is false. */
export type IsFirstDelivery = (key: DeliveryKey) => Promise<boolean>;

/** Claims through `dedupe`; a repeat is logged at debug, since it is Slack's business, not news. */
export function createDeliveryClaim(dedupe: DeliveryDedupe, log: Logger): IsFirstDelivery {
  return async (key) => {
    if (await dedupe.firstDelivery(key)) return true;
    log.debug('slack delivery seen before; ignored', { key });
    return false;
  };
}
