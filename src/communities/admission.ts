/**
 * Which communities the bot serves. The operator pays for every image, so a community is served
 * only when the operator's list for its platform names it (or no list is set) and the operator
 * has not blocked it. Checked before anything is downloaded, held or sent to Runway.
 */
import type { CommunitySettings } from '../credits/types.ts';
import type { Failure } from '../errors.ts';

/** Per platform, the communities the operator lists; a platform with no list serves every community. */
export type ServedCommunities = ReadonlyMap<string, ReadonlySet<string>>;

export type Admission = { readonly ok: true } | { readonly ok: false; readonly failure: Failure };

export const COMMUNITY_NOT_SERVED: Failure = {
  code: 'community.not_served',
  userMessage:
    "Sorry, this bot isn't available here: its operator runs it for a list of communities that doesn't include this one. Nothing was charged. If you'd like it here, ask whoever runs the bot.",
};

export const COMMUNITY_BLOCKED: Failure = {
  code: 'community.blocked',
  userMessage: "Sorry, this bot's operator has turned it off for this community. Nothing was charged. If you think that's a mistake, ask whoever runs the bot.",
};

/** Whether a request from `communityId` on `platform` may go on; a refusal says so plainly. */
export async function admitCommunity(
  served: ServedCommunities,
  settingsOf: (communityId: string) => Promise<Pick<CommunitySettings, 'blocked'>>,
  platform: string,
  communityId: string,
): Promise<Admission> {
  const listed = served.get(platform);
  if (listed && listed.size > 0 && !listed.has(communityId)) return { ok: false, failure: COMMUNITY_NOT_SERVED };
  if ((await settingsOf(communityId)).blocked) return { ok: false, failure: COMMUNITY_BLOCKED };
  return { ok: true };
}
