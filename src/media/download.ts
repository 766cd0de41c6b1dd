/**
 * The one way the bot downloads anything: chat attachments (Discord CDN, Slack `url_private` with
 * the bot token) and Runway outputs. Design §7: allowlisted origins over https, the credential sent
 * to its own origin only, redirects checked hop by hop, size capped while streaming, a deadline on
 * the whole request, and the type judged by the bytes.
 *
 * Why node:http/https and not fetch: fetch cannot tell us which address it connects to. Here the
 * address check runs inside the socket's own `lookup`, on the very address the socket then
 * connects to, so a DNS answer that changes between a check and the connect (DNS rebinding)
 * cannot slip through. `agent: false` gives every hop a fresh socket, never a pooled one that
 * skipped this check.
 */
import http from 'node:http';
import https from 'node:https';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { IncomingMessage } from 'node:http';
import type { Timers } from '../clock.ts';
import { BotError, type ErrorCode } from '../errors.ts';
import { isConsentablePrivateAddress, isIpLiteral, isPublicAddress } from './address.ts';
import { INVALID_URL, mediaHttpError, mediaNotAnImage, networkError, ORIGIN_NOT_ALLOWED, privateAddress, timedOut, tooLarge, TOO_MANY_REDIRECTS } from './errors.ts';
import { redactUrl } from './redact.ts';
import { sniffImageType, usableImageType, type UsableImageType } from './sniff.ts';

export { redactUrl };

export interface DownloadPolicy {
  /** Exact origins allowed, e.g. 'https://cdn.discordapp.com', 'https://files.slack.com', or a test's 'http://127.0.0.1:41234'. */
  allowedOrigins: readonly string[];
  /** Sent only to `credential.origin` (exact origin); stripped on any redirect elsewhere. */
  credential?: { origin: string; headers: Record<string, string> };
  maxBytes: number;
  /** Whole request, headers and body, across every redirect hop. */
  timeoutMs: number;
  /** Default 3; each hop must also be allowlisted. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Sets the `timeoutMs` deadline (default the global timers); tests pass ones they fire by hand. */
  timers?: Timers;
  /** DNS lookup, injectable for tests (default node:dns lookup). */
  lookup?: (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;
}

export interface Downloaded {
  bytes: Uint8Array;
  contentType: string | null;
  finalUrl: string;
}

export type DownloadedImage = Downloaded & { type: UsableImageType };

/** The download failures that are our refusals (policy), as opposed to the far side failing (HTTP errors, timeouts, resets). */
export const REFUSAL_CODES = ['media.invalid_url', 'media.origin_not_allowed', 'media.private_address', 'media.too_many_redirects', 'media.too_large', 'media.not_an_image'] as const satisfies readonly ErrorCode[];
export type RefusalCode = (typeof REFUSAL_CODES)[number];

function isRefusal(code: ErrorCode): code is RefusalCode {
  return (REFUSAL_CODES as readonly ErrorCode[]).includes(code);
}

/**
 * Who hears about refusals (the metrics). Process-wide rather than per policy because every
 * adapter builds its own policies, and a refusal is worth counting wherever the download started.
 */
const refusalListeners = new Set<(code: RefusalCode) => void>();

/** Hear every refused download's code from now on; returns the function that stops listening. */
export function onDownloadRefused(listener: (code: RefusalCode) => void): () => void {
  refusalListeners.add(listener);
  return () => refusalListeners.delete(listener);
}

/** Tell the listeners if `error` is one of our refusals; never throws (a listener's bug must not mask the refusal). */
function reportIfRefused(error: unknown): void {
  if (!(error instanceof BotError)) return;
  const { code } = error;
  if (!isRefusal(code)) return;
  for (const listener of refusalListeners) {
    try {
      listener(code);
    } catch {
      // The caller gets the refusal either way.
    }
  }
}

const DEFAULT_MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Download `url` under `policy`, following allowlisted redirects. Every failure is a `BotError` with a `media.*` code. */
export async function downloadSafely(url: string, policy: DownloadPolicy): Promise<Downloaded> {
  try {
    return await download(url, policy);
  } catch (error) {
    reportIfRefused(error);
    throw error;
  }
}

async function download(url: string, policy: DownloadPolicy): Promise<Downloaded> {
  const deadline = new AbortController();
  const timeoutError = (): BotError => timedOut(url, policy.timeoutMs);
  const timers = policy.timers ?? { setTimeout, clearTimeout };
  const timer = timers.setTimeout(() => deadline.abort(timeoutError()), policy.timeoutMs);
  const onCallerAbort = (): void => deadline.abort(timeoutError());
  if (policy.signal?.aborted) onCallerAbort();
  policy.signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    let current = checkOrigin(url, policy);
    const maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    for (let redirects = 0; ; redirects += 1) {
      const outcome = await fetchOnce(current, policy, deadline.signal);
      if (outcome.kind === 'body') return { bytes: outcome.bytes, contentType: outcome.contentType, finalUrl: current.href };
      if (redirects >= maxRedirects) {
        throw new BotError(TOO_MANY_REDIRECTS, { logMessage: `media.too_many_redirects: more than ${maxRedirects} from ${redactUrl(url)}` });
      }
      current = checkOrigin(resolveLocation(outcome.location, current), policy);
    }
  } finally {
    timers.clearTimeout(timer);
    policy.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** Download and require PNG/JPEG/WebP by its bytes (GIF refused), for references and outputs. */
export async function downloadImage(url: string, policy: DownloadPolicy): Promise<DownloadedImage> {
  const downloaded = await downloadSafely(url, policy);
  const type = usableImageType(downloaded.bytes);
  if (type === null) {
    const isGif = sniffImageType(downloaded.bytes) === 'image/gif';
    const refusal = new BotError(mediaNotAnImage(isGif), {
      logMessage: `media.not_an_image: ${redactUrl(downloaded.finalUrl)} is ${describeBytes(downloaded.bytes, sniffImageType(downloaded.bytes))} (Content-Type ${downloaded.contentType ?? 'none'})`,
    });
    reportIfRefused(refusal);
    throw refusal;
  }
  return { ...downloaded, type };
}

type HopOutcome =
  | { kind: 'body'; bytes: Uint8Array; contentType: string | null }
  | { kind: 'redirect'; location: string };

/** One HTTP GET with no redirect following; the caller decides about the next hop. */
function fetchOnce(target: URL, policy: DownloadPolicy, signal: AbortSignal): Promise<HopOutcome> {
  return new Promise<HopOutcome>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      action();
    };
    const fail = (error: unknown): void => {
      settle(() => reject(error));
      request.destroy();
    };
    const onAbort = (): void => fail(signal.reason);

    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.request({
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port === '' ? undefined : Number(target.port),
      path: `${target.pathname}${target.search}`,
      method: 'GET',
      agent: false,
      headers: {
        // Node never decompresses, and asking for identity keeps maxBytes meaning bytes on disk.
        'accept-encoding': 'identity',
        'user-agent': 'imagine-bot',
        ...(policy.credential !== undefined && policy.credential.origin === target.origin ? policy.credential.headers : {}),
      },
      lookup: guardedLookup(target, policy),
    });
    signal.addEventListener('abort', onAbort, { once: true });

    request.on('error', (error) => fail(error instanceof BotError ? error : networkError(target, error)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        settle(() => resolve({ kind: 'redirect', location }));
        request.destroy();
        return;
      }
      if (status < 200 || status > 299) {
        fail(new BotError(mediaHttpError(status), { logMessage: `media.http_error: HTTP ${status} from ${redactUrl(target.href)}` }));
        return;
      }
      readBody(response, target, policy.maxBytes).then(
        (bytes) => settle(() => resolve({ kind: 'body', bytes, contentType: response.headers['content-type'] ?? null })),
        fail,
      );
    });
    request.end();
  });
}

/** Collect the body, refusing early on Content-Length and counting while streaming. */
function readBody(response: IncomingMessage, target: URL, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(tooLarge(target, maxBytes, `Content-Length ${declared}`));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        reject(tooLarge(target, maxBytes, `more than ${maxBytes} bytes streamed`));
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    // A connection cut mid-body surfaces here (and as 'aborted'); a truncated image is not an image.
    response.on('error', (error) => reject(networkError(target, error)));
    response.on('aborted', () => reject(networkError(target, new Error('response aborted'))));
  });
}

/**
 * The socket's DNS lookup, checking every address it hands back. An IP-literal host never reaches
 * here (Node connects to it directly), so `checkOrigin` checks those up front.
 */
function guardedLookup(target: URL, policy: DownloadPolicy) {
  const resolveHost = policy.lookup ?? defaultLookup;
  return (
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    resolveHost(hostname).then(
      (addresses) => {
        // Refuse if ANY answer is private: a mixed answer is exactly what a rebinding attacker sends.
        const inward = addresses.find((entry) => !isPublicAddress(entry.address));
        if (addresses.length === 0) {
          callback(networkError(target, new Error(`no addresses for ${hostname}`)), '');
        } else if (inward !== undefined) {
          callback(privateAddress(target, inward.address), '');
        } else if (options.all === true) {
          callback(null, addresses);
        } else {
          const [first] = addresses;
          callback(null, first?.address ?? '', first?.family);
        }
      },
      (error: unknown) => callback(networkError(target, error), ''),
    );
  };
}

async function defaultLookup(hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => ({ address: answer.address, family: answer.family === 6 ? 6 : 4 }));
}

/**
 * Parse and admit a URL: https (or an http origin listed exactly), an allowlisted origin, and for
 * an IP-literal host a public address unless that very origin is listed (a test's loopback fake).
 */
function checkOrigin(url: string, policy: DownloadPolicy): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BotError(INVALID_URL, { logMessage: 'media.invalid_url: unparseable download URL' });
  }
  const isAllowlisted = policy.allowedOrigins.includes(parsed.origin);
  const isAllowedScheme = parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isAllowlisted);
  if (!isAllowlisted || !isAllowedScheme) {
    throw new BotError(ORIGIN_NOT_ALLOWED, { logMessage: `media.origin_not_allowed: ${redactUrl(url)}` });
  }
  // Listing a loopback or private IP-literal origin exactly is the operator's consent to reach that
  // address; a hostname gets no such pass, since its DNS answer is not under the operator's control.
  // Node connects to an IP literal without calling `lookup`, so this is its only check.
  if (isIpLiteral(parsed.hostname) && !isPublicAddress(parsed.hostname) && !isConsentablePrivateAddress(parsed.hostname)) {
    throw privateAddress(parsed, parsed.hostname);
  }
  return parsed;
}

function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location; // checkOrigin reports it as an invalid URL
  }
}

function describeBytes(bytes: Uint8Array, type: string | null): string {
  if (type !== null) return type;
  const start = Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().toLowerCase();
  if (start.startsWith('<!doctype html') || start.startsWith('<html')) return 'an HTML page (missing or wrong credential?)';
  return `${bytes.length} bytes of unknown type`;
}
