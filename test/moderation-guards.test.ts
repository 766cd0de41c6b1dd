import { afterEach, describe, expect, it } from 'vitest';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';
import { noisePng } from './support/images.ts';

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Mark the member's finished jobs as declined by Runway's moderation, as the runner does. */
let declined = 0;
async function declineEarlierJobs(h: CoreHarness, userId: string, count: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    const i = ++declined;
    await h.app.db.run(
      `insert into jobs (id, platform, community_id, user_id, user_name, placeholder, request, model, state, moderated, failure_code, created_at, finished_at, updated_at)
       values (?, 'test', 'guild-1', ?, ?, 'p', '{}', 'gen4_image', 'failed', 1, 'runway.safety_input', ?, ?, ?)`,
      [`declined-${userId}-${i}`, userId, userId, h.clock.now(), h.clock.now(), h.clock.now()],
    );
  }
}

describe('moderation guards, checked before anything is held or sent', () => {
  it('a blocked word (any case, fullwidth, zero-width) is refused with its own code at no cost', async () => {
    const h = (harness = await startCoreHarness());
    const mod = h.requester('mod', { isModerator: true });
    const ana = h.requester('ana');
    expect(await h.app.core.quota(mod, { action: 'block-words', operation: 'add', entries: ['Gore', 'big cat', '!!'] })).toEqual({
      visibility: 'private',
      text: 'Blocked: "gore", "big cat". Prompts containing them are refused at no cost.\nNot usable (no letters or digits, or longer than 60 characters): "!!".',
    });
    const reference = memoryReference('cat.png', noisePng(1, 64));
    for (const prompt of ['lots of GORE', 'ｇｏｒｅ everywhere', 'a g\u200Bore scene', 'a BIG  cat']) {
      const outcome = await h.app.core.imagine(ana, { prompt, references: [reference] }, 'p');
      expect(outcome).toMatchObject({ ok: false, code: 'moderation.blocked_word' });
    }
    expect(reference.downloads).toBe(0);
    expect(await h.app.db.value('select count(*) from jobs')).toBe(0);
    expect(h.sim.requests.filter((r) => r.path.startsWith('/v1/'))).toHaveLength(1); // the organisation read at start
    expect(await h.app.core.imagine(ana, { prompt: 'gorgeous big cats', references: [] }, 'p')).toMatchObject({ ok: true });
    expect((await h.app.core.quota(mod, { action: 'block-words', operation: 'list', entries: [] })).text).toBe('Blocked words (2): "gore", "big cat".');
    expect((await h.app.core.quota(mod, { action: 'block-words', operation: 'remove', entries: ['GORE', 'unicorn'] })).text).toBe(
      'No longer blocked: "gore".\nNot on the list: "unicorn". `/quota block-words list` shows it.',
    );
    expect((await h.app.core.quota(ana, { action: 'block-words', operation: 'add', entries: ['x'] })).text).toMatch(/^Only moderators/);
  });

  it('three declined generations today pause the member until midnight UTC; a pardon lifts it; the report counts them', async () => {
    const h = (harness = await startCoreHarness());
    const ana = h.requester('ana');
    const mod = h.requester('mod', { isModerator: true });
    await declineEarlierJobs(h, 'ana', 2);
    expect(await h.app.core.imagine(ana, { prompt: 'a cat', references: [] }, 'p1')).toMatchObject({ ok: true });
    await declineEarlierJobs(h, 'ana', 1);
    const paused = await h.app.core.imagine(ana, { prompt: 'a cat', references: [] }, 'p2');
    expect(paused).toEqual({
      ok: false,
      code: 'moderation.paused',
      reply: {
        visibility: 'private',
        text: "Runway's content moderation declined 3 of your requests recently, so /imagine is paused for you; it resumes in 12 h (2026-11-26 00:00 UTC). Nothing was charged. Please keep prompts within the rules; a moderator can lift the pause with `/quota pardon`.",
      },
    });
    expect((await h.app.core.quota(mod, { action: 'report' })).text.split('\n').at(-1)).toBe(
      "Declined by Runway's moderation today: 3 (ana 3); a member is paused after 3 in a day; `/quota pardon` lifts it.",
    );
    expect(await h.app.core.quota(mod, { action: 'pardon', userId: 'ana', userName: 'Ana' })).toEqual({
      visibility: 'public',
      text: "mod lifted Ana's pause: they had 3 strikes forgiven and can use /imagine again.",
    });
    h.clock.advance(1);
    expect(await h.app.core.imagine(ana, { prompt: 'a cat', references: [] }, 'p3')).toMatchObject({ ok: true });
  });
});
