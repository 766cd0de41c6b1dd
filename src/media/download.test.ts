import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualTimers } from '../../test/support/manual-timers.ts';
import { BotError, type Failure } from '../errors.ts';
import { downloadImage, downloadSafely, redactUrl } from './download.ts';
import type { DownloadPolicy } from './download.ts';
import { INVALID_URL, mediaHttpError, mediaNotAnImage, mediaTimeout, mediaTooLarge, ORIGIN_NOT_ALLOWED, PRIVATE_ADDRESS, TOO_MANY_REDIRECTS } from './errors.ts';

/** A real HTTP server on 127.0.0.1 that records what it was sent. */
interface FakeHost {
  origin: string;
  port: number;
  requests: { path: string; headers: IncomingHttpHeaders }[];
}

const servers: Server[] = [];

async function startHost(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<FakeHost> {
  const requests: FakeHost['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    handle(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, port, requests };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

let png: Buffer;
let gif: Buffer;
beforeAll(async () => {
  const image = sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366cc' } });
  png = await image.clone().png().toBuffer();
  gif = await image.clone().gif().toBuffer();
});

function policy(overrides: Partial<DownloadPolicy> & Pick<DownloadPolicy, 'allowedOrigins'>): DownloadPolicy {
  return { maxBytes: 1_048_576, timeoutMs: 10_000, ...overrides };
}

/** The BotError a download rejects with; fails the test if it resolves or throws something else. */
async function failure(download: Promise<unknown>): Promise<BotError> {
  const error = await download.then(
    () => expect.fail('expected the download to be refused'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BotError);
  return error as BotError;
}

/** The refusal as the user sees it: its code and the text of that code's builder, nothing looser. */
const shownAs = (error: BotError): Failure => ({ code: error.code, userMessage: error.userMessage });

const TOKEN = 'Bearer xoxb-secret-token';

describe('downloadSafely', () => {
  it('downloads an allowlisted file and sends the credential to its own origin', async () => {
    const host = await startHost((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
    const url = `${host.origin}/files/ref.png?sig=abc`;
    const result = await downloadImage(url, policy({ allowedOrigins: [host.origin], credential: { origin: host.origin, headers: { authorization: TOKEN } } }));

    expect(Buffer.from(result.bytes).equals(png)).toBe(true);
    expect(result.type).toBe('image/png');
    expect(result.contentType).toBe('image/png');
    expect(result.finalUrl).toBe(url);
    expect(host.requests).toHaveLength(1);
    expect(host.requests[0]?.path).toBe('/files/ref.png?sig=abc');
    expect(host.requests[0]?.headers.authorization).toBe(TOKEN);
  });

  it('does not send the credential after a redirect to another allowlisted origin', async () => {
    const cdn = await startHost((_req, res) => res.writeHead(200).end(png));
    const files = await startHost((_req, res) => res.writeHead(302, { location: `${cdn.origin}/signed/ref.png?token=x` }).end());
    const result = await downloadSafely(
      `${files.origin}/private/ref.png`,
      policy({ allowedOrigins: [files.origin, cdn.origin], credential: { origin: files.origin, headers: { authorization: TOKEN } } }),
    );

    expect(result.finalUrl).toBe(`${cdn.origin}/signed/ref.png?token=x`);
    expect(files.requests[0]?.headers.authorization).toBe(TOKEN);
    expect(cdn.requests).toHaveLength(1);
    expect(cdn.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('follows a relative redirect on the same origin, keeping the credential there', async () => {
    const host = await startHost((req, res) => {
      if (req.url === '/a') res.writeHead(301, { location: '/b' }).end();
      else res.writeHead(200).end(png);
    });
    const result = await downloadSafely(`${host.origin}/a`, policy({ allowedOrigins: [host.origin], credential: { origin: host.origin, headers: { authorization: TOKEN } } }));
    expect(result.finalUrl).toBe(`${host.origin}/b`);
    expect(host.requests.map((r) => r.headers.authorization)).toEqual([TOKEN, TOKEN]);
  });

  it('refuses a redirect to an origin that is not allowlisted, without contacting it', async () => {
    const elsewhere = await startHost((_req, res) => res.writeHead(200).end(png));
    const host = await startHost((_req, res) => res.writeHead(307, { location: `${elsewhere.origin}/x.png` }).end());
    const error = await failure(downloadSafely(`${host.origin}/ref.png`, policy({ allowedOrigins: [host.origin] })));

    expect(shownAs(error)).toEqual(ORIGIN_NOT_ALLOWED);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('gives up after too many redirects', async () => {
    const host = await startHost((req, res) => res.writeHead(302, { location: `/hop${(req.url ?? '').length}` }).end());
    const error = await failure(downloadSafely(`${host.origin}/start`, policy({ allowedOrigins: [host.origin], maxRedirects: 2 })));

    expect(shownAs(error)).toEqual(TOO_MANY_REDIRECTS);
    expect(host.requests).toHaveLength(3);
  });

  it('refuses an origin that is not allowlisted, and plain http unless listed exactly', async () => {
    const discord = ['https://cdn.discordapp.com'];
    expect(shownAs(await failure(downloadSafely('https://evil.example/x.png', policy({ allowedOrigins: discord }))))).toEqual(ORIGIN_NOT_ALLOWED);
    expect(shownAs(await failure(downloadSafely('http://cdn.discordapp.com/x.png', policy({ allowedOrigins: discord }))))).toEqual(ORIGIN_NOT_ALLOWED);
    expect(shownAs(await failure(downloadSafely('file:///etc/passwd', policy({ allowedOrigins: discord }))))).toEqual(ORIGIN_NOT_ALLOWED);
    expect(shownAs(await failure(downloadSafely('not a url', policy({ allowedOrigins: discord }))))).toEqual(INVALID_URL);
  });

  it.each(['127.0.0.1', '10.0.0.5'])('refuses an allowlisted hostname whose DNS answer is %s, without connecting', async (address) => {
    const host = await startHost((_req, res) => res.writeHead(200).end(png));
    const origin = `http://media.test:${host.port}`;
    const lookedUp: string[] = [];
    const error = await failure(
      downloadSafely(
        `${origin}/ref.png`,
        policy({
          allowedOrigins: [origin],
          lookup: async (hostname) => {
            lookedUp.push(hostname);
            return [{ address, family: 4 }];
          },
        }),
      ),
    );

    expect(shownAs(error)).toEqual(PRIVATE_ADDRESS);
    expect(lookedUp).toEqual(['media.test']);
    expect(host.requests).toHaveLength(0);
  });

  it('refuses a DNS answer that mixes a public and a private address (rebinding)', async () => {
    const host = await startHost((_req, res) => res.writeHead(200).end(png));
    const origin = `http://media.test:${host.port}`;
    const error = await failure(
      downloadSafely(
        `${origin}/ref.png`,
        policy({
          allowedOrigins: [origin],
          lookup: async () => [
            { address: '93.184.216.34', family: 4 },
            { address: '::ffff:127.0.0.1', family: 6 },
          ],
        }),
      ),
    );
    expect(shownAs(error)).toEqual(PRIVATE_ADDRESS);
    expect(host.requests).toHaveLength(0);
  });

  it('refuses the cloud metadata address, even when it is listed', async () => {
    const metadata = 'http://169.254.169.254';
    expect(shownAs(await failure(downloadSafely(`${metadata}/latest/meta-data/`, policy({ allowedOrigins: ['https://cdn.discordapp.com'] }))))).toEqual(
      ORIGIN_NOT_ALLOWED,
    );
    expect(shownAs(await failure(downloadSafely(`${metadata}/latest/meta-data/`, policy({ allowedOrigins: [metadata] }))))).toEqual(PRIVATE_ADDRESS);
    expect(shownAs(await failure(downloadSafely('http://0.0.0.0/x', policy({ allowedOrigins: ['http://0.0.0.0'] }))))).toEqual(PRIVATE_ADDRESS);
  });

  it('refuses a file whose Content-Length is over the limit before reading its body', async () => {
    // The body never arrives: only an early refusal can beat the timeout.
    const host = await startHost((_req, res) => {
      res.writeHead(200, { 'content-length': String(5 * 1_048_576) });
      res.write(png);
    });
    const error = await failure(downloadSafely(`${host.origin}/big.png`, policy({ allowedOrigins: [host.origin], maxBytes: 2 * 1_048_576 })));

    expect(shownAs(error)).toEqual(mediaTooLarge(2 * 1_048_576));
    expect(error.userMessage).toContain('2 MB');
  });

  it('stops a file without Content-Length once it streams past the limit', async () => {
    let bytesSent = 0;
    const host = await startHost((_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' }); // chunked: no length announced
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        // Keeps sending until the client hangs up; the bound only stops a broken client from looping forever.
        while (!res.destroyed && bytesSent < 64 * 1_048_576) {
          bytesSent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const error = await failure(downloadSafely(`${host.origin}/endless`, policy({ allowedOrigins: [host.origin], maxBytes: 1_048_576 })));

    expect(shownAs(error)).toEqual(mediaTooLarge(1_048_576));
    expect(error.userMessage).toContain('1 MB');
  });

  it('reports an HTTP error with its status and without the signed query', async () => {
    const host = await startHost((_req, res) => res.writeHead(403).end('expired'));
    const error = await failure(downloadSafely(`${host.origin}/att/ref.png?ex=123&hm=secret-signature`, policy({ allowedOrigins: [host.origin] })));

    expect(shownAs(error)).toEqual(mediaHttpError(403));
    expect(error.userMessage).toContain('403');
    expect(error.message).toContain(`${host.origin}/att/ref.png`);
    expect(`${error.message} ${error.userMessage}`).not.toContain('secret-signature');
  });

  it('times out against a server that never answers', async () => {
    const host = await startHost(() => {
      /* holds the socket open */
    });
    const deadline = new ManualTimers();
    const pending = downloadSafely(`${host.origin}/slow.png?sig=secret`, policy({ allowedOrigins: [host.origin], timeoutMs: 150, timers: deadline.timers }));
    await expect.poll(() => host.requests.length).toBe(1);
    expect(deadline.delays()).toEqual([150]);
    deadline.fireAll();
    const error = await failure(pending);

    expect(shownAs(error)).toEqual(mediaTimeout(150));
    expect(error.message).not.toContain('secret');
  });

  it('times out against a server that sends headers and then stalls mid-body', async () => {
    let bodyStarted = (): void => undefined;
    const stalled = new Promise<void>((resolve) => (bodyStarted = resolve));
    const host = await startHost((_req, res) => {
      res.writeHead(200, { 'content-length': String(png.length * 2) });
      res.write(png, () => bodyStarted());
    });
    const deadline = new ManualTimers();
    const pending = downloadSafely(`${host.origin}/stall.png`, policy({ allowedOrigins: [host.origin], timeoutMs: 150, timers: deadline.timers }));
    // Headers and half the body are on the wire; a few turns of the event loop let the client read them.
    await stalled;
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(deadline.delays()).toEqual([150]);
    deadline.fireAll();
    expect(shownAs(await failure(pending))).toEqual(mediaTimeout(150));
  });

  it("stops when the caller's signal aborts", async () => {
    const host = await startHost(() => {
      /* holds the socket open */
    });
    const controller = new AbortController();
    const pending = downloadSafely(`${host.origin}/x`, policy({ allowedOrigins: [host.origin], signal: controller.signal }));
    await expect.poll(() => host.requests.length).toBe(1);
    controller.abort();
    // The caller gave up; the message names the policy's own deadline (10 s here).
    expect(shownAs(await failure(pending))).toEqual(mediaTimeout(10_000));
  });
});

describe('downloadImage', () => {
  it('refuses an HTML page served as .png with an image Content-Type (Slack login page)', async () => {
    const host = await startHost((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end('<!DOCTYPE html><html><body>Sign in to Slack</body></html>'));
    const error = await failure(downloadImage(`${host.origin}/files-pri/T1-F1/ref.png`, policy({ allowedOrigins: [host.origin] })));

    expect(shownAs(error)).toEqual(mediaNotAnImage(false));
    expect(error.message).toContain('HTML');
  });

  it('refuses a GIF, naming the formats it accepts', async () => {
    const host = await startHost((_req, res) => res.writeHead(200, { 'content-type': 'image/gif' }).end(gif));
    const error = await failure(downloadImage(`${host.origin}/anim.gif`, policy({ allowedOrigins: [host.origin] })));

    // A GIF is an image to the user: the refusal says GIFs are not supported.
    expect(shownAs(error)).toEqual(mediaNotAnImage(true));
  });

  it('refuses plain text', async () => {
    const host = await startHost((_req, res) => res.writeHead(200).end('just some words'));
    expect(shownAs(await failure(downloadImage(`${host.origin}/notes.txt`, policy({ allowedOrigins: [host.origin] }))))).toEqual(mediaNotAnImage(false));
  });
});

describe('redactUrl', () => {
  it('keeps origin and path and drops query, fragment and userinfo', () => {
    expect(redactUrl('https://cdn.discordapp.com/attachments/1/2/ref.png?ex=65&is=66&hm=abcdef#frag')).toBe('https://cdn.discordapp.com/attachments/1/2/ref.png');
    expect(redactUrl('https://user:pass@files.slack.com/files-pri/T1-F1/x.png?t=xoxe')).toBe('https://files.slack.com/files-pri/T1-F1/x.png');
    expect(redactUrl('::not a url?secret')).toBe('[invalid URL]');
  });
});
