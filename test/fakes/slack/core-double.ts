import type { Failure } from '../../../src/errors.ts';
/**
 * A small BotCore of our own for adapter tests: it keeps the port's promises (downloads the
 * references, answers credits and quota by the requester's moderator flag) and records every call,
 * so a test can see what the adapter handed to the core. Not a mock of any library.
 */
import { BotError } from '../../../src/errors.ts';
import type { VaryDraft } from '../../../src/actions/ports.ts';
import type { Admission } from '../../../src/communities/admission.ts';
import type { BotCore, HistoryEntry, HistoryOutcome, ImagineCheck, ImagineOptionsInput, ImagineOutcome, QuotaCommand, Reply, Requester } from '../../../src/ports.ts';

export interface ImagineCall {
  requester: Requester;
  options: ImagineOptionsInput;
  placeholder: string;
  downloaded: Uint8Array[];
  downloadErrors: unknown[];
  /** Whether imagine() has returned its outcome for this call. */
  isAnswered: boolean;
}

export class CoreDouble implements BotCore {
  readonly imagineCalls: ImagineCall[] = [];
  readonly creditsCalls: { requester: Requester; subject?: { userId: string; displayName: string } }[] = [];
  readonly quotaCalls: { requester: Requester; command: QuotaCommand }[] = [];
  /** Balance per `${community}:${user}`; an /imagine costs 5. */
  readonly balances = new Map<string, number>();

  /** Communities the test says the operator does not serve, with the refusal the core would give. */
  readonly refusedCommunities = new Map<string, Failure>();
  readonly admissionCalls: { platform: string; communityId: string }[] = [];
  private held: Promise<void> | null = null;

  /**
   * Until the returned function is called, imagine() records its call and then waits before doing
   * anything: a core still busy with the request, for tests of what the adapter does meanwhile.
   */
  holdImagine(): () => void {
    let release = (): void => undefined;
    this.held = new Promise((resolve) => (release = resolve));
    return () => {
      this.held = null;
      release();
    };
  }

  async admission(platform: string, communityId: string): Promise<Admission> {
    this.admissionCalls.push({ platform, communityId });
    const refusal = this.refusedCommunities.get(communityId);
    return refusal ? { ok: false, failure: refusal } : { ok: true };
  }

  async checkImagine(_requester: Requester, options: ImagineOptionsInput): Promise<ImagineCheck> {
    if (options.references.length > 3) return { ok: false, code: 'request.too_many_references', reply: { visibility: 'private', text: 'At most 3 images.' } };
    return { ok: true };
  }

  async imagine(requester: Requester, options: ImagineOptionsInput, placeholder: string): Promise<ImagineOutcome> {
    const call: ImagineCall = { requester, options, placeholder, downloaded: [], downloadErrors: [], isAnswered: false };
    this.imagineCalls.push(call);
    if (this.held) await this.held;
    const outcome = await this.answer(call);
    call.isAnswered = true;
    return outcome;
  }

  private async answer(call: ImagineCall): Promise<ImagineOutcome> {
    const { requester, options } = call;
    for (const reference of options.references) {
      try {
        call.downloaded.push(await reference.download({ maxBytes: 5_000_000, signal: new AbortController().signal }));
      } catch (error) {
        call.downloadErrors.push(error);
        // As the core does: a BotError keeps its code and text, anything else is unexpected.
        if (error instanceof BotError) return { ok: false, code: error.code, reply: { visibility: 'private', text: error.userMessage } };
        return { ok: false, code: 'internal.unexpected', reply: { visibility: 'private', text: 'download failed' } };
      }
    }
    const key = `${requester.communityId}:${requester.userId}`;
    const balance = this.balances.get(key) ?? 50;
    if (balance < 5) return { ok: false, code: 'credits.insufficient', reply: { visibility: 'private', text: `Not enough credits: balance ${balance}, price 5.` } };
    this.balances.set(key, balance - 5);
    return { ok: true, jobId: `job-${this.imagineCalls.length}`, position: 1, reservedCredits: 5 };
  }

  async reroll(): Promise<ImagineOutcome> {
    return { ok: false, code: 'reroll.unknown_job', reply: { visibility: 'private', text: 'no reroll on Slack' } };
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

  async mayDeleteResult(): Promise<boolean> {
    return false;
  }

  async credits(requester: Requester, subject?: { userId: string; displayName: string }): Promise<Reply> {
    this.creditsCalls.push({ requester, ...(subject ? { subject } : {}) });
    const who = subject ?? { userId: requester.userId, displayName: requester.displayName };
    return { visibility: 'private', text: `${who.displayName} has ${this.balances.get(`${requester.communityId}:${who.userId}`) ?? 50} credits.` };
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
    if (!requester.isModerator) return { visibility: 'private', text: 'Only moderators can use /quota.' };
    return { visibility: 'public', text: `quota ${command.action} done` };
  }
}
