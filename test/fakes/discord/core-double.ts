import type { Failure } from '../../../src/errors.ts';
import type { VaryDraft } from '../../../src/actions/ports.ts';
import type { Admission } from '../../../src/communities/admission.ts';
import type { BotCore, HistoryEntry, HistoryOutcome, ImagineCheck, ImagineOptionsInput, ImagineOutcome, QuotaCommand, Reply, Requester } from '../../../src/ports.ts';

/**
 * A stand-in for our own BotCore port (not a mock of discord.js): records what the adapter asked
 * and answers as a test arranges. Accepted /imagine calls download their references at once, as
 * the real core does, so the test sees what came from the CDN.
 */
export class CoreDouble implements BotCore {
  readonly checks: { requester: Requester; options: ImagineOptionsInput }[] = [];
  readonly accepted: { requester: Requester; options: ImagineOptionsInput; placeholder: string; references: Uint8Array[] }[] = [];
  readonly rerolls: { requester: Requester; jobId: string; placeholder: string }[] = [];
  readonly creditsCalls: { requester: Requester; subject?: { userId: string; displayName: string } | undefined }[] = [];
  readonly quotaCalls: { requester: Requester; command: QuotaCommand }[] = [];
  checkResult: ImagineCheck = { ok: true };
  imagineOutcome: ImagineOutcome = { ok: true, jobId: 'job-1', position: 2, reservedCredits: 8 };
  /** Job id → the requester's user id, for mayDeleteResult. */
  readonly owners = new Map<string, string>();

  /** Communities the test says the operator does not serve, with the refusal the core would give. */
  readonly refusedCommunities = new Map<string, Failure>();
  readonly admissionCalls: { platform: string; communityId: string }[] = [];

  async admission(platform: string, communityId: string): Promise<Admission> {
    this.admissionCalls.push({ platform, communityId });
    const refusal = this.refusedCommunities.get(communityId);
    return refusal ? { ok: false, failure: refusal } : { ok: true };
  }

  async checkImagine(requester: Requester, options: ImagineOptionsInput): Promise<ImagineCheck> {
    this.checks.push({ requester, options });
    return this.checkResult;
  }

  async imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome> {
    const signal = new AbortController().signal;
    const references = await Promise.all(options.references.map((reference) => reference.download({ maxBytes: 20 * 1024 * 1024, signal })));
    this.accepted.push({ requester, options, placeholder, references });
    if (this.imagineOutcome.ok) this.owners.set(this.imagineOutcome.jobId, requester.userId);
    return this.imagineOutcome;
  }

  async reroll(requester: Requester, jobId: string, placeholder: string): Promise<ImagineOutcome> {
    this.rerolls.push({ requester, jobId, placeholder });
    return { ok: true, jobId: `${jobId}-reroll`, position: 1, reservedCredits: 8 };
  }

  readonly actionCalls: { action: 'upscale' | 'vary' | 'cancel'; jobId: string; detail: string | number | null }[] = [];

  async upscale(_requester: Requester, jobId: string, factor: number): Promise<ImagineOutcome> {
    this.actionCalls.push({ action: 'upscale', jobId, detail: factor });
    return { ok: true, jobId: `${jobId}-upscale`, position: 1, reservedCredits: 5 };
  }

  async varyDraft(): Promise<VaryDraft> {
    return { ok: true, prompt: 'the original prompt', priceCredits: 8 };
  }

  async vary(_requester: Requester, jobId: string, prompt: string): Promise<ImagineOutcome> {
    this.actionCalls.push({ action: 'vary', jobId, detail: prompt });
    return { ok: true, jobId: `${jobId}-vary`, position: 1, reservedCredits: 8 };
  }

  async cancel(_requester: Requester, jobId: string): ReturnType<BotCore['cancel']> {
    this.actionCalls.push({ action: 'cancel', jobId, detail: null });
    return { ok: true, reply: { visibility: 'private', text: 'Cancelled.' } };
  }

  async mayDeleteResult(requester: Requester, jobId: string): Promise<boolean> {
    return requester.isModerator || this.owners.get(jobId) === requester.userId;
  }

  async credits(requester: Requester, subject?: { userId: string; displayName: string }): Promise<Reply> {
    this.creditsCalls.push({ requester, subject });
    return { visibility: 'private', text: `balance of ${subject?.displayName ?? requester.displayName}: 42 credits` };
  }

  /** What history() answers, and who asked. */
  historyEntries: HistoryEntry[] = [];
  readonly historyAsked: Requester[] = [];
  async history(requester: Requester): Promise<HistoryOutcome> {
    this.historyAsked.push(requester);
    return { ok: true, entries: this.historyEntries };
  }

  async quota(requester: Requester, command: QuotaCommand): Promise<Reply> {
    this.quotaCalls.push({ requester, command });
    return requester.isModerator ? { visibility: 'private', text: `done: ${command.action}` } : { visibility: 'private', text: 'Only moderators can change quotas.' };
  }
}
