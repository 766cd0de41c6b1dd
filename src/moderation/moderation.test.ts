import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { MAX_BLOCKED_ENTRIES, MAX_ENTRY_LENGTH, Moderation, type StrikeRule } from './moderation.ts';

const dbs: Db[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
});

function setup(rule: StrikeRule | null = { count: 2, period: 'day' }) {
  const db = openDatabase(':memory:');
  dbs.push(db);
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 12));
  let next = 0;
  /** A job of `userId` that Runway's moderation declined, finished now. */
  const decline = (userId = 'ana') => {
    const at = clock.now();
    db.prepare(
      `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, moderated, created_at, finished_at, updated_at)
       values (?, 'test', 'g1', ?, ?, '{}', '{}', 'gen4_image', 'failed', 1, ?, ?, ?)`,
    ).run(`j${++next}`, userId, userId, at, at, at);
    return `j${next}`;
  };
  return { db, clock, decline, moderation: new Moderation(db, clock, rule) };
}

describe('strikes and pauses', () => {
  it('count only the current window: a pause ends at midnight UTC without a pardon', () => {
    const { clock, decline, moderation } = setup();
    decline();
    clock.advance(24 * 3_600_000);
    expect(moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
    decline();
    decline();
    expect(moderation.standing('g1', 'ana')).toEqual({ paused: true, strikes: 2, untilMs: Date.UTC(2026, 0, 7) });
    clock.set(Date.UTC(2026, 0, 7));
    expect(moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
  });

  it('a pardon forgives the strikes before it, not the ones after', () => {
    const { clock, decline, moderation } = setup();
    decline();
    decline();
    expect(moderation.pardon('g1', 'ana', 'Ana')).toBe(2);
    expect(moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
    clock.advance(1);
    decline();
    expect(moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 1 });
    decline();
    expect(moderation.standing('g1', 'ana').paused).toBe(true);
  });

  it('with MODERATION_STRIKES=off nobody is paused and the moderators are never told', () => {
    const { decline, moderation } = setup(null);
    const job = decline();
    decline();
    decline();
    expect(moderation.standing('g1', 'ana')).toEqual({ paused: false, strikes: 0 });
    expect(moderation.pauseNotice('g1', 'ana', 'Ana', job)).toBeNull();
  });
});

describe('blocked words', () => {
  it(`keep at most ${MAX_BLOCKED_ENTRIES} entries of at most ${MAX_ENTRY_LENGTH} characters`, () => {
    const { moderation } = setup();
    const longest = 'a'.repeat(MAX_ENTRY_LENGTH);
    expect(moderation.addBlockedWords('g1', [longest, `${longest}b`], 'mod')).toEqual({ added: [longest], known: [], unusable: [`${longest}b`], full: [] });
    const many = Array.from({ length: MAX_BLOCKED_ENTRIES }, (_, i) => `word${i}`);
    const result = moderation.addBlockedWords('g1', many, 'mod');
    expect(result.added).toHaveLength(MAX_BLOCKED_ENTRIES - 1);
    expect(result.full).toEqual([`word${MAX_BLOCKED_ENTRIES - 1}`]);
    expect(moderation.blockedWords('g1')).toHaveLength(MAX_BLOCKED_ENTRIES);
    expect(moderation.addBlockedWords('g1', [longest], 'mod')).toEqual({ added: [], known: [longest], unusable: [], full: [] });
  });
});
