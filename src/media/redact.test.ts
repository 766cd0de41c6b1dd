import { describe, expect, it } from 'vitest';
import { boltLogger } from '../../adapters/slack/bolt-logger.ts';
import { createLogger } from '../log.ts';
import { redactSecrets } from './redact.ts';

/**
 * The credentials Slack's libraries print at LOG_LEVEL=debug, in the exact shapes Slack uses: a slash
 * command's response_url (in the payload Bolt logs), the Socket Mode URL from apps.connections.open
 * (in the Web API client's "http request result"), and a file upload's upload_url.
 */
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0FAKE01/8123456789012/Xq3vB7nPz0LmKd2RtYw9HsJc';
const SOCKET_URL = 'wss://wss-primary.slack.com/link/?ticket=4f2a9c1e-77b3-4d0e-a1f5-0c9e8d7b6a54&app_id=A0FAKE001';
const UPLOAD_URL = 'https://files.slack.com/upload/v1/CwABAAAAWwoAAZnKg1xQ7bT2sLm8Vx4yPqR0dJcAAAAA';

describe('redactSecrets', () => {
  it('cuts the credential out of each URL Slack hands the bot, keeping where it points', () => {
    expect(redactSecrets(`respond to ${RESPONSE_URL}`)).toBe('respond to https://hooks.slack.com/commands/[redacted]');
    expect(redactSecrets(`connecting to ${SOCKET_URL}`)).toBe('connecting to wss://wss-primary.slack.com/link/?[redacted]');
    expect(redactSecrets(`PUT ${UPLOAD_URL} done`)).toBe('PUT https://files.slack.com/upload/v1/[redacted] done');
    expect(redactSecrets('hook https://hooks.slack-gov.com/services/T1/B2/abcdef')).toBe('hook https://hooks.slack-gov.com/services/[redacted]');
  });

  it('drops signed queries, userinfo and webhook tokens, and leaves plain URLs alone', () => {
    expect(redactSecrets('GET https://dnznrvs05pmza.cloudfront.net/a/b.png?Expires=1767225600&Signature=Zm9v&Key-Pair-Id=K2')).toBe(
      'GET https://dnznrvs05pmza.cloudfront.net/a/b.png?[redacted]',
    );
    expect(redactSecrets('from https://cdn.discordapp.com/attachments/1/2/cat.png?ex=65&is=66&hm=ab#x')).toBe('from https://cdn.discordapp.com/attachments/1/2/cat.png?[redacted]');
    expect(redactSecrets('proxy http://user:hunter2@proxy.example:3128/path')).toBe('proxy http://proxy.example:3128/path');
    expect(redactSecrets('PATCH https://discord.com/api/v10/webhooks/1234/aW50ZXJhY3Rpb24tdG9rZW4/messages/@original')).toBe(
      'PATCH https://discord.com/api/v10/webhooks/1234/[redacted]/messages/@original',
    );
    expect(redactSecrets('POST https://discord.com/api/v10/interactions/99/dG9rZW4/callback')).toBe('POST https://discord.com/api/v10/interactions/99/[redacted]/callback');
    expect(redactSecrets('http request url: https://slack.com/api/chat.postMessage')).toBe('http request url: https://slack.com/api/chat.postMessage');
  });

  it('removes Slack tokens wherever they appear', () => {
    expect(redactSecrets('token xoxb-1234-5678-AbCdEf and xapp-1-A0FAKE001-99-deadbeef')).toBe('token [redacted] and [redacted]');
  });
});

describe('log lines from Bolt and the Web API client', () => {
  it('pass through the same redaction as our own, and stay valid JSON', () => {
    const lines: string[] = [];
    const slack = boltLogger(createLogger('debug', (line) => lines.push(line)));
    // As @slack/socket-mode logs an envelope, and @slack/web-api a result: JSON inside the message.
    slack.debug(`Received a message on the WebSocket: {"type":"slash_commands","payload":{"command":"/imagine","response_url":"${RESPONSE_URL}"}}`);
    slack.debug('http request result:', { ok: true, url: SOCKET_URL });
    slack.warn(`upload to ${UPLOAD_URL} failed`);

    const messages = lines.map((line) => (JSON.parse(line) as { message: string }).message);
    expect(messages).toEqual([
      'Received a message on the WebSocket: {"type":"slash_commands","payload":{"command":"/imagine","response_url":"https://hooks.slack.com/commands/[redacted]"}}',
      'http request result: {"ok":true,"url":"wss://wss-primary.slack.com/link/?[redacted]"}',
      'upload to https://files.slack.com/upload/v1/[redacted] failed',
    ]);
    for (const line of lines) {
      for (const secret of ['Xq3vB7nPz0LmKd2RtYw9HsJc', 'ticket=', 'CwABAAAAWwoAAZnKg1x']) expect(line).not.toContain(secret);
    }
  });

  it('redacts our own fields too, an error message included', () => {
    const lines: string[] = [];
    createLogger('info', (line) => lines.push(line)).error('respond failed', { error: new Error(`POST ${RESPONSE_URL} returned 404`) });
    const parsed = JSON.parse(lines[0] ?? '{}') as { error: { message: string } };
    expect(parsed.error.message).toBe('POST https://hooks.slack.com/commands/[redacted] returned 404');
  });
});
