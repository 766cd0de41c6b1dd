import { afterEach, describe, expect, it } from 'vitest';
import { noisePng } from './support/images.ts';
import { memoryReference, startCoreHarness, type CoreHarness } from './support/core-harness.ts';

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const NOT_SERVED =
  "Sorry, this bot isn't available here: its operator runs it for a list of communities that doesn't include this one. Nothing was charged. If you'd like it here, ask whoever runs the bot.";
const BLOCKED =
  "Sorry, this bot's operator has turned it off for this community. Nothing was charged. If you think that's a mistake, ask whoever runs the bot.";

describe('which communities the operator serves', () => {
  it('a community missing from the list is refused at no cost: no download, no hold, no Runway call', async () => {
    const h = (harness = await startCoreHarness({ servedCommunities: new Map([['test', new Set(['guild-1'])]]) }));
    const reference = memoryReference('cat.png', noisePng(1, 64));
    const stranger = h.requester('ana', { communityId: 'guild-elsewhere', isModerator: true });
    const requestsBefore = h.sim.requests.length;

    expect(await h.app.core.checkImagine(stranger, { prompt: 'a cat', references: [reference] })).toEqual({
      ok: false, code: 'community.not_served', reply: { visibility: 'private', text: NOT_SERVED },
    });
    expect(await h.app.core.imagine(stranger, { prompt: 'a cat', references: [reference] }, 'p1')).toEqual({
      ok: false, code: 'community.not_served', reply: { visibility: 'private', text: NOT_SERVED },
    });
    expect(await h.app.core.credits(stranger)).toEqual({ visibility: 'private', text: NOT_SERVED });
    expect(await h.app.core.quota(stranger, { action: 'grant', userId: 'ana', amount: '1000000' })).toEqual({ visibility: 'private', text: NOT_SERVED });
    expect(await h.app.core.mayDeleteResult(stranger, 'any-job')).toBe(false);

    expect(reference.downloads).toBe(0);
    expect(h.sim.requests.length).toBe(requestsBefore);
    expect(await h.app.db.value('select count(*) from ledger')).toBe(0);
    expect(await h.app.db.value('select count(*) from jobs')).toBe(0);

    // The listed community is served as usual.
    const outcome = await h.app.core.imagine(h.requester('bo'), { prompt: 'a cat', references: [] }, 'p2');
    expect(outcome).toMatchObject({ ok: true, reservedCredits: 8 });
  });

  it('with no list, every community is served; a community the operator blocks is refused until unblocked', async () => {
    const h = (harness = await startCoreHarness());
    const member = h.requester('ana', { communityId: 'guild-7' });
    expect(await h.app.core.admission('test', 'guild-7')).toEqual({ ok: true });
    await h.app.db.run("insert into community_settings (community_id, blocked_at, blocked_note) values ('guild-7', 1, 'abuse')");
    expect(await h.app.core.admission('test', 'guild-7')).toEqual({ ok: false, failure: { code: 'community.blocked', userMessage: BLOCKED } });
    expect(await h.app.core.imagine(member, { prompt: 'a cat', references: [] }, 'p1')).toEqual({
      ok: false, code: 'community.blocked', reply: { visibility: 'private', text: BLOCKED },
    });
    expect(await h.app.db.value('select count(*) from ledger')).toBe(0);
    await h.app.db.run("update community_settings set blocked_at = null where community_id = 'guild-7'");
    expect(await h.app.core.imagine(member, { prompt: 'a cat', references: [] }, 'p2')).toMatchObject({ ok: true });
  });
});
