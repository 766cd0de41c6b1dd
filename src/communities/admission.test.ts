import { describe, expect, it } from 'vitest';
import { admitCommunity, COMMUNITY_BLOCKED, COMMUNITY_NOT_SERVED } from './admission.ts';

const open = () => ({ blocked: null });
const blocked = () => ({ blocked: { atMs: 1, note: 'raid' } });

describe('which communities are served', () => {
  it("a platform's list limits that platform only; an empty list or none serves everyone", () => {
    const served = new Map([
      ['discord', new Set(['g1'])],
      ['slack', new Set<string>()],
    ]);
    expect(admitCommunity(served, open, 'discord', 'g1')).toEqual({ ok: true });
    expect(admitCommunity(served, open, 'discord', 'g2')).toEqual({ ok: false, failure: COMMUNITY_NOT_SERVED });
    expect(admitCommunity(served, open, 'slack', 'T9')).toEqual({ ok: true });
    expect(admitCommunity(served, open, 'sandbox', 'sandbox')).toEqual({ ok: true });
  });

  it('a blocked community is refused even when listed; an unlisted one is told it is not served, whatever its block', () => {
    const served = new Map([['discord', new Set(['g1'])]]);
    expect(admitCommunity(served, blocked, 'discord', 'g1')).toEqual({ ok: false, failure: COMMUNITY_BLOCKED });
    expect(admitCommunity(served, blocked, 'discord', 'g2')).toEqual({ ok: false, failure: COMMUNITY_NOT_SERVED });
    expect(admitCommunity(new Map(), blocked, 'slack', 'T1')).toEqual({ ok: false, failure: COMMUNITY_BLOCKED });
  });
});
