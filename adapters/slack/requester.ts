/**
 * Who is asking: the Slack user's display name and whether they moderate, decided on the server
 * side from `users.info` (workspace admins and owners) or the operator's `SLACK_MODERATORS` list,
 * never from anything the request itself claims. Budgets live per workspace (`team_id`).
 */
import type { Clock } from '../../src/clock.ts';
import type { Logger } from '../../src/log.ts';
import type { Requester } from '../../src/ports.ts';
import type { SlackApi, SlackUser } from './slack-api.ts';

/** Roles change rarely; five minutes keeps users.info (Tier 4) calls low without trusting stale admin rights for long. */
const USER_CACHE_MS = 5 * 60_000;
const MAX_CACHED_USERS = 5_000;

export type ResolveRequester = (teamId: string, userId: string, fallbackName?: string) => Promise<Requester>;

export function createRequesterResolver(deps: { api: SlackApi; moderators: readonly string[]; clock: Clock; log: Logger }): ResolveRequester {
  const cache = new Map<string, { user: SlackUser; fetchedAtMs: number }>();
  // Lookups under way: two commands of one user at once (Slack acknowledges each before it runs) share one call.
  const pending = new Map<string, Promise<SlackUser | null>>();
  const moderators = new Set(deps.moderators);

  function lookUp(teamId: string, userId: string): Promise<SlackUser | null> {
    const key = `${teamId}:${userId}`;
    const cached = cache.get(key);
    if (cached !== undefined && deps.clock.now() - cached.fetchedAtMs < USER_CACHE_MS) return Promise.resolve(cached.user);
    let lookup = pending.get(key);
    if (lookup === undefined) {
      lookup = fetchUser(key, userId).finally(() => pending.delete(key));
      pending.set(key, lookup);
    }
    return lookup;
  }

  async function fetchUser(key: string, userId: string): Promise<SlackUser | null> {
    try {
      const user = await deps.api.userInfo(userId);
      if (cache.size >= MAX_CACHED_USERS) cache.clear();
      cache.set(key, { user, fetchedAtMs: deps.clock.now() });
      return user;
    } catch (error) {
      // Without users.info we cannot prove admin rights: fall back to the configured list only.
      deps.log.warn('slack users.info failed', { userId, error });
      return null;
    }
  }

  return async (teamId, userId, fallbackName) => {
    const user = await lookUp(teamId, userId);
    return {
      platform: 'slack',
      communityId: teamId,
      userId,
      displayName: user?.displayName ?? fallbackName ?? userId,
      isModerator: moderators.has(userId) || user?.isAdminOrOwner === true,
    };
  };
}

/**
 * A user token as Slack escapes it in slash-command text (`<@U123|ana>` or `<@U123>`), or null.
 * https://docs.slack.dev/interactivity/implementing-slash-commands#escaping
 */
export function parseUserToken(token: string): { userId: string; userName: string } | null {
  const match = /^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$/.exec(token.trim());
  if (match === null || match[1] === undefined) return null;
  return { userId: match[1], userName: match[2] || match[1] };
}
