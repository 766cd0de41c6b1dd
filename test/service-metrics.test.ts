/**
 * GET /metrics after real jobs went through the core (test/support/core-harness.ts): every figure
 * is compared with what happened, exactly: the simulator's request log, the jobs' own times, the
 * ledger's entries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { downloadImage } from '../src/media/download.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';

let harness: CoreHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** `name{labels}` → value, for every sample line of the Prometheus text format. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

async function scrape(h: CoreHarness): Promise<Map<string, number>> {
  return samples(await h.app.metrics.render());
}

interface DeliveredRow {
  id: string;
  model: string;
  submitted_at: number;
  finished_at: number;
  delivered_at: number;
}

describe('GET /metrics', () => {
  it('counts jobs, queue, Runway calls, times, moderation, credits and refused downloads as they happened', async () => {
    // One Runway slot per model: the third job has to wait in the queue.
    const h = (harness = await startCoreHarness({ sim: { maxConcurrent: 1, costOverride: () => 6 } }));
    const t0 = h.clock.now();
    h.sim.failNextCreate({ status: 429, retryAfterMs: 1_000 });
    h.sim.failNextPoll({ status: 503 });

    const accepted = [
      await h.app.core.imagine(h.requester('alice'), { prompt: 'a koi pond at dawn', references: [] }, 'ph-a'),
      await h.app.core.imagine(h.requester('bob'), { prompt: 'sim:safety a cat', references: [] }, 'ph-b'),
      await h.app.core.imagine(h.requester('carol', { communityId: 'guild-2' }), { prompt: 'a lighthouse', references: [] }, 'ph-c'),
    ];
    expect(accepted.map((outcome) => outcome.ok && outcome.reservedCredits)).toEqual([8, 8, 8]);

    const waiting = await scrape(h);
    expect(waiting.get('imagine_jobs{state="reserved"}')).toBe(3);
    expect(waiting.get('imagine_queue_length')).toBe(3);
    expect(waiting.get('imagine_queue_oldest_wait_seconds')).toBe(0);

    // The first create meets the 429; 1.5 s later the queue has held its oldest job that long.
    await h.advance(1_500);
    const queued = await scrape(h);
    expect(queued.get('imagine_queue_length')).toBe(2);
    expect(queued.get('imagine_queue_oldest_wait_seconds')).toBe(1.5);

    await h.runUntil(() => h.surface.deliveries.length === 2 && h.surface.failures.length === 1);
    // Runway's moderation declined bob's prompt: the runner marked the row (jobs.moderated).
    expect(await h.app.db.value("select moderated from jobs where placeholder = 'ph-b'")).toBe(1);
    await expect(downloadImage('https://evil.example/x.png', { allowedOrigins: [h.sim.url], maxBytes: 1_000, timeoutMs: 1_000 })).rejects.toMatchObject({ code: 'media.origin_not_allowed' });

    const done = await scrape(h);
    const states = Object.fromEntries(['queued', 'reserved', 'submitting', 'submitted', 'running', 'succeeded', 'delivered', 'rejected', 'failed', 'cancelled'].map((s) => [s, done.get(`imagine_jobs{state="${s}"}`)]));
    expect(states).toEqual({ queued: 0, reserved: 0, submitting: 0, submitted: 0, running: 0, succeeded: 0, delivered: 2, rejected: 0, failed: 1, cancelled: 0 });
    expect(done.get('imagine_queue_length')).toBe(0);
    expect(done.get('imagine_queue_oldest_wait_seconds')).toBe(0);

    // Runway calls: what the simulator received, with the two failures it was told to give.
    const received = (method: string, path: RegExp) => h.sim.requests.filter((r) => r.method === method && path.test(r.path)).length;
    const creates = received('POST', /^\/v1\/text_to_image$/);
    const polls = received('GET', /^\/v1\/tasks\/[^/]+$/);
    expect(creates).toBe(4);
    const calls = (kind: string, outcome: string) => done.get(`imagine_runway_calls_total{kind="${kind}",outcome="${outcome}"}`);
    expect([calls('create', 'ok'), calls('create', '429'), calls('create', '4xx'), calls('create', '5xx'), calls('create', 'network')]).toEqual([3, 1, 0, 0, 0]);
    expect([calls('poll', 'ok'), calls('poll', '5xx'), calls('poll', '429')]).toEqual([polls - 1, 1, 0]);
    expect([calls('organization', 'ok'), calls('upload', 'ok')]).toEqual([received('GET', /^\/v1\/organization$/), 0]);

    // Times: each delivered job once, in seconds, from its own row.
    const rows = await h.app.db.all<DeliveredRow>("select id, model, submitted_at, finished_at, delivered_at from jobs where state = 'delivered' order by delivered_at");
    expect(rows).toHaveLength(2);
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    expect(done.get('imagine_delivery_delay_seconds_count')).toBe(2);
    expect(done.get('imagine_delivery_delay_seconds_sum')).toBeCloseTo(sum(rows.map((r) => (r.delivered_at - r.finished_at) / 1000)), 9);
    expect(done.get('imagine_generation_seconds_count{model="gen4_image"}')).toBe(2);
    expect(done.get('imagine_generation_seconds_sum{model="gen4_image"}')).toBeCloseTo(sum(rows.map((r) => (r.finished_at - r.submitted_at) / 1000)), 9);
    // The simulator takes 2 s plus 0.2 s pending; polls land within a second after.
    for (const row of rows) expect(row.finished_at - row.submitted_at).toBeGreaterThanOrEqual(2_000);
    expect(rows.every((row) => row.submitted_at >= t0)).toBe(true);

    expect(done.get('imagine_moderated_generations_total')).toBe(1);
    // Per community: 8 held per job at acceptance, moved to Runway's estimate of 6 once the task
    // existed; a delivered image cost those 6, and so did the declined one (Runway bills it).
    expect([
      done.get('imagine_credits_total{community="guild-1",kind="reserved"}'),
      done.get('imagine_credits_total{community="guild-1",kind="settled"}'),
      done.get('imagine_credits_total{community="guild-1",kind="refunded"}'),
      done.get('imagine_credits_total{community="guild-2",kind="reserved"}'),
      done.get('imagine_credits_total{community="guild-2",kind="settled"}'),
      done.get('imagine_credits_total{community="guild-2",kind="refunded"}'),
    ]).toEqual([12, 12, 0, 6, 6, 0]);
    expect(await h.ledgerSum({ userId: 'alice' })).toBe(50 - 6);
    expect(done.get('imagine_downloads_refused_total{reason="origin_not_allowed"}')).toBe(1);
    expect(done.get('imagine_downloads_refused_total{reason="too_large"}')).toBe(0);

    // A second scrape counts nothing twice; the next delivery is counted once.
    const again = await scrape(h);
    expect(again.get('imagine_delivery_delay_seconds_count')).toBe(2);
    expect(again.get('imagine_generation_seconds_count{model="gen4_image"}')).toBe(2);
    await h.app.core.imagine(h.requester('alice'), { prompt: 'a second pond', model: 'gemini_2.5_flash', references: [] }, 'ph-d');
    await h.runUntil(() => h.surface.deliveries.length === 3);
    const later = await scrape(h);
    expect(later.get('imagine_delivery_delay_seconds_count')).toBe(3);
    expect(later.get('imagine_generation_seconds_count{model="gen4_image"}')).toBe(2);
    expect(later.get('imagine_generation_seconds_count{model="gemini_2.5_flash"}')).toBe(1);
    expect(later.get('imagine_jobs{state="delivered"}')).toBe(3);
  });

  it('carries no user text, token or URL in any label', async () => {
    const h = (harness = await startCoreHarness());
    await h.app.core.imagine(h.requester('mallory', { communityId: 'guild-x' }), { prompt: 'https://evil.example/?token=xoxb-123 "quoted"', references: [] }, 'ph');
    await h.runUntil(() => h.surface.deliveries.length === 1);
    const text = await h.app.metrics.render();
    const labels = [...text.matchAll(/\{([^}]*)\}/g)].map((match) => match[1] ?? '');
    const values = new Set(labels.flatMap((set) => [...set.matchAll(/="([^"]*)"/g)].map((match) => match[1])));
    for (const value of values) expect(value).toMatch(/^[a-z0-9_.\-+]+$|^guild-x$/i);
    expect(text).not.toContain('mallory');
    expect(text).not.toContain('evil.example');
    expect(text).not.toContain('test-key');
  });
});
