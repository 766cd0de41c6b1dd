/**
 * The local queue in front of Runway. Runway runs a limited number of generations per model at
 * once for the organisation (more wait as THROTTLED, and past the daily limit creates fail), so
 * the bot holds the rest here and hands out free slots in round-robin: the community served least
 * recently goes first, within it the member served least recently, then their oldest request.
 * One member cannot starve a server, and one server cannot starve the others.
 */

export interface WaitingJob {
  readonly id: string;
  readonly communityId: string;
  readonly userId: string;
  readonly model: string;
  readonly createdAt: number;
  /** Not before this time (after a 429), or null. */
  readonly notBefore: number | null;
}

/** When each community and member last had a job sent to Runway (absent: never, or long ago). */
export interface ServiceHistory {
  readonly communities: ReadonlyMap<string, number>;
  readonly users: ReadonlyMap<string, number>;
}

export const userKey = (communityId: string, userId: string): string => `${communityId}\u0000${userId}`;

/** The waiting jobs in the order they would be served from now on. */
export function fairOrder(waiting: readonly WaitingJob[], history: ServiceHistory): WaitingJob[] {
  const communities = new Map(history.communities);
  const users = new Map(history.users);
  const remaining = [...waiting].sort((a, b) => a.createdAt - b.createdAt);
  const order: WaitingJob[] = [];
  // Serving a job makes its community and member the most recently served: the next pick rotates.
  let virtualNow = Math.max(0, ...communities.values(), ...users.values());
  while (remaining.length > 0) {
    let best = 0;
    for (let i = 1; i < remaining.length; i++) {
      if (compare(remaining[i]!, remaining[best]!, communities, users) < 0) best = i;
    }
    const [job] = remaining.splice(best, 1);
    order.push(job!);
    virtualNow += 1;
    communities.set(job!.communityId, virtualNow);
    users.set(userKey(job!.communityId, job!.userId), virtualNow);
  }
  return order;
}

/**
 * Which waiting jobs to submit now: in fair order, as long as their model has a free slot and
 * they are not held back by a Retry-After.
 */
export function pickJobsToSubmit(
  waiting: readonly WaitingJob[],
  history: ServiceHistory,
  inFlightPerModel: ReadonlyMap<string, number>,
  slotsPerModel: (model: string) => number,
  nowMs: number,
): WaitingJob[] {
  const used = new Map(inFlightPerModel);
  const picked: WaitingJob[] = [];
  for (const job of fairOrder(waiting, history)) {
    if (job.notBefore !== null && job.notBefore > nowMs) continue;
    const inUse = used.get(job.model) ?? 0;
    if (inUse >= slotsPerModel(job.model)) continue;
    used.set(job.model, inUse + 1);
    picked.push(job);
  }
  return picked;
}

/** Each waiting job's 1-based place in line for its model, to show on its placeholder. */
export function queuePositions(waiting: readonly WaitingJob[], history: ServiceHistory): Map<string, number> {
  const positions = new Map<string, number>();
  const perModel = new Map<string, number>();
  for (const job of fairOrder(waiting, history)) {
    const place = (perModel.get(job.model) ?? 0) + 1;
    perModel.set(job.model, place);
    positions.set(job.id, place);
  }
  return positions;
}

function compare(a: WaitingJob, b: WaitingJob, communities: Map<string, number>, users: Map<string, number>): number {
  const never = Number.NEGATIVE_INFINITY;
  return (
    Math.sign((communities.get(a.communityId) ?? never) - (communities.get(b.communityId) ?? never) || 0) ||
    Math.sign((users.get(userKey(a.communityId, a.userId)) ?? never) - (users.get(userKey(b.communityId, b.userId)) ?? never) || 0) ||
    a.createdAt - b.createdAt
  );
}
