import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fairOrder, pickJobsToSubmit, queuePositions, userKey, type ServiceHistory, type WaitingJob } from './fair-queue.ts';

const job = (id: string, userId: string, createdAt: number, o: Partial<WaitingJob> = {}): WaitingJob => ({
  id,
  communityId: 'g1',
  userId,
  model: 'gen4_image',
  createdAt,
  notBefore: null,
  ...o,
});
const noHistory: ServiceHistory = { communities: new Map(), users: new Map() };

describe('fair queue', () => {
  it("alternates members, so one member's backlog cannot starve another", () => {
    const waiting = [job('a1', 'amy', 1), job('a2', 'amy', 2), job('a3', 'amy', 3), job('b1', 'ben', 4)];
    expect(fairOrder(waiting, noHistory).map((j) => j.id)).toEqual(['a1', 'b1', 'a2', 'a3']);
  });

  it('serves whoever was served least recently first, across ticks', () => {
    const history: ServiceHistory = { communities: new Map([['g1', 100]]), users: new Map([[userKey('g1', 'amy'), 100]]) };
    const waiting = [job('a2', 'amy', 2), job('b1', 'ben', 4)];
    expect(fairOrder(waiting, history).map((j) => j.id)).toEqual(['b1', 'a2']);
  });

  it('alternates communities before members', () => {
    const waiting = [job('x1', 'amy', 1), job('x2', 'ben', 2), job('y1', 'cat', 3, { communityId: 'g2' })];
    expect(fairOrder(waiting, noHistory).map((j) => j.id)).toEqual(['x1', 'y1', 'x2']);
  });

  it('submits only into free slots of the model, and respects Retry-After', () => {
    const waiting = [
      job('a', 'amy', 1),
      job('b', 'ben', 2, { notBefore: 5_000 }),
      job('c', 'cat', 3),
      job('t', 'tom', 4, { model: 'gen4_image_turbo' }),
    ];
    const picked = pickJobsToSubmit(waiting, noHistory, new Map([['gen4_image', 1]]), () => 2, 1_000);
    expect(picked.map((j) => j.id)).toEqual(['a', 't']);
  });

  it('numbers queue positions per model from 1', () => {
    const positions = queuePositions([job('a', 'amy', 1), job('b', 'ben', 2), job('t', 'tom', 3, { model: 'gemini_2.5_flash' })], noHistory);
    expect(Object.fromEntries(positions)).toEqual({ a: 1, b: 2, t: 1 });
  });

  it('never drops or duplicates a job, and keeps each member’s own jobs in order', () => {
    const arbJob = fc.record({ userId: fc.constantFrom('u1', 'u2', 'u3'), communityId: fc.constantFrom('g1', 'g2'), createdAt: fc.nat(1000) });
    fc.assert(
      fc.property(fc.array(arbJob, { maxLength: 30 }), (specs) => {
        const waiting = specs.map((s, i) => job(`j${i}`, s.userId, s.createdAt * 100 + i, { communityId: s.communityId }));
        const order = fairOrder(waiting, noHistory);
        expect(order.map((j) => j.id).sort()).toEqual(waiting.map((j) => j.id).sort());
        for (const member of new Set(waiting.map((j) => userKey(j.communityId, j.userId)))) {
          const mine = order.filter((j) => userKey(j.communityId, j.userId) === member).map((j) => j.createdAt);
          expect(mine).toEqual([...mine].sort((a, b) => a - b));
        }
      }),
    );
  });
});
