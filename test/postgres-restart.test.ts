/**
 * A PostgreSQL restart under a running bot: queries during the outage fail as connection errors
 * (which the engine treats as "try again later", not as a bad job), and the same pool serves again
 * once the server is back, with no reopening. Its own server, so the shared one is not disturbed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isConnectionError, PostgresDatabase } from '../src/store/postgres-sql.ts';
import { createTestPostgresServer, type TestPostgresServer } from './support/embedded-postgres.ts';
import { waitFor } from './support/wait-for.ts';

let server: TestPostgresServer;
beforeAll(async () => {
  server = await createTestPostgresServer({ restartable: true });
  await server.start();
});
afterAll(async () => {
  await server.destroy();
});

const outcomeOf = (work: Promise<unknown>): Promise<unknown> => work.then((value) => ({ answered: value }), (error: unknown) => error);
const codeOf = (error: unknown) => (error as { code?: unknown }).code;

it('queries during a restart fail as connection errors, and the same pool answers once the server is back', async () => {
  const dropped: Error[] = [];
  const db = new PostgresDatabase(PostgresDatabase.pool(server.url('postgres'), { max: 2, onError: (error) => dropped.push(error) }), 'restart test');
  try {
    expect(await db.value('select 1')).toBe(1);

    await server.stop();
    // The idle connection the server closed is reported to the pool's listener, not thrown into
    // the process. Waiting for it keeps the next query from picking that connection up first.
    await waitFor('the pool to report the dropped connection', () => dropped.length > 0);
    expect(dropped.map(codeOf)).toEqual(['57P01']);
    const query = await outcomeOf(db.value('select 2'));
    const transaction = await outcomeOf(db.transaction((tx) => tx.value('select 3')));
    expect([isConnectionError(query), codeOf(query)]).toEqual([true, 'ECONNREFUSED']);
    expect([isConnectionError(transaction), codeOf(transaction)]).toEqual([true, 'ECONNREFUSED']);

    await server.start();
    expect(await db.value('select 4')).toBe(4);
    expect(await db.transaction((tx) => tx.value('select 5'))).toBe(5);
  } finally {
    await db.close();
  }
});
