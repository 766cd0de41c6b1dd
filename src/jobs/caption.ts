import type { StoredRequest } from './job.ts';

/** The line under a delivered image: what was asked, with which settings, for whom, at what cost. */
export function deliveryCaption(request: StoredRequest, modelLabel: string, costCredits: number, userName: string): string {
  const settings = [modelLabel, request.ratio, request.seed === null ? null : `seed ${request.seed}`, request.count === undefined ? null : `${request.count} images`, `${costCredits} credit${costCredits === 1 ? '' : 's'}`]
    .filter((part): part is string => part !== null)
    .join(' · ');
  const prompt = request.prompt.length > 300 ? `${request.prompt.slice(0, 297)}…` : request.prompt;
  return `"${prompt}" for ${userName}\n${settings}`;
}
