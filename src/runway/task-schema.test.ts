import { describe, expect, it } from 'vitest';
import { createResponseSchema, runwayTaskSchema } from './task-schema.ts';

describe("Runway's credits, where they enter", () => {
  it.each([
    [5.5, 6],
    [5.01, 6],
    [5, 5],
    [0, 0],
  ])('a cost of %d becomes %d whole credits, rounded up', (credits, whole) => {
    const task = runwayTaskSchema.parse({ id: 't', status: 'SUCCEEDED', output: ['https://x.example/o.png'], cost: { credits } });
    expect(task.status === 'SUCCEEDED' && task.cost?.credits).toBe(whole);
    expect(createResponseSchema.parse({ id: 't', estimatedCost: { credits } }).estimatedCost?.credits).toBe(whole);
  });

  it.each([-1, Number.MAX_SAFE_INTEGER + 2, Number.POSITIVE_INFINITY])('a cost of %d is not a cost: the answer is refused as malformed', (credits) => {
    expect(runwayTaskSchema.safeParse({ id: 't', status: 'SUCCEEDED', output: ['https://x.example/o.png'], cost: { credits } }).success).toBe(false);
  });
});
