/**
 * The operator's tool beside the running bot: the real core (test/support/core-harness.ts) and the
 * tool's commands on a connection of their own to the same database, on the project's store. What
 * the tool changes, the bot sees at once; what the bot spent, the tool counts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { adminContext, runAdmin } from '../src/admin/commands.ts';
import { openAdminPostgres, openAdminSqlite } from '../src/admin/open.ts';
import { CreditLedger } from '../src/credits/ledger.ts';
import type { CreditDefaults } from '../src/credits/types.ts';
import { startCoreHarness, type CoreHarness } from './support/core-harness.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the tool while the bot runs (the real core on the same database)', () => {
  // Both sides run with no budget unless a test sets one.
  const DEFAULTS: CreditDefaults = { allowance: 50, period: 'day', communityBudget: null, operatorBudget: null };

  async function running() {
    const h: CoreHarness = await startCoreHarness({ env: { COMMUNITY_BUDGET: 'off', OPERATOR_BUDGET: 'off' } });
    cleanups.push(() => h.close());
    // The tool opens the bot's database as the CLI does, on a connection of its own: the SQLite
    // file by its path, or PostgreSQL by its URL.
    const url = h.storeEnv['DATABASE_URL'];
    const path = h.storeEnv['DATABASE_PATH'];
    const opened = url !== undefined ? await openAdminPostgres(url) : path !== undefined ? openAdminSqlite(path) : undefined;
    if (opened === undefined) throw new Error('the harness names no database');
    if (!opened.ok) throw new Error(opened.problem.message);
    const db = opened.db;
    cleanups.push(() => db.close());
    const admin = adminContext(db, h.clock, DEFAULTS);
    return { h, admin: (...argv: string[]) => runAdmin(admin, argv) };
  }

  it('a lowered budget refuses the next /imagine at no cost; `default` lets it through again', async () => {
    const { h, admin } = await running();
    const ana = h.requester('ana', { communityId: 'guild-x' });
    const bo = h.requester('bo', { communityId: 'guild-x' });
    const first = await h.app.core.imagine(ana, { prompt: 'a koi pond', references: [] }, 'ph-1');
    expect(first).toMatchObject({ ok: true, reservedCredits: 8 });

    // While job 1 is in flight (its 8 credits held), the operator lowers guild-x's budget to 8.
    expect(await admin('budget', 'guild-x', '8')).toEqual({
      exitCode: 0, code: null, stderr: '', stdout: 'guild-x: budget 8/day (was unlimited, the default). Spent today: 8, left: 0.\n',
    });
    const anaBalance = await h.ledgerSum({ userId: 'ana' });
    const boBefore = await h.ledgerSum({ userId: 'bo' });
    const second = await h.app.core.imagine(ana, { prompt: 'a second koi pond', references: [] }, 'ph-2');
    const third = await h.app.core.imagine(bo, { prompt: 'a heron', references: [] }, 'ph-3');
    expect(second).toMatchObject({ ok: false, code: 'credits.community_budget' });
    expect(third).toMatchObject({ ok: false, code: 'credits.community_budget' });
    expect(await h.ledgerSum({ userId: 'ana' })).toBe(anaBalance);
    // bo was first seen by this request: his allowance is credited, and nothing is taken from it.
    expect(await h.ledgerSum({ userId: 'bo' })).toBe(boBefore + 50);

    await h.runUntil(() => h.surface.deliveries.length === 1);
    expect(h.surface.deliveries.map((d) => d.placeholder)).toEqual(['ph-1']);
    // Only job 1 ever reached Runway.
    expect(h.sim.tasks()).toHaveLength(1);

    expect((await admin('budget', 'guild-x', 'default')).stdout).toBe('guild-x: budget back to the default, unlimited (was 8/day).\n');
    const again = await h.app.core.imagine(bo, { prompt: 'a heron', references: [] }, 'ph-4');
    expect(again).toMatchObject({ ok: true, reservedCredits: 8 });
    await h.runUntil(() => h.surface.deliveries.length === 2);
    expect(h.sim.tasks()).toHaveLength(2);
  });

  it('block is seen by the bot’s own connection at once', async () => {
    const { h, admin } = await running();
    expect(await h.app.core.imagine(h.requester('ana', { communityId: 'guild-x' }), { prompt: 'a koi pond', references: [] }, 'ph-1')).toMatchObject({ ok: true });
    expect((await admin('block', 'guild-x', 'raid')).stdout).toBe("guild-x blocked at 2026-11-25 12:00 UTC (raid): the bot refuses its requests until 'unblock guild-x'.\n");
    const botView = new CreditLedger(h.app.db, h.clock, DEFAULTS);
    expect((await botView.settings('guild-x')).blocked).toEqual({ atMs: h.clock.now(), note: 'raid' });
    expect((await admin('unblock', 'guild-x')).stdout).toBe('guild-x unblocked: its members can use the bot again.\n');
    expect((await botView.settings('guild-x')).blocked).toBeNull();
  });

  it('the core refuses /imagine in a blocked community with its own code, at no cost, until unblocked', async () => {
    const { h, admin } = await running();
    const ana = h.requester('ana', { communityId: 'guild-x' });
    expect(await h.app.core.imagine(ana, { prompt: 'a koi pond', references: [] }, 'ph-1')).toMatchObject({ ok: true });
    expect((await admin('block', 'guild-x', 'raid')).exitCode).toBe(0);
    const before = await h.ledgerSum({ userId: 'ana' });
    const jobsBefore = await h.app.db.value('select count(*) from jobs');
    expect(await h.app.core.imagine(ana, { prompt: 'another koi pond', references: [] }, 'ph-2')).toMatchObject({ ok: false, code: 'community.blocked' });
    expect(await h.ledgerSum({ userId: 'ana' })).toBe(before);
    expect(await h.app.db.value('select count(*) from jobs')).toBe(jobsBefore);
    expect((await admin('unblock', 'guild-x')).exitCode).toBe(0);
    expect(await h.app.core.imagine(ana, { prompt: 'another koi pond', references: [] }, 'ph-3')).toMatchObject({ ok: true });
  });
});
