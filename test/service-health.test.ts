/**
 * The health server (src/service/server.ts) over real HTTP, each part of /readyz taken down and
 * brought back: the database (SQLite: another connection holding the write lock; PostgreSQL: every
 * connection of the bot's pool held; then closed), a chat
 * platform (an adapter double), Runway (the simulator behind a proxy that can refuse it, time moved
 * on a manual clock); and each adapter's own `connected()` against the fake Discord and Slack.
 */
import Database from 'better-sqlite3';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDiscordAdapter } from '../adapters/discord/index.ts';
import { startSlackAdapter } from '../adapters/slack/index.ts';
import { silentLogger } from '../src/log.ts';
import { connectionProbe, databaseProbe, RUNWAY_SILENCE_LIMIT_MS } from '../src/service/health.ts';
import { startServiceServer, type ServiceServer } from '../src/service/server.ts';
import { PostgresDatabase } from '../src/store/postgres-sql.ts';
import { SqliteDatabase } from '../src/store/sqlite-sql.ts';
import { CoreDouble as DiscordCoreDouble } from './fakes/discord/core-double.ts';
import { FakeDiscord } from './fakes/discord/index.ts';
import { CoreDouble as SlackCoreDouble } from './fakes/slack/core-double.ts';
import { startFakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { startRunwaySimulator } from '../simulator/index.ts';
import { startCoreHarness } from './support/core-harness.ts';
import { newBotStore } from './support/bot-store.ts';
import { slackDeliveriesOn } from './support/deliveries.ts';
import { ManualTimers } from './support/manual-timers.ts';
import { PlatformBot } from './support/platform-bot.ts';
import { waitFor } from './support/wait-for.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP proxy to the simulator that can refuse every connection, as an unreachable Runway would. Down until given its target. */
async function switchableProxy(): Promise<{ url: string; setTarget(port: number): void; setDown(down: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let targetPort: number | null = null;
  let down = true;
  const server: Server = createServer((client) => {
    if (down || targetPort === null) return void client.destroy();
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.connect(targetPort, '127.0.0.1', () => client.pipe(upstream).pipe(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setTarget: (port) => {
      targetPort = port;
    },
    setDown: (value) => {
      down = value;
      // Kept-alive connections from before would still get through.
      if (value) for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** `stop` runnable from the test and from the cleanup, doing its work once. */
function once(stop: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= stop());
}

async function get(server: ServiceServer, path: string, method = 'GET'): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('GET /healthz and /readyz', () => {
  it('reports each part going down and coming back', async () => {
    // The core reaches the simulator through the proxy, which refuses it at first.
    const proxy = await switchableProxy();
    cleanups.push(() => proxy.close());
    const h = await startCoreHarness({ runwayUrl: proxy.url });
    cleanups.push(() => h.close());
    proxy.setTarget(Number(new URL(h.sim.url).port));
    let slackUp = true;
    // The PostgreSQL probe's deadline: fired by the test, not waited for.
    const probeTimers = new ManualTimers();
    const server = await startServiceServer({
      port: 0,
      host: '127.0.0.1',
      log: silentLogger,
      metrics: h.app.metrics,
      probes: {
        database: databaseProbe(h.app.db, probeTimers.timers),
        slack: connectionProbe(() => slackUp, 'the Socket Mode connection to Slack is down'),
        runway: h.app.runwayReachability.probe,
      },
    });
    cleanups.push(() => server.close());
    const ready = async () => {
      const response = await get(server, '/readyz');
      return { status: response.status, body: JSON.parse(response.body) as unknown };
    };
    const allOk = { database: { ok: true }, slack: { ok: true }, runway: { ok: true } };

    expect(await get(server, '/healthz')).toEqual({ status: 200, type: 'application/json', body: '{"status":"ok"}' });
    // The organisation read at start could not reach Runway.
    expect(await ready()).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: { ...allOk, runway: { ok: false, detail: 'Runway has not answered successfully yet (last call: network)' } } },
    });

    // Runway is back; the runner reads the organisation again 10 minutes later.
    proxy.setDown(false);
    await h.advance(10 * 60_000);
    expect(await ready()).toEqual({ status: 200, body: { status: 'ready', checks: allOk } });

    // Unreachable for longer than the limit: the refresh fails and the last success grows old.
    proxy.setDown(true);
    await h.advance(RUNWAY_SILENCE_LIMIT_MS + 60_000);
    expect(await ready()).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: { ...allOk, runway: { ok: false, detail: 'no successful answer from Runway for 16 min (last call: network)' } } },
    });
    proxy.setDown(false);
    await h.advance(10 * 60_000);
    expect((await ready()).status).toBe(200);

    // The platform: down, then back.
    slackUp = false;
    expect(await ready()).toEqual({
      status: 503,
      body: { status: 'not_ready', checks: { ...allOk, slack: { ok: false, detail: 'the Socket Mode connection to Slack is down' } } },
    });
    slackUp = true;
    expect((await ready()).status).toBe(200);

    const db = h.app.db;
    if (db instanceof SqliteDatabase) {
      // The database: another connection holds the write lock, then lets go (SQLite's file, opened beside the bot's connection).
      const other = new Database(db.raw.name);
      cleanups.push(() => void other.close());
      other.exec('begin immediate');
      expect(await ready()).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { ...allOk, database: { ok: false, detail: 'another connection held the write lock for over 200 ms' } } },
      });
      other.exec('rollback');
      expect((await ready()).status).toBe(200);
      // The probe restores the bot's own patience for locks.
      expect(db.raw.pragma('busy_timeout', { simple: true })).toBe(5_000);
    } else if (db instanceof PostgresDatabase) {
      // The database: every connection of the bot's pool is held (a stuck batch of queries), so the
      // probe's `select 1` waits for one past its deadline; then they are given back.
      const held = await Promise.all(Array.from({ length: db.pool.options.max ?? 10 }, () => db.pool.connect()));
      const answer = ready();
      await waitFor('the probe to wait for a connection', () => probeTimers.delays().includes(2_000));
      probeTimers.fireAll();
      expect(await answer).toEqual({
        status: 503,
        body: { status: 'not_ready', checks: { ...allOk, database: { ok: false, detail: 'the database did not answer within 2000 ms' } } },
      });
      for (const client of held) client.release();
      expect((await ready()).status).toBe(200);
    } else {
      throw new Error(`no way to hold ${db.description} busy`);
    }

    // Closed for good.
    await h.app.db.close();
    expect(await ready()).toEqual({
      status: 503,
      body: {
        status: 'not_ready',
        checks: { ...allOk, database: { ok: false, detail: db instanceof SqliteDatabase ? 'the database connection is closed' : 'Cannot use a pool after calling end on the pool' } },
      },
    });
    expect(await get(server, '/healthz')).toEqual({ status: 200, type: 'application/json', body: '{"status":"ok"}' });
  });

  it('answers only GET and HEAD on its three paths', async () => {
    const server = await startServiceServer({ port: 0, host: '127.0.0.1', log: silentLogger, probes: { runway: () => ({ ok: true }) } });
    cleanups.push(() => server.close());
    expect(await get(server, '/readyz', 'HEAD')).toEqual({ status: 200, type: 'application/json', body: '' });
    expect(await get(server, '/readyz', 'POST')).toEqual({ status: 405, type: 'application/json', body: '{"error":"method not allowed"}' });
    expect(await get(server, '/metrics')).toEqual({ status: 404, type: 'application/json', body: '{"error":"not found","paths":["/healthz","/readyz","/metrics"]}' });
    expect((await get(server, '/healthz?probe=1')).status).toBe(200);
  });

  it('refuses to start on a port in use, saying which variable to change', async () => {
    const first = await startServiceServer({ port: 0, host: '127.0.0.1', log: silentLogger, probes: {} });
    cleanups.push(() => first.close());
    await expect(startServiceServer({ port: first.port, host: '127.0.0.1', log: silentLogger, probes: {} })).rejects.toMatchObject({
      code: 'service.port_in_use',
      message: `HEALTH_PORT ${first.port} is already in use: set HEALTH_PORT to a free port, or to off for no health server.`,
    });
  });
});

describe("each adapter's connected()", () => {
  it('Discord: false while the gateway session is resuming, true once it is resumed', async () => {
    const fake = await FakeDiscord.start();
    cleanups.push(() => fake.close());
    const adapter = await startDiscordAdapter({
      token: fake.token,
      apiUrl: fake.apiUrl,
      guildIds: [fake.defaultGuild.id],
      mediaOrigins: [],
      core: new DiscordCoreDouble(),
      log: silentLogger,
    });
    const stop = once(() => adapter.stop());
    cleanups.push(stop);
    expect(adapter.connected()).toBe(true);

    fake.gateway.holdResumes = true;
    fake.dropGateway();
    await waitFor('the client to ask to resume', () => fake.gateway.hasHeldResume);
    expect(adapter.connected()).toBe(false);

    fake.gateway.releaseResumes();
    await waitFor('the session to be resumed', () => adapter.connected());
    expect(fake.gateway.resumeCount).toBe(1);
    await stop();
    expect(adapter.connected()).toBe(false);
  });

  it('Slack Socket Mode: false from a dropped connection until Slack greets the new one', async () => {
    const fake = await startFakeSlack();
    cleanups.push(() => fake.close());
    const adapter = await startSlackAdapter({
      botToken: fake.botToken,
      appToken: fake.appToken,
      apiUrl: fake.apiUrl,
      moderators: [],
      port: await freePort(),
      mediaOrigins: [],
      core: new SlackCoreDouble(),
      deliveries: slackDeliveriesOn(),
      log: silentLogger,
      // The reconnect waits one of these: short, so the test does not sit through 5 s.
      socketPingTimeoutMs: 500,
    });
    const stop = once(() => adapter.stop());
    cleanups.push(stop);
    expect(adapter.connected()).toBe(true);

    fake.socketMode.holdHello = true;
    fake.socketMode.drop();
    await waitFor('the client to reconnect', () => fake.socketMode.hasUngreetedConnection);
    expect(adapter.connected()).toBe(false);
    expect(fake.socketMode.connectionCount).toBe(2);

    fake.socketMode.releaseHello();
    await waitFor('the hello to arrive', () => adapter.connected());
    await stop();
    expect(adapter.connected()).toBe(false);
  });

  it("Slack HTTP mode: true while the receiver listens for Slack's requests", async () => {
    const fake = await startFakeSlack();
    cleanups.push(() => fake.close());
    const adapter = await startSlackAdapter({
      botToken: fake.botToken,
      signingSecret: 'secret',
      apiUrl: fake.apiUrl,
      moderators: [],
      port: await freePort(),
      host: '127.0.0.1',
      mediaOrigins: [],
      core: new SlackCoreDouble(),
      deliveries: slackDeliveriesOn(),
      log: silentLogger,
    });
    expect(adapter.connected()).toBe(true);
    await adapter.stop();
    expect(adapter.connected()).toBe(false);
  });
});

describe('the running bot (src/main.ts) with HEALTH_PORT', () => {
  it('serves /readyz and /metrics on it once its parts are up', async () => {
    const fake = await startFakeSlack();
    cleanups.push(() => fake.close());
    const sim = await startRunwaySimulator({ apiKey: 'key-health', generationMs: 300, pendingMs: 50 });
    cleanups.push(() => sim.close());
    const dir = mkdtempSync(join(tmpdir(), 'imagine-health-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await newBotStore(dir);
    cleanups.push(() => store.discard());
    const healthPort = await freePort();
    const bot = await PlatformBot.started({
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_APP_TOKEN: fake.appToken,
      SLACK_API_URL: fake.apiUrl,
      RUNWAYML_API_SECRET: 'key-health',
      RUNWAYML_BASE_URL: sim.url,
      ...store.env,
      HEALTH_PORT: String(healthPort),
    });
    cleanups.push(() => bot.stop());
    expect(bot.lines.some((line) => line.includes('"message":"health server listening"') && line.includes(`"port":${healthPort}`))).toBe(true);

    const ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('{"status":"ready","checks":{"database":{"ok":true},"slack":{"ok":true},"runway":{"ok":true}}}');
    const metrics = await fetch(`http://127.0.0.1:${healthPort}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await metrics.text();
    expect(text).toContain('\nimagine_jobs{state="delivered"} 0\n');
    expect(text).toContain('\nimagine_runway_calls_total{kind="organization",outcome="ok"} 1\n');
    // Node's own figures, on in the running bot.
    expect(text).toMatch(/\nprocess_resident_memory_bytes \d+\n/);
  });
});
