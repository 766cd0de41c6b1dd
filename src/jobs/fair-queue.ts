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
  // A member's jobs share their community and member, so the member's oldest job always beats the
  // others: only each member's next job competes. O(jobs x members) rather than O(jobs^2), and each
  // comparison reads fields, not maps: it runs for every accepted job, over the whole queue.
  const communities = new Map<string, { time: number }>();
  const queues = new Map<string, MemberQueue>();
  [...waiting]
    .sort((a, b) => a.createdAt - b.createdAt)
    .forEach((job, index) => {
      const key = userKey(job.communityId, job.userId);
      const queue = queues.get(key);
      if (queue) {
        queue.jobs.push({ job, index });
        return;
      }
      let community = communities.get(job.communityId);
      if (!community) {
        community = { time: history.communities.get(job.communityId) ?? Number.NEGATIVE_INFINITY };
        communities.set(job.communityId, community);
      }
      queues.set(key, { community, userTime: history.users.get(key) ?? Number.NEGATIVE_INFINITY, jobs: [{ job, index }], next: 0 });
    });
  const heads = [...queues.values()];
  const order: WaitingJob[] = [];
  // Serving a job makes its community and member the most recently served: the next pick rotates.
  let virtualNow = Math.max(0, ...history.communities.values(), ...history.users.values());
  while (heads.length > 0) {
    let best = 0;
    for (let i = 1; i < heads.length; i++) {
      if (compare(heads[i]!, heads[best]!) < 0) best = i;
    }
    const queue = heads[best]!;
    const { job } = queue.jobs[queue.next]!;
    queue.next += 1;
    if (queue.next === queue.jobs.length) heads.splice(best, 1);
    order.push(job);
    virtualNow += 1;
    queue.community.time = virtualNow;
    queue.userTime = virtualNow;
  }
  return order;
}

/** One member's waiting jobs, oldest first, with their place in the overall age order (ties), and when they and their community were last served. */
interface MemberQueue {
  /** Shared by the queues of one community: serving one member moves them all back. */
  readonly community: { time: number };
  userTime: number;
  readonly jobs: { readonly job: WaitingJob; readonly index: number }[];
  next: number;
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

/** Least recently served community, then member, then oldest request; equal ones keep their age order. */
function compare(a: MemberQueue, b: MemberQueue): number {
  const jobA = a.jobs[a.next]!;
  const jobB = b.jobs[b.next]!;
  return (
    // Never served is -Infinity on both sides: the difference is NaN, which counts as a tie.
    Math.sign(a.community.time - b.community.time || 0) ||
    Math.sign(a.userTime - b.userTime || 0) ||
    jobA.job.createdAt - jobB.job.createdAt ||
    jobA.index - jobB.index
  );
}
