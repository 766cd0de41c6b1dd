/**
 * The Slack adapter on @slack/bolt: HTTP mode (signing secret, `/slack/events` on `port`) or
 * Socket Mode (app token). It turns slash commands and mentions into core calls and returns the
 * ChatSurface through which the core shows status, results and failures.
 * https://docs.slack.dev/tools/bolt-js/
 */
import { App, SocketModeReceiver, webApi } from '@slack/bolt';
import { systemClock, type Clock } from '../../src/clock.ts';
import { asBotError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { BotCore, ChatSurface, DeliveryDedupe } from '../../src/ports.ts';
import { registerSlackActions } from './actions.ts';
import { boltLogger } from './bolt-logger.ts';
import { handleCreditsCommand, handleImagineCommand, handleQuotaCommand, type CommandDeps, type CommandReplies } from './commands.ts';
import { createDeliveryClaim, eventKey, triggerKey } from './deliveries.ts';
import { logRefusal } from './imagine-flow.ts';
import { handleMention, replyToMentioner, type MentionDeps } from './mentions.ts';
import { appMentionSchema, eventEnvelopeSchema, mentionOriginSchema, slashCommandSchema, type SlashCommand } from './payloads.ts';
import { slackFileOrigins } from './references.ts';
import { createRequesterResolver } from './requester.ts';
import { SlackApi, WEB_API_RETRY } from './slack-api.ts';
import { createSlackSurface } from './surface.ts';
import { escapeMrkdwn } from './texts.ts';

export interface SlackAdapterOptions {
  botToken: string;
  signingSecret?: string | undefined;
  /** Socket Mode when set. */
  appToken?: string | undefined;
  /** The Web API base, e.g. http://127.0.0.1:P/api/ (GovSlack, tests). */
  apiUrl?: string | undefined;
  moderators: readonly string[];
  port: number;
  host?: string | undefined;
  /** Extra origins a Slack file download may be redirected to (never sent the token). */
  mediaOrigins: readonly string[];
  core: BotCore;
  /**
   * Which deliveries were worked already, by this process or any other on the database: Slack may
   * deliver an event, a command or a click twice, to any process (./deliveries.ts).
   */
  deliveries: DeliveryDedupe;
  log: Logger;
  clock?: Clock;
  /**
   * How the upload retry waits out a Retry-After or a backoff (default a real timer). Tests pass one
   * that records the wait and returns at once. WebClient's own Web API retries have no such hook.
   */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Socket Mode: how long to wait for a pong before calling the connection dead, and the step of the
   * reconnect delay (@slack/socket-mode's clientPingTimeout; default 5 s). Tests shorten it.
   */
  socketPingTimeoutMs?: number | undefined;
}

export interface SlackAdapter {
  surface: ChatSurface;
  /** Socket Mode: the WebSocket to Slack is open and greeted; HTTP mode: the receiver is listening (the health server's `slack` part). */
  connected(): boolean;
  stop(): Promise<void>;
}

const WEB_API_TIMEOUT_MS = 15_000;
export const UNREADABLE_MENTION =
  "I couldn't read the files attached to that message, so I did nothing and nothing was charged. Please attach the images again (PNG, JPEG or WebP, as many as the model takes) and mention me.";

/** Start the Slack app; resolves once `auth.test` passed and the receiver is listening (or connected). */
export async function startSlackAdapter(options: SlackAdapterOptions): Promise<SlackAdapter> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const isSocketMode = options.appToken !== undefined;
  const logger = boltLogger(log);
  const clientOptions = {
    ...(options.apiUrl === undefined ? {} : { slackApiUrl: options.apiUrl }),
    retryConfig: { ...WEB_API_RETRY },
    timeout: WEB_API_TIMEOUT_MS,
  };
  // Socket Mode's receiver is made here, not by Bolt, so its client's connection events can be heard.
  const socketReceiver =
    options.appToken === undefined
      ? undefined
      : new SocketModeReceiver({
          appToken: options.appToken,
          logger,
          // What Bolt hands the receiver it makes itself: apps.connections.open goes to the same API base.
          installerOptions: { clientOptions },
          ...(options.socketPingTimeoutMs === undefined ? {} : { clientPingTimeout: options.socketPingTimeoutMs }),
        });
  let socketOpen = false;
  socketReceiver?.client.on('connected', () => {
    socketOpen = true;
  });
  for (const event of ['close', 'disconnecting', 'disconnected', 'reconnecting']) {
    socketReceiver?.client.on(event, () => {
      socketOpen = false;
    });
  }
  const app = new App({
    token: options.botToken,
    ...(socketReceiver ? { receiver: socketReceiver } : { signingSecret: options.signingSecret ?? '' }),
    clientOptions,
    logger,
    // Initialise explicitly so a bad token surfaces here, as an error from start, not as an unhandled rejection.
    deferInitialization: true,
  });
  await app.init();
  // WebClient waits out a 429 by itself (it pauses its queue for Retry-After seconds): say so, with the wait.
  app.client.on(webApi.WebClientEvent.RATE_LIMITED, (retryAfterSec: number, request: { url?: string }) => {
    const method = request.url?.slice(request.url.lastIndexOf('/') + 1);
    log.debug('slack: rate limited, waiting', { method, retryAfterSec });
  });

  // Slack's own hosts: the only ones a file may come from, and the only ones given the bot token.
  const fileOrigins = slackFileOrigins(options.apiUrl);
  const api = new SlackApi({ client: app.client, botToken: options.botToken, tokenOrigins: fileOrigins, log, ...(options.sleep ? { sleep: options.sleep } : {}) });
  const deps: CommandDeps = {
    api,
    core: options.core,
    log,
    resolveRequester: createRequesterResolver({ api, moderators: options.moderators, clock, log }),
  };
  const mentionDeps: MentionDeps = { ...deps, botToken: options.botToken, fileOrigins, redirectOrigins: options.mediaOrigins };
  // Asked right after the acknowledgement, before anything is posted, looked up or charged.
  const isFirstDelivery = createDeliveryClaim(options.deliveries, log);

  const commandReplies = (command: SlashCommand, respond: (message: Record<string, unknown>) => Promise<unknown>): CommandReplies => {
    const sendPrivately = async (text: string): Promise<void> => {
      try {
        await respond({ response_type: 'ephemeral', text });
      } catch (error) {
        // The response_url may be spent (5 uses in 30 min): an ephemeral message still reaches them.
        log.warn('slack response_url failed; using chat.postEphemeral', { error });
        await api.postEphemeral({ channel: command.channel_id, user: command.user_id, text });
      }
    };
    return {
      // Replies may echo what someone typed or their display name: escaped, so they cannot ping a channel.
      replyPrivately: (raw) => sendPrivately(escapeMrkdwn(raw)),
      // Built as mrkdwn already, every typed part escaped where it was put in (texts.ts historyText).
      replyPrivatelyMrkdwn: sendPrivately,
      replyPublicly: async (text) => {
        await respond({ response_type: 'in_channel', text: escapeMrkdwn(text) });
      },
    };
  };

  const handlers = { '/imagine': handleImagineCommand, '/credits': handleCreditsCommand, '/quota': handleQuotaCommand } as const;
  for (const [name, handle] of Object.entries(handlers)) {
    app.command(name, async ({ ack, body, respond }) => {
      // Slack gives 3 s: acknowledge first, then do the work.
      await ack();
      const command = slashCommandSchema.parse(body);
      const replies = commandReplies(command, respond);
      try {
        if (!(await isFirstDelivery(triggerKey(command.trigger_id)))) return;
        // The operator pays: a workspace it does not serve gets one polite refusal and nothing else.
        const admission = await deps.core.admission('slack', command.team_id);
        if (!admission.ok) {
          logRefusal(log, admission.failure.code, { team: command.team_id, user: command.user_id });
          return await replies.replyPrivately(admission.failure.userMessage).catch(() => undefined);
        }
        await handle(deps, command, replies);
      } catch (error) {
        const botError = asBotError(error);
        log.error('slack command failed', { command: name, error: botError, cause: botError.cause });
        await replies.replyPrivately(botError.userMessage).catch(() => undefined);
      }
    });
  }

  app.event('app_mention', async ({ event, body, context }) => {
    const envelope = eventEnvelopeSchema.safeParse(body);
    if (!envelope.success) return log.warn('slack event we could not read', { issues: envelope.error.issues.map((issue) => issue.path.join('.')) });
    // Who and where, read first: whatever fails after this (the database included), the person is told.
    const origin = mentionOriginSchema.safeParse(event);
    try {
      // Slack redelivers an event it thinks we missed, to whichever process: one request, one job.
      if (!(await isFirstDelivery(eventKey(envelope.data.event_id)))) return;
      const parsed = appMentionSchema.safeParse(event);
      if (!parsed.success) {
        // Who and where may still be readable: tell the person rather than ignore them.
        if (!origin.success || origin.data.bot_id !== undefined) return;
        log.warn('slack mention we could not read', { channel: origin.data.channel, issues: parsed.error.issues.map((issue) => issue.path.join('.')) });
        await replyToMentioner(api, origin.data)(UNREADABLE_MENTION).catch(() => undefined);
        return;
      }
      if (parsed.data.bot_id !== undefined) return;
      const teamId = envelope.data.team_id ?? context.teamId;
      if (teamId === undefined) return;
      const admission = await deps.core.admission('slack', teamId);
      if (!admission.ok) {
        logRefusal(log, admission.failure.code, { team: teamId, user: parsed.data.user });
        return await replyToMentioner(api, parsed.data)(admission.failure.userMessage).catch(() => undefined);
      }
      await handleMention(mentionDeps, teamId, context.botUserId, parsed.data);
    } catch (error) {
      const botError = asBotError(error);
      log.error('slack mention failed', { error: botError, cause: botError.cause });
      if (origin.success && origin.data.bot_id === undefined) await replyToMentioner(api, origin.data)(botError.userMessage).catch(() => undefined);
    }
  });

  // Upscale, Vary and Cancel buttons, and the Vary form (./actions.ts).
  registerSlackActions(app, { ...deps, isFirstDelivery });

  app.error(async (error) => {
    log.error('slack listener error', { error });
  });

  let connected: () => boolean;
  if (isSocketMode) {
    await app.start();
    connected = () => socketOpen;
  } else {
    const server = await app.start({ port: options.port, ...(options.host === undefined ? {} : { host: options.host }) });
    connected = () => server.listening;
  }
  log.info('slack adapter started', { mode: isSocketMode ? 'socket' : 'http', ...(isSocketMode ? {} : { port: options.port }) });

  return {
    surface: createSlackSurface({ api, clock, log }),
    connected: () => connected(),
    stop: async () => {
      await app.stop();
    },
  };
}
