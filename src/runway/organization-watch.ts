/**
 * Keeps the latest organisation snapshot the runner read, warns the operator once when the Runway
 * account's balance falls low, and answers the bot's "would Runway take this?" from it (src/app.ts
 * wires it between the runner and the bot).
 */
import type { Clock } from '../clock.ts';
import { botUsageSince } from '../jobs/organization-usage.ts';
import type { Logger } from '../log.ts';
import type { Sql } from '../store/sql.ts';
import {
  admitByOrganization,
  dailyCountFrom,
  lowBalanceCrossing,
  type OrganizationAdmission,
  type OrganizationGuard,
  type OrganizationSnapshot,
} from './organization.ts';

export interface OrganizationWatchOptions {
  readonly db: Sql;
  readonly clock: Clock;
  readonly log: Logger;
  /** RUNWAY_LOW_BALANCE: below this many credits in the account, warn once per crossing. */
  readonly lowBalanceCredits: number;
}

/** The latest snapshot, the low-balance warning and the bot's guard, in one place. */
export class OrganizationWatch implements OrganizationGuard {
  private latest: OrganizationSnapshot | null = null;
  private balanceLow = false;

  constructor(private readonly options: OrganizationWatchOptions) {}

  /** Take a fresh snapshot (the runner's `onOrganization`), and warn if the balance just fell low. */
  observe(snapshot: OrganizationSnapshot): void {
    this.latest = snapshot;
    const { below, warn } = lowBalanceCrossing(this.balanceLow, snapshot.creditBalance, this.options.lowBalanceCredits);
    this.balanceLow = below;
    if (warn) {
      this.options.log.warn('the Runway account is running low on credits; top it up before requests are refused', {
        creditBalance: snapshot.creditBalance,
        threshold: this.options.lowBalanceCredits,
      });
    }
  }

  /** The last snapshot read, or null before the first successful read. */
  snapshot(): OrganizationSnapshot | null {
    return this.latest;
  }

  /** Would Runway's organisation take this request? Before any snapshot, yes: Runway refuses what it must, and that path refunds. */
  async check(modelId: string, priceCredits: number): Promise<OrganizationAdmission> {
    const snapshot = this.latest;
    if (!snapshot) return { ok: true };
    const nowMs = this.options.clock.now();
    const usage = await botUsageSince(this.options.db, modelId, snapshot.readAtMs, dailyCountFrom(snapshot, nowMs));
    return admitByOrganization(snapshot, { modelId, priceCredits }, usage, nowMs);
  }
}
