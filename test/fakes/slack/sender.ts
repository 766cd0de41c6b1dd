/**
 * Sends what Slack sends to an app's request URL: form-encoded slash commands and JSON
 * `event_callback`s, signed as Slack signs them (v0 HMAC-SHA256 over `v0:ts:body`), with options
 * for a wrong signature, a stale timestamp, or a retry's headers.
 * https://docs.slack.dev/authentication/verifying-requests-from-slack
 * https://docs.slack.dev/apis/events-api/
 */
import { createHmac, randomUUID } from 'node:crypto';

export interface SendOptions {
  /** Sign with another secret. */
  isBadSignature?: boolean;
  /** Seconds since the epoch for the timestamp header (default: now). */
  timestampSec?: number;
  /** Send as Slack's retry number `n` of the same delivery (X-Slack-Retry-Num, X-Slack-Retry-Reason). */
  retryNum?: number;
}

export interface SlackSender {
  command(fields: Record<string, string>, options?: SendOptions): Promise<{ status: number; body: string }>;
  event(teamId: string, event: Record<string, unknown>, options?: SendOptions & { eventId?: string }): Promise<{ status: number; body: string }>;
  /** An interactive payload (block_actions, view_submission), form-encoded as `payload=<json>`. */
  interaction(payload: Record<string, unknown>, options?: SendOptions): Promise<{ status: number; body: string }>;
}

export function createSlackSender(endpoint: string, signingSecret: string): SlackSender {
  async function send(body: string, contentType: string, options: SendOptions = {}) {
    const timestamp = String(options.timestampSec ?? Math.floor(Date.now() / 1000));
    const secret = options.isBadSignature ? `${signingSecret}-wrong` : signingSecret;
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': signature,
        ...(options.retryNum === undefined ? {} : { 'x-slack-retry-num': String(options.retryNum), 'x-slack-retry-reason': 'http_timeout' }),
      },
      body,
    });
    return { status: response.status, body: await response.text() };
  }
  return {
    command: (fields, options) => send(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded', options),
    event: (teamId, event, options) => send(JSON.stringify(eventCallback(teamId, event, options?.eventId)), 'application/json', options),
    interaction: (payload, options) => send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded', options),
  };
}

/** The Events API's `event_callback` wrapper around one event: the HTTP body, or a Socket Mode envelope's payload. */
export function eventCallback(teamId: string, event: Record<string, unknown>, eventId?: string): Record<string, unknown> {
  return {
    token: 'legacy-verification-token',
    team_id: teamId,
    api_app_id: 'AFAKE001',
    type: 'event_callback',
    event_id: eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1000),
    event,
  };
}
