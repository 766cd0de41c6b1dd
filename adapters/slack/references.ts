/**
 * Reference images attached to a mention, as the core's ReferenceSource. They come from Slack's
 * file host only (`url_private`), downloaded with the bot token, which is sent to that host alone;
 * what a file is gets judged by its bytes (Slack answers 200 with an HTML login page when the
 * token is missing). https://docs.slack.dev/messaging/working-with-files#authentication
 */
import { BotError, type Failure } from '../../src/errors.ts';
import { echo } from '../../src/imagine/user-text.ts';
import { downloadSafely, redactUrl } from '../../src/media/download.ts';
import type { ReferenceSource } from '../../src/ports.ts';
import type { SlackFile } from './payloads.ts';

const DOWNLOAD_TIMEOUT_MS = 30_000;
const SLACK_FILE_ORIGIN = 'https://files.slack.com';

/**
 * The origins that are Slack's file host: files.slack.com, and when the Web API is moved
 * (GovSlack, tests) that API's own origin and its `files.` sibling. The token already goes to the
 * API origin on every call, so trusting it with downloads exposes the token to no one new.
 */
export function slackFileOrigins(apiUrl: string | undefined): string[] {
  const origins = [SLACK_FILE_ORIGIN];
  if (apiUrl === undefined) return origins;
  const api = new URL(apiUrl);
  origins.push(api.origin);
  const isIpLiteral = /^[\d.]+$/.test(api.hostname) || api.hostname.startsWith('[');
  if (!isIpLiteral && !api.hostname.startsWith('files.') && api.protocol === 'https:') origins.push(`https://files.${api.hostname}${api.port ? `:${api.port}` : ''}`);
  return [...new Set(origins)];
}

/** Whether a file's url_private is on Slack's file host; the adapter refuses the request otherwise. */
export function isOnSlackFileHost(file: SlackFile, fileOrigins: readonly string[]): boolean {
  if (file.url_private === undefined) return false;
  try {
    return fileOrigins.includes(new URL(file.url_private).origin);
  } catch {
    return false;
  }
}

/** What a download from Slack's file host needs. */
export interface SlackFileAccess {
  botToken: string;
  /** Slack's file host (slackFileOrigins): the only origins a url_private may name, and the only ones given the token. */
  fileOrigins: readonly string[];
  /** The operator's extra origins a download may be redirected to (never given the token). */
  redirectOrigins: readonly string[];
}

/**
 * One attached file as a ReferenceSource. What the bytes are is judged by the core (PNG, JPEG or
 * WebP); the adapter only recognises Slack's sign-in page, which means the token was refused.
 */
export function slackReference(file: SlackFile, access: SlackFileAccess): ReferenceSource {
  return {
    filename: file.name ?? file.id,
    ...(file.size === undefined ? {} : { declaredSizeBytes: file.size }),
    async download({ maxBytes, signal }) {
      const url = file.url_private;
      if (url === undefined || !isOnSlackFileHost(file, access.fileOrigins)) throw notOnSlack(file);
      const downloaded = await downloadSafely(url, {
        // Redirects may lead on to the operator's extra media origins, but the token stays behind.
        allowedOrigins: [...access.fileOrigins, ...access.redirectOrigins],
        credential: { origin: new URL(url).origin, headers: { authorization: `Bearer ${access.botToken}` } },
        maxBytes,
        timeoutMs: DOWNLOAD_TIMEOUT_MS,
        signal,
      });
      if (looksLikeHtml(downloaded.bytes)) {
        throw new BotError(fileAccessDenied(file), { logMessage: `slack.file_access_denied: HTML page from ${redactUrl(downloaded.finalUrl)}` });
      }
      return downloaded.bytes;
    },
  };
}

/** `slack.file_access_denied`: Slack answered with its login page instead of the file. */
export function fileAccessDenied(file: SlackFile): Failure {
  return {
    code: 'slack.file_access_denied',
    userMessage: `Slack wouldn't hand me ${displayName(file)}: the app may be missing the \`files:read\` permission, or the file was deleted. Ask a workspace admin, or attach the image again.`,
  };
}

/** `slack.file_not_on_slack`: a file that does not live on Slack's file host (never fetched). */
export function fileNotOnSlack(file: SlackFile): Failure {
  return {
    code: 'slack.file_not_on_slack',
    userMessage: `${displayName(file)} isn't stored on Slack's file host, so I won't download it. Please upload the image to Slack directly (drag it into the message) and mention me again.`,
  };
}

/** The error for a file that does not live on Slack's file host, thrown if a download is attempted. */
export function notOnSlack(file: SlackFile): BotError {
  return new BotError(fileNotOnSlack(file), {
    logMessage: `slack.file_not_on_slack: ${file.url_private === undefined ? 'no url_private' : redactUrl(file.url_private)}`,
  });
}

/** The file's name as a `code` span, safe to echo. */
function displayName(file: SlackFile): string {
  return echo(file.name ?? file.id);
}

function looksLikeHtml(bytes: Uint8Array): boolean {
  const start = Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().toLowerCase();
  return start.startsWith('<!doctype html') || start.startsWith('<html');
}
