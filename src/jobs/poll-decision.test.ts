import { describe, expect, it } from 'vitest';
import { decideAfterPoll, MAX_MALFORMED_POLLS } from './poll-decision.ts';

describe('after a poll', () => {
  it('backs off on transient trouble, honouring Retry-After', () => {
    expect(decideAfterPoll({ kind: 'retry_later', retryAfterMs: 7_000, message: '429' }, 0)).toMatchObject({ kind: 'back_off', retryAfterMs: 7_000 });
  });

  it('gives up on answers it cannot read after a few in a row, so credits are not held forever', () => {
    expect(decideAfterPoll({ kind: 'malformed', message: 'x' }, 0)).toMatchObject({ kind: 'back_off', malformed: true });
    expect(decideAfterPoll({ kind: 'malformed', message: 'x' }, MAX_MALFORMED_POLLS - 1)).toMatchObject({
      kind: 'failed',
      failure: { code: 'runway.bad_response' },
    });
  });

  it("hands over a FAILED task's code, whether moderation declined it, and Runway's cost", () => {
    expect(decideAfterPoll({ kind: 'task', task: { id: 't', status: 'FAILED', failureCode: 'SAFETY.INPUT.TEXT', cost: { credits: 8 } } }, 0)).toEqual({
      kind: 'task_failed', failureCode: 'SAFETY.INPUT.TEXT', moderated: true, costCredits: 8,
    });
    expect(decideAfterPoll({ kind: 'task', task: { id: 't', status: 'FAILED', failureCode: 'INPUT_PREPROCESSING.SAFETY.TEXT' } }, 0)).toEqual({
      kind: 'task_failed', failureCode: 'INPUT_PREPROCESSING.SAFETY.TEXT', moderated: true, costCredits: null,
    });
    expect(decideAfterPoll({ kind: 'task', task: { id: 't', status: 'FAILED', failureCode: 'INTERNAL.BAD_OUTPUT.CODE01', cost: { credits: 0 } } }, 0)).toEqual({
      kind: 'task_failed', failureCode: 'INTERNAL.BAD_OUTPUT.CODE01', moderated: false, costCredits: 0,
    });
    expect(decideAfterPoll({ kind: 'task', task: { id: 't', status: 'CANCELLED' } }, 0)).toEqual({ kind: 'cancelled', costCredits: null });
  });

  it('hands over the outputs and the final cost of a success', () => {
    const decision = decideAfterPoll(
      { kind: 'task', task: { id: 't', status: 'SUCCEEDED', output: ['https://cdn.example/o.png'], cost: { credits: 6 } } },
      0,
    );
    expect(decision).toEqual({ kind: 'succeeded', costCredits: 6, outputUrls: ['https://cdn.example/o.png'] });
  });

  it('treats a task Runway no longer knows as failed (refunded)', () => {
    expect(decideAfterPoll({ kind: 'not_found' }, 0)).toMatchObject({ kind: 'failed', failure: { code: 'runway.task_missing' } });
  });
});
