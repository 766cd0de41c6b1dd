/**
 * Test helpers for the ledger: a fresh migrated database and the minimal `jobs` row that a ledger
 * entry's `job_id` must reference (the jobs module owns that table; tests of money need only its key).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/database.ts';

/** Insert a bare `jobs` row so ledger entries can reference it. Idempotent. */
export function insertJobRow(
  db: Db,
  job: { id: string; communityId: string; userId: string; model?: string; atMs?: number },
): void {
  const atMs = job.atMs ?? 0;
  db.prepare(
    `insert or ignore into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state,
       created_at, updated_at)
     values (?, 'test', ?, ?, ?, '{}', '{}', ?, 'queued', ?, ?)`,
  ).run(job.id, job.communityId, job.userId, job.userId, job.model ?? 'gen4_image', atMs, atMs);
}

/** A migrated database in a new temporary directory; `cleanup` closes it and removes the directory. */
export function openTempDatabase(): { db: Db; path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-ledger-'));
  const path = join(dir, 'test.db');
  const db = openDatabase(path);
  return {
    db,
    path,
    cleanup: () => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
