import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openTestDb } from '../../test/support/test-database.ts';
import type { Database } from '../store/sql.ts';
import { MAX_BLOCKED_ENTRIES, MAX_ENTRY_LENGTH, Moderation, type StrikeRule } from './moderation.ts';

/** The one place this file opens a database: a fresh, migrated one per test, on the project's backend. */
async function freshDb(): Promise<Database> {
  return openTestDb();
}

const dbs: Database[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close();
});

async function setup(rule: StrikeRule | null = { count: 2, period: 'day' }) {
  const db = await freshDb();
  dbs.push(db);
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 12));
  let next = 0;
  /** A job of `userId` that Runway's moderation declined, finished now. */
  const decline = async (userId = 'ana') => {
    const at = clock.now();
    await db.run(
      `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, moderated, created_at, finished_at, updated_at)
       values (?, 'test', 'g1', ?, ?, '{}', '{}', 'gen4_image', 'failed', 1, ?, ?, ?)`,
      [`j${++next}`, userId, userId, at, at, at],
    );
    return `j${next}`;
  };
  return { db, clock, decline, moderation: new Moderation(db, clock, rule) };
}

describe('strikes and pauses', () => {
  it('count only the current window: a pause ends at midnight UTC without a pardon', async () => {
    const { clock, decline, moderation } = await setup();
    await decline();
    clock.advance(24 * 3_600_000);
    expect(await moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
    await decline();
    await decline();
    expect(await moderation.standing('g1', 'ana')).toEqual({ paused: true, strikes: 2, untilMs: Date.UTC(2026, 0, 7) });
    clock.set(Date.UTC(2026, 0, 7));
    expect(await moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
  });

  it('a pardon forgives the strikes before it, not the ones after', async () => {
    const { clock, decline, moderation } = await setup();
    await decline();
    await decline();
    expect(await moderation.pardon('g1', 'ana', 'Ana')).toBe(2);
    expect(await moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
    clock.advance(1);
    await decline();
    expect(await moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 1 });
    await decline();
    expect((await moderation.standing('g1', 'ana')).paused).toBe(true);
  });

  it('with MODERATION_STRIKES=off nobody is paused and the moderators are never told', async () => {
    const { decline, moderation } = await setup(null);
    const job = await decline();
    await decline();
    await decline();
    expect(await moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
    expect(await moderation.pauseNotice('g1', 'ana', 'Ana', job)).toBeNull();
  });
});

describe('blocked words', () => {
  it(`keep at most ${MAX_BLOCKED_ENTRIES} entries of at most ${MAX_ENTRY_LENGTH} characters`, async () => {
    const { moderation } = await setup();
    const longest = 'a'.repeat(MAX_ENTRY_LENGTH);
    expect(await moderation.addBlockedWords('g1', [longest, `${longest}b`], 'mod')).toEqual({ added: [longest], known: [], unusable: [`${longest}b`], full: [] });
    const many = Array.from({ length: MAX_BLOCKED_ENTRIES }, (_, i) => `word${i}`);
    const result = await moderation.addBlockedWords('g1', many, 'mod');
    expect(result.added).toHaveLength(MAX_BLOCKED_ENTRIES - 1);
    expect(result.full).toEqual([`word${MAX_BLOCKED_ENTRIES - 1}`]);
    expect(await moderation.blockedWords('g1')).toHaveLength(MAX_BLOCKED_ENTRIES);
    expect(await moderation.addBlockedWords('g1', [longest], 'mod')).toEqual({ added: [], known: [longest], unusable: [], full: [] });
  });
});
