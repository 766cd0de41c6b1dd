import { describe, expect, it } from 'vitest';
import { decideAfterCreate, MAX_DEFERRED_CREATES } from './create-decision.ts';

describe('after a create', () => {
  it('retries only what proves no task was made, after Retry-After', () => {
    expect(decideAfterCreate({ kind: 'rate_limited', retryAfterMs: 3_000 }, 0)).toEqual({ kind: 'retry', afterMs: 3_000, reason: 'rate_limited' });
    expect(decideAfterCreate({ kind: 'unreachable', retryAfterMs: 5_000 }, 2)).toMatchObject({ kind: 'retry' });
  });

  it('gives up (refunding) after repeated 429s', () => {
    expect(decideAfterCreate({ kind: 'rate_limited', retryAfterMs: 1 }, MAX_DEFERRED_CREATES - 1)).toMatchObject({
      kind: 'fail',
      failure: { code: 'runway.rate_limited' },
    });
  });

  it('never retries an answer that may have made a task', () => {
    expect(decideAfterCreate({ kind: 'ambiguous', message: '502' }, 0)).toMatchObject({ kind: 'fail', failure: { code: 'runway.create_uncertain' } });
    expect(decideAfterCreate({ kind: 'rejected', status: 400, message: 'bad ratio' }, 0)).toMatchObject({
      kind: 'fail',
      failure: { code: 'runway.rejected_request' },
    });
  });
});
