/**
 * The backend matrix of vitest.config.ts stays whole: a test file that touches the store is listed
 * once (run on both stores, on SQLite alone with a reason, or choosing its backends itself), and a
 * file that runs on both opens no SQLite store of its own, so that its run in the postgres project
 * is a run on PostgreSQL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OWN_BACKEND_TESTS, SQLITE_ONLY_TESTS, STORE_TESTS } from '../vitest.config.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What a test imports to reach a store: the helpers that open one, the store's modules, the bot (which opens one), a driver. */
const TOUCHES_STORE =
  /from '[./]+(test\/)?support\/(test-database|core-harness|bot-store|bot-database|ledger-fixtures|transition-fixtures|deliveries|bot-process|platform-bot)\.ts'|from '[./]+(src\/)?store\/(database|sqlite-sql|postgres-sql|open-postgres|copy-to-postgres|deliveries|instance-lease|migrations)\.ts'|from '[./]+src\/app\.ts'|from '(better-sqlite3|pg)'/;

/** A store opened on SQLite whatever the project: the file, an in-memory database, the driver. */
const OPENS_SQLITE = /openSqliteDatabase\(|openDatabase\(|new SqliteDatabase\(|DATABASE_PATH:/;

function testFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const ALL_TESTS = ['src', 'adapters', 'test'].flatMap(testFiles).sort();
const LISTED = [...STORE_TESTS, ...SQLITE_ONLY_TESTS, ...OWN_BACKEND_TESTS];
const source = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('the backend matrix (vitest.config.ts)', () => {
  it('lists every test file that touches the store exactly once, and only files that exist', () => {
    // This file names the imports it looks for, and touches no store.
    const touching = ALL_TESTS.filter((path) => path !== 'test/backend-matrix.test.ts' && TOUCHES_STORE.test(source(path)));
    expect(touching.length).toBeGreaterThan(40);
    expect(touching.filter((path) => !LISTED.includes(path))).toEqual([]);
    expect(LISTED.filter((path) => !ALL_TESTS.includes(path))).toEqual([]);
    expect(LISTED.filter((path, i) => LISTED.indexOf(path) !== i)).toEqual([]);
  });

  it('a file that runs on both stores opens none of its own on SQLite', () => {
    expect(STORE_TESTS.filter((path) => OPENS_SQLITE.test(source(path)))).toEqual([]);
  });

  it('recognises a file that touches the store, and one that opens SQLite itself', () => {
    expect(TOUCHES_STORE.test("import { startCoreHarness } from './support/core-harness.ts';")).toBe(true);
    expect(TOUCHES_STORE.test("import { openTestDb } from '../../test/support/test-database.ts';")).toBe(true);
    expect(TOUCHES_STORE.test("import { openSqliteDatabase } from '../store/database.ts';")).toBe(true);
    expect(TOUCHES_STORE.test("import { findModel } from '../src/models.ts';")).toBe(false);
    expect(OPENS_SQLITE.test("const db = openSqliteDatabase(':memory:');")).toBe(true);
    expect(OPENS_SQLITE.test('DATABASE_PATH: join(dir, "bot.db"),')).toBe(true);
    expect(OPENS_SQLITE.test('const db = await openTestDb();')).toBe(false);
  });
});
