/**
 * The simulated account: what a task costs, what the account has spent and committed, its per-model
 * limits, and `GET /v1/organization`, which reports them.
 * https://docs.dev.runwayml.com/api/#tag/Organization
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../src/clock.ts';
import { catalogueCost, findModel, MODELS } from '../src/models.ts';
import { sendJson } from './http.ts';
import { billedCredits, type SimTask, type TaskBook } from './tasks.ts';

export interface AccountSettings {
  /** Starting balance; succeeded tasks spend it. */
  readonly creditBalance: number;
  /** Per model; tasks beyond it wait in THROTTLED. */
  readonly maxConcurrent: number;
  /** Per model and UTC day; null: no limit (Runway reports `null` for an unlimited tier). */
  readonly maxDailyGenerations: number | null;
  readonly costOverride?: ((model: string, ratio: string) => number) | undefined;
}

export class Organization {
  /** Credits bought after the start (`topUp`), on top of the starting balance. */
  private toppedUp = 0;

  constructor(
    private readonly clock: Clock,
    private readonly book: TaskBook,
    /** Every task with its state now. */
    private readonly tasks: () => SimTask[],
    readonly settings: AccountSettings,
  ) {}

  /**
   * The price of one image in credits: the override if set, else the model catalogue's estimate,
   * with any per-reference surcharge the entry names (0 for unknown models). The simulator bills
   * exactly its estimate, so a test knows both numbers in advance.
   */
  costOf(model: string, ratio: string, referenceCount = 0): number {
    if (this.settings.costOverride) return this.settings.costOverride(model, ratio);
    const info = findModel(model);
    return info ? catalogueCost(info, ratio, referenceCount) : 0;
  }

  /** The operator buys credits: the balance goes up by `credits`. */
  topUp(credits: number): void {
    this.toppedUp += credits;
  }

  /** Whether the model's daily limit is used up for the UTC day of `nowMs`. */
  dailyLimitReached(model: string, nowMs: number): boolean {
    const { maxDailyGenerations } = this.settings;
    return maxDailyGenerations !== null && this.book.dailyGenerations(model, nowMs) >= maxDailyGenerations;
  }

  /** Whether a new task of `costCredits` on top of every task running or billed passes the balance. */
  wouldOverspend(costCredits: number): boolean {
    const committed = this.tasks()
      .map((t) => (t.status === 'FAILED' || t.status === 'CANCELLED' || t.status === 'SUCCEEDED' ? billedCredits(t) : t.costCredits))
      .reduce((sum, credits) => sum + credits, 0);
    return committed + costCredits > this.settings.creditBalance + this.toppedUp;
  }

  /** `GET /v1/organization`: balance left after billed tasks (succeeded, and declined by moderation), tier limits and today's usage. */
  describe(res: ServerResponse): void {
    const nowMs = this.clock.now();
    const { maxConcurrent, maxDailyGenerations } = this.settings;
    const tierModels: Record<string, { maxConcurrentGenerations: number; maxDailyGenerations: number | null }> = {};
    const usageModels: Record<string, { dailyGenerations: number }> = {};
    for (const model of MODELS) {
      tierModels[model.id] = { maxConcurrentGenerations: maxConcurrent, maxDailyGenerations };
      usageModels[model.id] = { dailyGenerations: this.book.dailyGenerations(model.id, nowMs) };
    }
    const spentCredits = this.tasks().reduce((sum, t) => sum + billedCredits(t), 0);
    sendJson(res, 200, {
      creditBalance: this.settings.creditBalance + this.toppedUp - spentCredits,
      tier: { maxMonthlyCreditSpend: 100_000, models: tierModels },
      usage: { models: usageModels },
    });
  }
}
