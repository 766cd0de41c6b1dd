/**
 * Test helpers for the ledger: a fresh migrated database and the minimal `jobs` row that a ledger
 * entry's `job_id` must reference (the jobs module owns that table; tests of money need only its key).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteDatabase } from '../../src/store/database.ts';
import type { Sql } from '../../src/store/sql.ts';
import type { SqliteDatabase } from '../../src/store/sqlite-sql.ts';

// `on conflict do nothing` (not SQLite's `insert or ignore`): the same text runs on PostgreSQL.
const INSERT_JOB_ROW = `
  insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, created_at, updated_at)
  values (@id, 'test', @communityId, @userId, @userId, '{}', '{}', @model, 'queued', @atMs, @atMs)
  on conflict do nothing`;

/**
 * Insert a bare `jobs` row so ledger entries can reference it. Idempotent. Inside a transaction,
 * pass its `tx`: the outer `Sql` waits for the transaction to end.
 */
export async function insertJobRow(
  db: Sql,
  job: { id: string; communityId: string; userId: string; model?: string; atMs?: number },
): Promise<void> {
  await db.run(INSERT_JOB_ROW, {
    id: job.id,
    communityId: job.communityId,
    userId: job.userId,
    model: job.model ?? 'gen4_image',
    atMs: job.atMs ?? 0,
  });
}

/**
 * A migrated SQLite database in a new temporary directory, for tests that open the same file from
 * a second connection or another process; `cleanup` closes it and removes the directory.
 */
export function openTempDatabase(): { db: SqliteDatabase; path: string; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-ledger-'));
  const path = join(dir, 'test.db');
  const db = openSqliteDatabase(path);
  return {
    db,
    path,
    cleanup: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
