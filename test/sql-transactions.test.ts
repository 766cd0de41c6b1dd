/**
 * `Sql.transaction` keeps its promise on both backends: all or nothing, savepoints that undo only
 * their own part, and (on PostgreSQL, where several connections write) no interleaving: a check
 * and the write it allows cannot be split by another transaction, in this process or another.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { openPostgres } from '../src/store/open-postgres.ts';
import { WRITE_LOCK_KEY } from '../src/store/postgres-sql.ts';
import type { Database, Sql } from '../src/store/sql.ts';
import { BACKENDS, dropTestDatabases, freshPostgresUrl, openTestDatabase, type Backend } from './support/test-database.ts';

afterAll(dropTestDatabases);

const addWord = (sql: Sql, word: string) =>
  sql.run("insert into blocked_words (community_id, word, added_by, added_at) values ('g1', @word, 'mod', 0)", { word });
const words = (sql: Sql) => sql.all<{ word: string }>("select word from blocked_words where community_id = 'g1' order by word");

describe.each(BACKENDS)('transactions on %s', (backend: Backend) => {
  let db: Database;
  beforeEach(async () => {
    db = await openTestDatabase(backend);
  });
  afterEach(async () => {
    await db.close();
  });

  it('two transactions started in the same tick both run, one after the other', async () => {
    const order: string[] = [];
    const results = await Promise.allSettled(
      ['alpha', 'beta', 'gamma'].map((word) =>
        db.transaction(async (tx) => {
          order.push(`begin ${word}`);
          await addWord(tx, word);
          order.push(`end ${word}`);
        }),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    // Never two open at once: each ends before the next begins. SQLite's queue keeps the order they
    // were started in; on PostgreSQL each takes a pooled connection at once, and the one whose BEGIN
    // reaches the server first takes the write lock first.
    const started = order.filter((entry) => entry.startsWith('begin ')).map((entry) => entry.slice('begin '.length));
    expect(order).toEqual(started.flatMap((word) => [`begin ${word}`, `end ${word}`]));
    expect(backend === 'sqlite' ? started : [...started].sort()).toEqual(['alpha', 'beta', 'gamma']);
    expect(await words(db)).toEqual([{ word: 'alpha' }, { word: 'beta' }, { word: 'gamma' }]);
  });

  it('a statement issued while a transaction is open never lands inside another one that rolls back', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = db.transaction(async (tx) => {
      await gate;
      await addWord(tx, 'kept');
    });
    const second = db.transaction(async (tx) => {
      await addWord(tx, 'undone');
      throw new Error('roll back');
    });
    const outside = addWord(db, 'outside');
    release();
    await first;
    await expect(second).rejects.toThrow('roll back');
    await outside;
    expect(await words(db)).toEqual([{ word: 'kept' }, { word: 'outside' }]);
  });

  it("commits fn's writes and returns its value", async () => {
    const result = await db.transaction(async (tx) => {
      await addWord(tx, 'alpha');
      await addWord(tx, 'beta');
      return 'done';
    });
    expect(result).toBe('done');
    expect(await words(db)).toEqual([{ word: 'alpha' }, { word: 'beta' }]);
  });

  it('rolls everything back when fn throws, and rethrows the same error', async () => {
    const failure = new Error('changed my mind');
    await expect(
      db.transaction(async (tx) => {
        await addWord(tx, 'alpha');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await words(db)).toEqual([]);
  });

  it('a nested transaction that throws undoes only its own writes; the outer one goes on and commits', async () => {
    const inner = await db.transaction(async (tx) => {
      await addWord(tx, 'alpha');
      const outcome = await tx
        .transaction(async (nested) => {
          await addWord(nested, 'beta');
          // A failed statement: on PostgreSQL it aborts everything back to the savepoint.
          await addWord(nested, 'alpha');
        })
        .then(
          () => 'committed',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
      await addWord(tx, 'gamma');
      return outcome;
    });
    expect(inner).toBe(
      backend === 'postgres'
        ? 'duplicate key value violates unique constraint "blocked_words_pkey"'
        : 'UNIQUE constraint failed: blocked_words.community_id, blocked_words.word',
    );
    expect(await words(db)).toEqual([{ word: 'alpha' }, { word: 'gamma' }]);
  });

  it('a nested transaction that succeeds commits with its outer one', async () => {
    await db.transaction(async (tx) => {
      await addWord(tx, 'alpha');
      await tx.transaction(async (nested) => addWord(nested, 'beta'));
    });
    expect(await words(db)).toEqual([{ word: 'alpha' }, { word: 'beta' }]);
  });

  it('after a transaction whose statement failed, every connection still works', async () => {
    await addWord(db, 'alpha');
    await expect(db.transaction(async (tx) => addWord(tx, 'alpha'))).rejects.toThrow(
      backend === 'postgres' ? 'duplicate key value violates unique constraint "blocked_words_pkey"' : 'UNIQUE constraint failed',
    );
    // More transactions than the test pool has connections: a connection left inside an
    // aborted transaction would fail one of them.
    for (const word of ['b', 'c', 'd', 'e', 'f']) await db.transaction(async (tx) => addWord(tx, word));
    expect(await db.value("select count(*) from blocked_words where community_id = 'g1'")).toBe(6);
  });
});

describe('write transactions on PostgreSQL do not interleave', () => {
  const clock = new ManualClock();
  let first: Database;
  let second: Database;
  let separatePools: boolean;

  afterEach(async () => {
    await first.close();
    if (separatePools) await second.close();
  });

  /** Waits until `probe` says yes: for a state another connection reaches, never a fixed sleep. */
  async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (!(await probe())) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  const readCredits = (tx: Sql) => tx.value<number>("select allowance from community_settings where community_id = 'g1'");
  const writeCredits = (tx: Sql, credits: number) => tx.run("update community_settings set allowance = @credits where community_id = 'g1'", { credits });

  it.each([
    { how: 'on one pool', pools: 1 },
    { how: 'on two pools, as two bot processes would', pools: 2 },
  ])('a second transaction waits for the first to commit, $how', async ({ pools }) => {
    const url = await freshPostgresUrl();
    separatePools = pools === 2;
    first = await openPostgres(url, { clock, poolMax: 3 });
    second = separatePools ? await openPostgres(url, { clock, poolMax: 3 }) : first;
    await first.run("insert into community_settings (community_id, allowance) values ('g1', 0)");

    const events: string[] = [];
    let letFirstCommit!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (letFirstCommit = resolve));
    let firstHasRead!: () => void;
    const firstRead = new Promise<void>((resolve) => (firstHasRead = resolve));

    // Both read the balance and write it plus one: interleaved, both would read 0 and one
    // increment would be lost.
    const firstDone = first.transaction(async (tx) => {
      const credits = (await readCredits(tx))!;
      events.push(`first read ${credits}`);
      firstHasRead();
      await firstMayCommit;
      await writeCredits(tx, credits + 1);
      events.push('first wrote');
    });
    await firstRead;
    const secondDone = second.transaction(async (tx) => {
      const credits = (await readCredits(tx))!;
      events.push(`second read ${credits}`);
      await writeCredits(tx, credits + 1);
    });
    try {
      await until('the second transaction to queue for the write lock', async () => {
        const waiting = await first.value<number>(
          `select count(*) from pg_locks
            where locktype = 'advisory' and not granted and objid = @key
              and database = (select oid from pg_database where datname = current_database())`,
          { key: WRITE_LOCK_KEY },
        );
        return waiting === 1;
      });
      events.push('second is waiting');
    } finally {
      // Also when the wait failed: the test then ends instead of hanging on an open transaction.
      letFirstCommit();
    }
    await Promise.all([firstDone, secondDone]);

    expect(events).toEqual(['first read 0', 'second is waiting', 'first wrote', 'second read 1']);
    expect(await readCredits(first)).toBe(2);
  });
});
