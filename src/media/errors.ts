/**
 * The `media.*` failures: each code's text is built here and nowhere else, whether a download
 * (src/media/download.ts) or the reference check before an upload (src/jobs/references.ts) reports
 * it. The BotError factories name the URL in their log message through `redactUrl` only, since chat
 * and Runway URLs are signed and the query is a credential.
 */
import { BotError, type Failure } from '../errors.ts';
import { redactUrl } from './redact.ts';

/** `media.invalid_url`: a link that does not parse. */
export const INVALID_URL: Failure = {
  code: 'media.invalid_url',
  userMessage: "That file's link isn't a valid URL. Please attach the image again.",
};

/** `media.origin_not_allowed`: a link to anywhere but the chat's own file host. */
export const ORIGIN_NOT_ALLOWED: Failure = {
  code: 'media.origin_not_allowed',
  userMessage:
    'I can only download files uploaded to this chat, and that one is hosted somewhere else. Please attach the image directly instead of linking it.',
};

/** `media.private_address`: a host that resolves into a private network. */
export const PRIVATE_ADDRESS: Failure = {
  code: 'media.private_address',
  userMessage: "That file's host points to a private network address, which I won't download from. Please attach the image directly in the chat.",
};

/** `media.too_many_redirects`: the host kept redirecting. */
export const TOO_MANY_REDIRECTS: Failure = {
  code: 'media.too_many_redirects',
  userMessage: 'The file host kept redirecting the download, so I gave up. Please attach the image again.',
};

/** `media.network_error`: the host could not be reached, or the connection broke. */
export const NETWORK_ERROR: Failure = {
  code: 'media.network_error',
  userMessage: "I couldn't reach the file host to download the file. Please try again in a moment.",
};

/** `media.http_error`: the host answered with a status other than 2xx. */
export function mediaHttpError(status: number): Failure {
  return {
    code: 'media.http_error',
    userMessage: `The file host answered with HTTP ${status}, so I couldn't download the file. The link may have expired: please attach it again.`,
  };
}

/** `media.timeout`: the download ran past `timeoutMs`. */
export function mediaTimeout(timeoutMs: number): Failure {
  return {
    code: 'media.timeout',
    userMessage: `Downloading the file took longer than ${formatSeconds(timeoutMs)}, so I stopped. Please try again in a moment.`,
  };
}

/**
 * `media.too_large`: a file over `maxBytes`. `name` is the file as the user knows it, already safe
 * to show (a `code` span); without it the message says "That file".
 */
export function mediaTooLarge(maxBytes: number, name?: string): Failure {
  return {
    code: 'media.too_large',
    userMessage: `${name ?? 'That file'} is larger than the ${formatMegabytes(maxBytes)} MB limit. Please attach a smaller image (resize or compress it) and try again. Nothing was charged.`,
  };
}

/**
 * `media.not_an_image`: bytes that are not PNG, JPEG or WebP. A GIF is named as such, since it is
 * an image to the user and the refusal would otherwise look wrong.
 */
export function mediaNotAnImage(isGif: boolean, name?: string): Failure {
  return {
    code: 'media.not_an_image',
    userMessage: `${name ?? 'That file'} is not a PNG, JPEG or WebP image${isGif ? ' (GIFs are not supported)' : ''}. Please attach a PNG, JPEG or WebP image and try again. Nothing was charged.`,
  };
}

/** The download ran past `timeoutMs`, or the caller's signal aborted it. */
export function timedOut(url: string, timeoutMs: number): BotError {
  return new BotError(mediaTimeout(timeoutMs), { logMessage: `media.timeout: ${redactUrl(url)} after ${timeoutMs} ms` });
}

/** The host of `target` resolved to `address`, which is not public. */
export function privateAddress(target: URL, address: string): BotError {
  return new BotError(PRIVATE_ADDRESS, { logMessage: `media.private_address: ${redactUrl(target.href)} resolved to ${address}` });
}

/** The body of `target` is (or announced itself) over `maxBytes`; `detail` says how we know. */
export function tooLarge(target: URL, maxBytes: number, detail: string): BotError {
  return new BotError(mediaTooLarge(maxBytes), { logMessage: `media.too_large: ${redactUrl(target.href)}: ${detail}` });
}

/** Connecting to `target` or reading from it failed. */
export function networkError(target: URL, cause: unknown): BotError {
  const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
  return new BotError(
    NETWORK_ERROR,
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
