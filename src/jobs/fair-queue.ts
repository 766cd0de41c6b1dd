/**
 * The local queue in front of Runway. Runway runs a limited number of generations per model at
 * once for the organisation (more wait as THROTTLED, and past the daily limit creates fail), so
 * the bot holds the rest here and hands out free slots fairly: the community with the fewest
 * generations in flight goes first, then the user with the fewest, then the oldest request.
 * One user cannot starve a server, and one server cannot starve the others.
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

export interface InFlightJob {
  readonly communityId: string;
  readonly userId: string;
  readonly model: string;
}

/** The waiting jobs in the order they would be served right now. */
export function fairOrder(waiting: readonly WaitingJob[], inFlight: readonly InFlightJob[]): WaitingJob[] {
  const perCommunity = countBy(inFlight, (j) => j.communityId);
  const perUser = countBy(inFlight, (j) => `${j.communityId}\u0000${j.userId}`);
  const order: WaitingJob[] = [];
  const remaining = [...waiting].sort((a, b) => a.createdAt - b.createdAt);
  // Serving a job counts it as in flight for the ones after it: a round-robin, not a sort by a static key.
  while (remaining.length > 0) {
    let bestIndex = 0;
    for (let i = 1; i < remaining.length; i++) {
      if (compare(remaining[i]!, remaining[bestIndex]!, perCommunity, perUser) < 0) bestIndex = i;
    }
    const [best] = remaining.splice(bestIndex, 1);
    order.push(best!);
    bump(perCommunity, best!.communityId);
    bump(perUser, `${best!.communityId}\u0000${best!.userId}`);
  }
  return order;
}

/**
 * Which waiting jobs to submit now: in fair order, as long as their model has a free slot and
 * they are not held back by a Retry-After.
 */
export function pickJobsToSubmit(
  waiting: readonly WaitingJob[],
  inFlight: readonly InFlightJob[],
  slotsPerModel: (model: string) => number,
  nowMs: number,
): WaitingJob[] {
  const used = countBy(inFlight, (j) => j.model);
  const picked: WaitingJob[] = [];
  for (const job of fairOrder(waiting, inFlight)) {
    if (job.notBefore !== null && job.notBefore > nowMs) continue;
    const inUse = used.get(job.model) ?? 0;
    if (inUse >= slotsPerModel(job.model)) continue;
    used.set(job.model, inUse + 1);
    picked.push(job);
  }
  return picked;
}

/** Each waiting job's 1-based place in line for its model, to show on its placeholder. */
export function queuePositions(waiting: readonly WaitingJob[], inFlight: readonly InFlightJob[]): Map<string, number> {
  const positions = new Map<string, number>();
  const perModel = new Map<string, number>();
  for (const job of fairOrder(waiting, inFlight)) {
    const place = (perModel.get(job.model) ?? 0) + 1;
    perModel.set(job.model, place);
    positions.set(job.id, place);
  }
  return positions;
}

function compare(a: WaitingJob, b: WaitingJob, perCommunity: Map<string, number>, perUser: Map<string, number>): number {
  return (
    (perCommunity.get(a.communityId) ?? 0) - (perCommunity.get(b.communityId) ?? 0) ||
    (perUser.get(`${a.communityId}\u0000${a.userId}`) ?? 0) - (perUser.get(`${b.communityId}\u0000${b.userId}`) ?? 0) ||
    a.createdAt - b.createdAt
  );
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) bump(counts, key(item));
  return counts;
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
