/**
 * The health server on HEALTH_PORT (node:http, nothing else): what an orchestrator and Prometheus
 * ask the running bot.
 *
 *   GET /healthz  200 {"status":"ok"} while the process can answer at all (liveness)
 *   GET /readyz   200 when every part is ok, else 503; {status, checks: {part: {ok, detail?}}}
 *   GET /metrics  Prometheus text format
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.ts';
import { readiness, type HealthProbe } from './health.ts';

export interface ServiceServerOptions {
  /** 0 picks a free port (tests); the one bound is in the result. */
  readonly port: number;
  /** Default: every interface, so a container's published port and its HEALTHCHECK both reach it. */
  readonly host?: string;
  /** The parts /readyz reports, by name (database, discord, slack, runway). */
  readonly probes: Readonly<Record<string, HealthProbe>>;
  readonly metrics?: { readonly contentType: string; render(): Promise<string> };
  readonly log: Logger;
}

export interface ServiceServer {
  readonly port: number;
  close(): Promise<void>;
}

/** `service.port_in_use`: HEALTH_PORT is taken; the operator picks another or turns the server off. */
export class HealthPortInUseError extends Error {
  readonly code = 'service.port_in_use';
  constructor(port: number) {
    super(`HEALTH_PORT ${port} is already in use: set HEALTH_PORT to a free port, or to off for no health server.`);
    this.name = 'HealthPortInUseError';
  }
}

/** Listen on `port`; resolves once listening. */
export async function startServiceServer(options: ServiceServerOptions): Promise<ServiceServer> {
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      options.log.error('health server: request failed', { path: pathOf(request), error });
      if (!response.headersSent) send(response, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
      else response.destroy();
    });
  });
  // A scraper or probe that holds a connection open must not keep the process from exiting.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new HealthPortInUseError(options.port) : error));
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  options.log.info('health server listening', { port, paths: ['/healthz', '/readyz', '/metrics'] });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: ServiceServerOptions): Promise<void> {
  const path = pathOf(request);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(response, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }));
  }
  switch (path) {
    case '/healthz':
      return send(response, 200, 'application/json', JSON.stringify({ status: 'ok' }));
    case '/readyz': {
      const result = await readiness(options.probes);
      return send(response, result.status === 'ready' ? 200 : 503, 'application/json', JSON.stringify(result));
    }
    case '/metrics':
      if (options.metrics) return send(response, 200, options.metrics.contentType, await options.metrics.render());
      break;
    default:
      break;
  }
  send(response, 404, 'application/json', JSON.stringify({ error: 'not found', paths: ['/healthz', '/readyz', '/metrics'] }));
}

function pathOf(request: IncomingMessage): string {
  return new URL(request.url ?? '/', 'http://health').pathname;
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
