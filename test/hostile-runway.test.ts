/**
 * A misbehaving Runway, through a small proxy in front of the simulator: task answers of the wrong
 * shape, output URLs on private or plain-http hosts, garbage on create. The real core (store,
 * ledger, SDK, runner) must never fetch a forbidden host, must refund, and must tell the user.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Failure } from '../src/errors.ts';
import { CREATE_UNCERTAIN } from '../src/jobs/create-decision.ts';
import { UNDELIVERABLE } from '../src/jobs/delivery.ts';
import { TASK_CANCELLED } from '../src/runway/failure-codes.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';

type TaskRewrite = (task: Record<string, unknown>) => unknown;

/** A Runway in front of the simulator that can rewrite task answers and replace create answers. */
class MisbehavingRunway {
  target = '';
  rewriteTask: TaskRewrite | null = null;
  /** The next create gets this 200 body instead of the simulator's answer. */
  garbageCreate: string | null = null;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<MisbehavingRunway> {
    let proxy: MisbehavingRunway | undefined;
    const server = createServer((req, res) => void proxy?.handle(req, res).catch(() => res.destroy()));
    proxy = new MisbehavingRunway(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === 'POST' && req.url === '/v1/text_to_image' && this.garbageCreate !== null) {
      const body = this.garbageCreate;
      this.garbageCreate = null;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    if (this.target === '') {
      res.writeHead(503);
      res.end();
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && !['host', 'connection', 'content-length'].includes(entry[0])),
    );
    const upstream = await fetch(`${this.target}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    let body = Buffer.from(await upstream.arrayBuffer());
    if (req.method === 'GET' && req.url?.startsWith('/v1/tasks/') && upstream.ok && this.rewriteTask) {
      body = Buffer.from(JSON.stringify(this.rewriteTask(JSON.parse(body.toString('utf8')) as Record<string, unknown>)));
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback listener that only counts who connects: a host the bot must never reach. */
class Trap {
  connections = 0;
  private constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.connections += 1;
      socket.destroy();
    });
  }
  static async start(): Promise<Trap> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new Trap(server);
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let proxy: MisbehavingRunway;
let trap: Trap;
let harness: CoreHarness | undefined;

beforeAll(async () => {
  [proxy, trap] = await Promise.all([MisbehavingRunway.start(), Trap.start()]);
});
afterAll(async () => {
  await proxy.close();
  await trap.close();
});
afterEach(async () => {
  proxy.rewriteTask = null;
  proxy.garbageCreate = null;
  proxy.target = '';
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<CoreHarness> {
  const h = await startCoreHarness({ runwayUrl: proxy.url });
  proxy.target = h.sim.url;
  harness = h;
  return h;
}

const jobState = (h: CoreHarness, id: string) => h.app.db.value<string>('select state from jobs where id = ?', [id]);
/** The failure stored in the job's row: what a restart would show again. */
const storedFailure = (h: CoreHarness, id: string) =>
  h.app.db.get<{ code: string | null; userMessage: string | null }>('select failure_code as code, failure_message as "userMessage" from jobs where id = ?', [id]);

/**
 * `runway.bad_response` (src/jobs/poll-decision.ts keeps it private): Runway's task answers could
 * not be read three times in a row. Written out here so a change of wording is a visible change.
 */
const BAD_TASK_ANSWER: Failure = {
  code: 'runway.bad_response',
  userMessage: "Runway's answers about your image stopped making sense, so we gave up on it. You were not charged; please try again.",
};

async function imagine(h: CoreHarness, user: string): Promise<string> {
  const outcome = await h.app.core.imagine(h.requester(user), { prompt: 'a lighthouse at night', references: [] }, `ph-${user}`);
  if (!outcome.ok) throw new Error(`expected acceptance, got ${outcome.code}`);
  return outcome.jobId;
}

describe('a misbehaving Runway', () => {
  it.each([
    ['https on a loopback address', () => `https://127.0.0.1:${trap.port}/outputs/x/0.png?sig=abc`],
    ['plain http on a loopback port not in MEDIA_ORIGINS', () => `http://127.0.0.1:${trap.port}/outputs/x/0.png`],
    ['https on a private network address', () => 'https://10.0.0.7/outputs/x/0.png'],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
  ])('an output URL %s is never fetched; the job is refunded and the user told', async (_name, outputUrl) => {
    const h = await start();
    const url = outputUrl();
    const connectionsBefore = trap.connections;
    proxy.rewriteTask = (task) => (task.status === 'SUCCEEDED' ? { ...task, output: [url] } : task);
    const jobId = await imagine(h, 'ann');
    await h.runUntil(() => h.surface.failures.length === 1, 1_000, 400);
    expect(trap.connections - connectionsBefore).toBe(0);
    expect(h.surface.deliveries).toHaveLength(0);
    expect(await jobState(h, jobId)).toBe('failed');
    expect(await h.ledgerSum({ jobId })).toBe(0);
    // The output cannot be fetched, so the image cannot be posted: delivery.failed, in its own words.
    expect(h.surface.failures).toEqual([{ placeholder: 'ph-ann', failure: UNDELIVERABLE }]);
    expect(await storedFailure(h, jobId)).toEqual(UNDELIVERABLE);
    const failure = h.surface.failures[0]!.failure;
    expect(failure.userMessage).not.toContain(url);
    expect(failure.userMessage).not.toMatch(/sig=|169\.254|127\.0\.0\.1/);
  });

  it.each([
    ['an unknown status', (task: Record<string, unknown>) => ({ ...task, status: 'EXPLODED' })],
    ['output that is not a list', (task: Record<string, unknown>) => (task.status === 'SUCCEEDED' ? { ...task, output: 'https://x.test/a.png' } : task)],
    ['a bare string', () => 'hello'],
  ])('a task answer with %s is not trusted: after a few tries the job is refunded', async (_name, rewrite) => {
    const h = await start();
    proxy.rewriteTask = rewrite;
    const jobId = await imagine(h, 'bea');
    await h.runUntil(() => h.surface.failures.length === 1, 1_000, 400);
    expect(h.surface.deliveries).toHaveLength(0);
    expect(await jobState(h, jobId)).toBe('failed');
    expect(await h.ledgerSum({ jobId })).toBe(0);
    expect(h.surface.failures).toEqual([{ placeholder: 'ph-bea', failure: BAD_TASK_ANSWER }]);
    expect(await storedFailure(h, jobId)).toEqual(BAD_TASK_ANSWER);
  });

  it.each([
    ['not JSON at all', '<html>oops</html>'],
    ['JSON of the wrong shape', '{"task":"maybe"}'],
  ])('a 200 on create carrying %s: never re-sent, refunded, explained', async (_name, body) => {
    const h = await start();
    proxy.garbageCreate = body;
    const jobId = await imagine(h, 'cat');
    await h.runUntil(() => h.surface.failures.length === 1, 500, 100);
    expect(h.sim.requests.filter((r) => r.method === 'POST' && r.path === '/v1/text_to_image')).toHaveLength(0);
    expect(await jobState(h, jobId)).toBe('failed');
    expect(await h.ledgerSum({ jobId })).toBe(0);
    expect(h.surface.failures).toEqual([{ placeholder: 'ph-cat', failure: CREATE_UNCERTAIN }]);
    expect(await storedFailure(h, jobId)).toEqual(CREATE_UNCERTAIN);
  });
});

describe('Runway cancelling a task', () => {
  it('a task cancelled at Runway after it started running: the job ends cancelled, refunded, and the user told', async () => {
    const h = await start();
    // Runway answers RUNNING once, then CANCELLED (someone cancelled it in Runway's dashboard).
    let polls = 0;
    proxy.rewriteTask = (task) => {
      polls += 1;
      const base = { id: task.id, createdAt: task.createdAt };
      if (polls === 1) return { ...base, status: 'RUNNING', progress: 0.4, estimatedCost: task.cost ?? task.estimatedCost };
      return { ...base, status: 'CANCELLED', cost: { credits: 0 } };
    };
    const jobId = await imagine(h, 'dee');
    await h.runUntil(() => h.surface.failures.length === 1, 1_000, 400);
    // The runner had seen it running (the placeholder said so) before Runway said it was cancelled.
    expect(h.surface.statuses.some((s) => s.placeholder === 'ph-dee' && s.status.kind === 'running')).toBe(true);
    expect(polls).toBe(2);
    expect(await jobState(h, jobId)).toBe('cancelled');
    expect(h.surface.failures).toEqual([{ placeholder: 'ph-dee', failure: TASK_CANCELLED }]);
    expect(await storedFailure(h, jobId)).toEqual(TASK_CANCELLED);
    expect(h.surface.deliveries).toHaveLength(0);
    expect(await h.ledgerSum({ jobId })).toBe(0);
    expect(await h.ledgerSum({ userId: 'dee' })).toBe(50);
  });
});
