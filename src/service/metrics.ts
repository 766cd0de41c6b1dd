/**
 * GET /metrics, in Prometheus' text format (prom-client). Most figures are read from the database
 * when scraped, so they are true after a restart and cost nothing between scrapes; only what the
 * database does not keep (Runway calls, refused downloads) is counted as it happens, through hooks
 * in src/runway/gateway.ts and src/media/download.ts.
 *
 * Label values are community ids, model ids, job states and fixed words: never user text, tokens
 * or URLs.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.ts';
import { JOB_STATES } from '../jobs/job.ts';
import { REFUSAL_CODES, type RefusalCode } from '../media/download.ts';
import type { RunwayCallKind, RunwayCallObserver, RunwayCallOutcome } from '../runway/gateway.ts';
import type { Sql } from '../store/sql.ts';

const RUNWAY_CALL_KINDS: readonly RunwayCallKind[] = ['upload', 'create', 'poll', 'organization'];
const RUNWAY_CALL_OUTCOMES: readonly RunwayCallOutcome[] = ['ok', '429', '4xx', '5xx', 'network'];
/** How the ledger's job entries are summed per community (see `creditTotals`). */
const CREDIT_KINDS = ['reserved', 'settled', 'refunded'] as const;

/** Runway finished → the image is in the chat: the bot's own share of the wait, in seconds. */
const DELIVERY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Submitted to Runway → Runway finished, in seconds. */
const GENERATION_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 300];

/** The bot's metrics registry: one per core, so tests running several cores never mix figures. */
export class BotMetrics {
  private readonly registry = new Registry();
  private readonly runwayCalls: Counter<'kind' | 'outcome'>;
  private readonly downloadsRefused: Counter<'reason'>;
  private readonly jobs: Gauge<'state'>;
  private readonly queueLength: Gauge;
  private readonly oldestWait: Gauge;
  private readonly deliveryDelay: Histogram;
  private readonly generationTime: Histogram<'model'>;
  private readonly moderated: Counter;
  private readonly credits: Gauge<'community' | 'kind'>;
  /** Deliveries up to this time (and these jobs delivered exactly at it) are already in the histograms. */
  private deliveredUpTo: { at: number; ids: Set<string> };
  private processMetrics = false;

  /** Histograms start empty at `clock.now()`: they describe this process's deliveries, as Prometheus expects. */
  constructor(
    private readonly db: Sql,
    private readonly clock: Clock,
  ) {
    const registers = [this.registry];
    this.runwayCalls = new Counter({ name: 'imagine_runway_calls_total', help: 'Calls to the Runway API by endpoint and outcome.', labelNames: ['kind', 'outcome'], registers });
    this.downloadsRefused = new Counter({ name: 'imagine_downloads_refused_total', help: 'Downloads refused by the media policy, by reason.', labelNames: ['reason'], registers });
    this.jobs = new Gauge({ name: 'imagine_jobs', help: 'Jobs in the database by state.', labelNames: ['state'], registers });
    this.queueLength = new Gauge({ name: 'imagine_queue_length', help: 'Jobs holding credits and waiting for a Runway slot (state reserved).', registers });
    this.oldestWait = new Gauge({ name: 'imagine_queue_oldest_wait_seconds', help: 'How long the oldest waiting job has waited since its credits were held; 0 when none waits.', registers });
    this.deliveryDelay = new Histogram({ name: 'imagine_delivery_delay_seconds', help: 'From Runway reporting success to the image delivered in the chat.', buckets: DELIVERY_BUCKETS, registers });
    this.generationTime = new Histogram({ name: 'imagine_generation_seconds', help: 'From submission to Runway to Runway finishing, per model, for delivered images.', labelNames: ['model'], buckets: GENERATION_BUCKETS, registers });
    this.moderated = new Counter({ name: 'imagine_moderated_generations_total', help: "Generations Runway's moderation declined (jobs.moderated).", registers });
    this.credits = new Gauge({
      name: 'imagine_credits_total',
      help: 'Credits per community from the ledger: reserved (held for jobs), settled (charged for finished images), refunded; reserved = settled + refunded + held now.',
      labelNames: ['community', 'kind'],
      registers,
    });
    // Every known series exists from the start, so rate() sees the first increment.
    for (const kind of RUNWAY_CALL_KINDS) for (const outcome of RUNWAY_CALL_OUTCOMES) this.runwayCalls.inc({ kind, outcome }, 0);
    for (const code of REFUSAL_CODES) this.downloadsRefused.inc({ reason: refusalReason(code) }, 0);
    this.deliveredUpTo = { at: clock.now(), ids: new Set() };
  }

  /** The gateway's observer: one call to Runway ended this way. */
  readonly recordRunwayCall: RunwayCallObserver = (call) => {
    this.runwayCalls.inc({ kind: call.kind, outcome: call.outcome });
  };

  /** A download was refused (src/media/download.ts `onDownloadRefused`). */
  readonly recordDownloadRefusal = (code: RefusalCode): void => {
    this.downloadsRefused.inc({ reason: refusalReason(code) });
  };

  /** Add Node's own figures (CPU, memory, event-loop lag, handles): for the running bot, not for tests. */
  enableProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Read the database's figures and render everything. Throws if the database cannot be read. */
  async render(): Promise<string> {
    await this.readDatabase();
    return this.registry.metrics();
  }

  private async readDatabase(): Promise<void> {
    const { db } = this;
    const now = this.clock.now();
    const byState = new Map((await db.all<{ state: string; n: number }>('select state, count(*) as n from jobs group by state')).map((row) => [row.state, row.n]));
    for (const state of JOB_STATES) this.jobs.set({ state }, byState.get(state) ?? 0);

    const queue = await db.get<{ n: number; oldest: number | null }>("select count(*) as n, min(reserved_at) as oldest from jobs where state = 'reserved'");
    this.queueLength.set(queue?.n ?? 0);
    this.oldestWait.set(queue?.oldest == null ? 0 : Math.max(0, now - queue.oldest) / 1000);

    await this.observeDeliveries();

    this.moderated.reset();
    this.moderated.inc((await db.value<number>('select count(*) from jobs where moderated = 1')) ?? 0);

    this.credits.reset();
    for (const row of await creditTotals(db)) {
      for (const kind of CREDIT_KINDS) this.credits.set({ community: row.community_id, kind }, row[kind]);
    }
  }

  /** Put each job delivered since the last scrape into both histograms, once. */
  private async observeDeliveries(): Promise<void> {
    const rows = await this.db.all<{ id: string; model: string; submitted_at: number | null; finished_at: number | null; delivered_at: number }>(
      `select id, model, submitted_at, finished_at, delivered_at from jobs
       where state = 'delivered' and delivered_at >= ? order by delivered_at`,
      [this.deliveredUpTo.at],
    );
    for (const row of rows) {
      if (row.delivered_at === this.deliveredUpTo.at && this.deliveredUpTo.ids.has(row.id)) continue;
      if (row.delivered_at > this.deliveredUpTo.at) this.deliveredUpTo = { at: row.delivered_at, ids: new Set() };
      this.deliveredUpTo.ids.add(row.id);
      if (row.finished_at === null) continue;
      this.deliveryDelay.observe(Math.max(0, row.delivered_at - row.finished_at) / 1000);
      if (row.submitted_at !== null) this.generationTime.observe({ model: row.model }, Math.max(0, row.finished_at - row.submitted_at) / 1000);
    }
  }
}

/** `origin_not_allowed` for `media.origin_not_allowed`. */
function refusalReason(code: RefusalCode): string {
  return code.slice('media.'.length);
}

/**
 * Each community's credits from its job entries. `reserved`: held for jobs (the catalogue price at
 * acceptance, moved to Runway's estimate when the task was created: reserve and adjust entries).
 * `settled`: what finished images cost (their reserve, adjust and settle entries together).
 * `refunded`: what failed or cancelled jobs gave back. reserved = settled + refunded + still held.
 */
function creditTotals(db: Sql): Promise<{ community_id: string; reserved: number; settled: number; refunded: number }[]> {
  return db.all<{ community_id: string; reserved: number; settled: number; refunded: number }>(
    `select l.community_id,
            coalesce(-sum(case when l.kind in ('reserve', 'adjust') then l.delta end), 0) as reserved,
            coalesce(-sum(case when l.kind in ('reserve', 'adjust', 'settle') and s.job_id is not null then l.delta end), 0) as settled,
            coalesce(sum(case when l.kind = 'refund' then l.delta end), 0) as refunded
     from ledger l
     left join (select distinct job_id from ledger where kind = 'settle') s on s.job_id = l.job_id
     where l.job_id is not null
     group by l.community_id
     order by l.community_id`,
  );
}
