import { setTimeout as sleep } from 'node:timers/promises';
import type { RunwaySimulator } from '../simulator/index.ts';
import { createApp, type App, type RunwayConnection } from './app.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, loadDotEnvFile, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { InstanceLeaseHeld } from './store/instance-lease.ts';
import { DatabaseConnectionRefusedError, DatabaseUnreachableError } from './store/open-postgres.ts';
import { DatabaseSchemaTooNewError } from './store/postgres-migrate.ts';
import { DatabaseUrlInvalidError } from './store/postgres-url.ts';
import type { ChatSurface } from './ports.ts';
import { connectionProbe, databaseProbe, type HealthProbe } from './service/health.ts';
import { startServiceServer } from './service/server.ts';

/** How long a simulated generation takes: long enough to see the progress updates, short enough for a demo. */
const SIMULATOR_GENERATION_MS = 4_000;

/**
 * The composition root: config → Runway connection → core → the adapters that are configured. With
 * no chat platform configured it opens the terminal sandbox; with no Runway key it starts the
 * simulator and hands the core its address. Adapters are imported only when configured, so the
 * sandbox never loads discord.js.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    loadDotEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`imagine-bot cannot start. ${error.message}\nSee .env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
  const isSandbox = !config.discord && !config.slack;
  const log = createLogger(config.logLevel ?? (isSandbox ? 'warn' : 'info'));
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const { runway, simulator } = await connectRunway(config);
  if (simulator) say(`No RUNWAYML_API_SECRET: using the built-in Runway simulator at ${simulator.url} (images are generated patterns, nothing is billed).`);
  // DISCORD_GUILD_IDS and SLACK_TEAM_IDS, when set, are the only communities served (the operator pays).
  const servedCommunities = new Map([
    ['discord', new Set(config.discord?.guildIds ?? [])],
    ['slack', new Set(config.slack?.teamIds ?? [])],
  ]);
  let app: App;
  try {
    app = await createApp({
      config,
      runway,
      clock: systemClock,
      log,
      servedCommunities,
      onLeaseLost: () => {
        process.stderr.write('imagine-bot stopped: another instance took over its database.\n');
        process.exit(1);
      },
    });
  } catch (error) {
    await simulator?.close();
    if (error instanceof InstanceLeaseHeld || isDatabaseStartError(error)) {
      process.stderr.write(`imagine-bot cannot start. ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // The simulator lives exactly as long as the core that talks to it.
  const stopCore = async (): Promise<void> => {
    await app.stop();
    await simulator?.close();
  };

  const stops: (() => Promise<void>)[] = [];
  // Each platform's connection as its adapter reports it; down until the adapter has started.
  const connections = new Map<string, () => boolean>();
  const register = (surface: ChatSurface, stop: () => Promise<void>, connected: () => boolean) => {
    app.registerSurface(surface);
    stops.push(stop);
    connections.set(surface.platform, connected);
  };

  if (isSandbox) {
    await runSandbox(app, stopCore, config, say);
    return;
  }
  // Up before the adapters log in, so an orchestrator sees a live process that is not ready yet.
  if (config.healthPort !== null) {
    const platformProbe = (platform: string, whenDown: string): HealthProbe => connectionProbe(() => connections.get(platform)?.() ?? false, whenDown);
    app.metrics.enableProcessMetrics();
    const server = await startServiceServer({
      port: config.healthPort,
      log,
      metrics: app.metrics,
      probes: {
        database: databaseProbe(app.db),
        ...(config.discord ? { discord: platformProbe('discord', 'not connected to the Discord gateway') } : {}),
        ...(config.slack ? { slack: platformProbe('slack', config.slack.appToken ? 'the Socket Mode connection to Slack is down' : "not listening for Slack's requests") } : {}),
        runway: app.runwayReachability.probe,
      },
    });
    stops.push(() => server.close());
  }
  if (config.discord) {
    const { startDiscordAdapter } = await import('../adapters/discord/index.ts');
    const discord = await startDiscordAdapter({
      token: config.discord.token,
      ...(config.discord.apiUrl ? { apiUrl: config.discord.apiUrl } : {}),
      guildIds: config.discord.guildIds,
      ...(config.discord.moderatorRoleId ? { moderatorRoleId: config.discord.moderatorRoleId } : {}),
      shards: config.discord.shards,
      mediaOrigins: config.mediaOrigins,
      core: app.core,
      log,
      clock: systemClock,
    });
    register(discord.surface, discord.stop, discord.connected);
  }
  if (config.slack) {
    const { startSlackAdapter } = await import('../adapters/slack/index.ts');
    const slack = await startSlackAdapter({
      botToken: config.slack.botToken,
      ...(config.slack.signingSecret ? { signingSecret: config.slack.signingSecret } : {}),
      ...(config.slack.appToken ? { appToken: config.slack.appToken } : {}),
      ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
      moderators: config.slack.moderators,
      port: config.slack.port,
      mediaOrigins: config.mediaOrigins,
      core: app.core,
      deliveries: app.deliveryDedupe('slack'),
      log,
      clock: systemClock,
    });
    register(slack.surface, slack.stop, slack.connected);
  }
  await app.start();
  log.info('imagine-bot is running', { discord: Boolean(config.discord), slack: Boolean(config.slack) });
  onShutdown(log, async () => {
    for (const stop of stops) await stop();
    await stopCore();
  });
}

/**
 * Runway itself when a key is configured; otherwise a simulator started here on loopback, whose
 * own address is then where its outputs come from. Imported only when needed, like the adapters,
 * so a production run never loads it.
 */
async function connectRunway(config: Config): Promise<{ runway: RunwayConnection; simulator: RunwaySimulator | null }> {
  const { apiSecret, baseUrl } = config.runway;
  if (apiSecret !== undefined) return { runway: { apiKey: apiSecret, ...(baseUrl ? { baseUrl } : {}) }, simulator: null };
  const { startRunwaySimulator } = await import('../simulator/index.ts');
  const apiKey = 'simulator';
  const simulator = await startRunwaySimulator({ apiKey, generationMs: SIMULATOR_GENERATION_MS, outputScale: 0.5 });
  return {
    runway: { apiKey, baseUrl: simulator.url, extraOutputOrigins: [simulator.url], simulated: { generationMs: SIMULATOR_GENERATION_MS } },
    simulator,
  };
}

async function runSandbox(app: App, stopCore: () => Promise<void>, config: Config, say: (line: string) => void): Promise<void> {
  const { startSandbox } = await import('../adapters/sandbox/index.ts');
  const interactive = Boolean(process.stdin.isTTY);
  if (interactive) say('imagine-bot sandbox: you are the operator (a moderator). Type /help, or try: /imagine a koi pond at dawn --ratio 16:9');
  const previousRequests = (await app.db.value<number>("select count(*) from jobs where platform = 'sandbox'")) ?? 0;
  const sandbox = startSandbox({ core: app.core, outputDir: config.outputDir, input: process.stdin, output: process.stdout, interactive, previousRequests });
  app.registerSurface(sandbox.surface);
  await app.start();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stopCore();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await sandbox.done;
  // Input ended (a script, or /quit): let what was asked finish, then leave.
  if ((await app.runner.unfinishedCount('sandbox')) > 0) say('Waiting for the images in progress…');
  while ((await app.runner.unfinishedCount('sandbox')) > 0) await sleep(100);
  await stop();
}

/** Why PostgreSQL could not be used at start (unreachable after the retries, refused, newer schema): the operator's to fix. */
function isDatabaseStartError(error: unknown): error is Error {
  return (
    error instanceof DatabaseUnreachableError ||
    error instanceof DatabaseConnectionRefusedError ||
    error instanceof DatabaseSchemaTooNewError ||
    error instanceof DatabaseUrlInvalidError
  );
}

function onShutdown(log: Logger, drain: () => Promise<void>): void {
  let draining = false;
  const handler = (signal: string) => {
    if (draining) return;
    draining = true;
    log.info('draining before exit', { signal });
    drain().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('error while draining', { error });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`imagine-bot stopped: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
