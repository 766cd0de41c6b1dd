import { describe, expect, it } from 'vitest';
import { admitCommunity, COMMUNITY_BLOCKED, COMMUNITY_NOT_SERVED } from './admission.ts';

const open = () => Promise.resolve({ blocked: null });
const blocked = () => Promise.resolve({ blocked: { atMs: 1, note: 'raid' } });

describe('which communities are served', () => {
  it("a platform's list limits that platform only; an empty list or none serves everyone", async () => {
    const served = new Map([
      ['discord', new Set(['g1'])],
      ['slack', new Set<string>()],
    ]);
    expect(await admitCommunity(served, open, 'discord', 'g1')).toEqual({ ok: true });
    expect(await admitCommunity(served, open, 'discord', 'g2')).toEqual({ ok: false, failure: COMMUNITY_NOT_SERVED });
    expect(await admitCommunity(served, open, 'slack', 'T9')).toEqual({ ok: true });
    expect(await admitCommunity(served, open, 'sandbox', 'sandbox')).toEqual({ ok: true });
  });

  it('a blocked community is refused even when listed; an unlisted one is told it is not served, whatever its block', async () => {
    const served = new Map([['discord', new Set(['g1'])]]);
    expect(await admitCommunity(served, blocked, 'discord', 'g1')).toEqual({ ok: false, failure: COMMUNITY_BLOCKED });
    expect(await admitCommunity(served, blocked, 'discord', 'g2')).toEqual({ ok: false, failure: COMMUNITY_NOT_SERVED });
    expect(await admitCommunity(new Map(), blocked, 'slack', 'T1')).toEqual({ ok: false, failure: COMMUNITY_BLOCKED });
  });
});
