/**
 * The `media.*` errors a download can end in. Each names the URL in its log message through
 * `redactUrl` only, since chat and Runway URLs are signed and the query is a credential.
 */
import { BotError } from '../errors.ts';
import { redactUrl } from './redact.ts';

/** The download ran past `timeoutMs`, or the caller's signal aborted it. */
export function timedOut(url: string, timeoutMs: number): BotError {
  return new BotError(
    'media.timeout',
    `Downloading the file took longer than ${formatSeconds(timeoutMs)}, so I stopped. Please try again in a moment.`,
    { logMessage: `media.timeout: ${redactUrl(url)} after ${timeoutMs} ms` },
  );
}

export function privateAddress(target: URL, address: string): BotError {
  return new BotError(
    'media.private_address',
    "That file's host points to a private network address, which I won't download from. Please attach the image directly in the chat.",
    { logMessage: `media.private_address: ${redactUrl(target.href)} resolved to ${address}` },
  );
}

export function tooLarge(target: URL, maxBytes: number, detail: string): BotError {
  return new BotError(
    'media.too_large',
    `That file is larger than the ${formatMegabytes(maxBytes)} MB limit. Please attach a smaller image (resize or compress it) and try again.`,
    { logMessage: `media.too_large: ${redactUrl(target.href)}: ${detail}` },
  );
}

export function networkError(target: URL, cause: unknown): BotError {
  const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
  return new BotError(
    'media.network_error',
    "I couldn't reach the file host to download the file. Please try again in a moment.",
    // `reason` is an errno code or Node's own message; neither contains the URL's query.
    { cause, logMessage: `media.network_error: ${redactUrl(target.href)}: ${reason}` },
  );
}

function formatMegabytes(bytes: number): string {
  return String(Math.round((bytes / 1_048_576) * 10) / 10);
}

function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 100) / 10;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}
