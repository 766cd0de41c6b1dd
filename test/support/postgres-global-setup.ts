/**
 * One PostgreSQL server per `vitest run`, shared by every test file (each gets its own databases:
 * see ./test-database.ts).
 *
 * The server starts in the background: a run that touches no PostgreSQL test does not wait for it,
 * and one that does overlaps the start with collecting its files. Tests learn that it is up (or why
 * it is not) from the status file, since a provided value cannot change after setup returns.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { z } from 'zod';
import { createTestPostgresServer } from './embedded-postgres.ts';

/** What the status file holds once the start has finished, one way or the other. */
export const postgresStatus = z.discriminatedUnion('ready', [
  z.object({ ready: z.literal(true) }),
  z.object({ ready: z.literal(false), reason: z.string() }),
]);
export type PostgresStatus = z.infer<typeof postgresStatus>;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's maintenance database (`postgres`); its password is a throwaway. */
    postgresUrl: string;
    /** Where `PostgresStatus` appears as JSON when the start has finished. */
    postgresStatusFile: string;
    /** The store of the project's tests (vitest.config.ts): `postgres` in the postgres project; unset means `sqlite`. */
    testBackend?: 'sqlite' | 'postgres';
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const statusFile = join(tmpdir(), `imagine-bot-pg-status-${randomBytes(6).toString('hex')}.json`);
  // Written aside and renamed: a reader never sees half a file.
  const report = async (status: PostgresStatus) => {
    await writeFile(`${statusFile}.part`, JSON.stringify(status));
    await rename(`${statusFile}.part`, statusFile);
  };
  const server = await createTestPostgresServer();
  project.provide('postgresUrl', server.url('postgres'));
  project.provide('postgresStatusFile', statusFile);
  const started = server.start().then(
    () => report({ ready: true }),
    (error: unknown) => report({ ready: false, reason: error instanceof Error ? error.message : String(error) }),
  );
  return async () => {
    await started;
    await server.destroy();
    await rm(statusFile, { force: true });
  };
}
