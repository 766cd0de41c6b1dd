/**
 * The real bot process at LOG_LEVEL=debug through a full flow on each platform, good requests and
 * refused ones: nothing it writes to stdout or stderr may hold the bot token, the signing secret,
 * the Runway key, an interaction token, or the query of a signed URL (Runway's `sig=`/`expires=`,
 * Discord's CDN `ex=`/`is=`/`hm=`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileNotOnSlack } from '../adapters/slack/references.ts';
import { escapeMrkdwn, failureText, placeholderHead } from '../adapters/slack/texts.ts';
import { mediaHttpError } from '../src/media/errors.ts';
import { explainFailureCode } from '../src/runway/failure-codes.ts';
import { startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { newBotStore } from './support/bot-store.ts';
import { noisePng } from './support/images.ts';
import { FakeDiscord, snowflake, waitFor, type FakeInteraction } from './fakes/discord/index.ts';
import { PlatformBot } from './support/platform-bot.ts';
import { startFakeSlack } from './fakes/slack/index.ts';
import { freePort } from './fakes/slack/ports.ts';
import { createSlackSender } from './fakes/slack/sender.ts';

const RUNWAY_KEY = 'key_logcheck_runway_9Tz';
const SIGNED_QUERY = /[?&](sig|expires|ex|is|hm)=/;

function expectClean(lines: readonly string[], secrets: readonly string[]): void {
  expect(lines.some((line) => line.includes('"level":"info"'))).toBe(true);
  for (const line of lines) {
    for (const secret of secrets) expect(line.includes(secret), `a secret in: ${line}`).toBe(false);
    expect(line, 'a signed query in a log line').not.toMatch(SIGNED_QUERY);
  }
}

/** The bot's JSON log lines with `message` that carry a code: its refusals, with the ids they name. */
function loggedRefusals(lines: readonly string[], message: string): { code: string; [field: string]: unknown }[] {
  return lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { message: string; code?: string })
    .filter((entry): entry is { message: string; code: string } => entry.message === message && entry.code !== undefined);
}

/** What Runway's moderation failure (the simulator's `sim:safety`) is shown as. */
// Runway bills a declined generation like a finished one: 8 credits for the default gen4_image size.
const SAFETY = explainFailureCode('SAFETY.INPUT', 8);

let sim: RunwaySimulator;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imagine-logcheck-'));
  sim = await startRunwaySimulator({ apiKey: RUNWAY_KEY, generationMs: 150, pendingMs: 30, outputScale: 0.1 });
});
afterAll(async () => {
  await sim?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('secrets stay out of the logs of the real bot', () => {
  it('Discord: a full flow with a signed CDN attachment, a refused one and a failure', async () => {
    const token = 'discord-logcheck-bot-token-Mx3';
    const fake = await FakeDiscord.start({ token });
    const store = await newBotStore(dir, 'discord.db');
    const bot = PlatformBot.start({
      DISCORD_TOKEN: token,
      DISCORD_API_URL: fake.apiUrl,
      DISCORD_GUILD_IDS: fake.defaultGuild.id,
      RUNWAYML_API_SECRET: RUNWAY_KEY,
      RUNWAYML_BASE_URL: sim.url,
      ...store.env,
      MEDIA_ORIGINS: `${fake.cdnOrigin} ${sim.url}`,
      RUNWAY_POLL_INTERVAL_MS: '50',
      DEFAULT_ALLOWANCE: '50',
      LOG_LEVEL: 'debug',
    });
    const tokens: string[] = [];
    const user = { id: snowflake(), username: 'ana' };
    const hasImage = (i: FakeInteraction) => (fake.original(i)?.attachments.length ?? 0) > 0;
    try {
      await bot.waitForLog('discord: ready');
      const ref = fake.addAttachment('cat.png', noisePng(3), 'image/png');
      const good = fake.sendCommand({ name: 'imagine', user, options: { prompt: 'a @cat on a rug', tags: 'cat' }, attachments: { image1: ref } });
      const lost = { ...fake.addAttachment('gone.png', noisePng(4), 'image/png'), url: `${fake.cdnOrigin}/attachments/1/2/gone.png?ex=1&is=2&hm=3` };
      const missing = fake.sendCommand({ name: 'imagine', user, options: { prompt: 'a dog' }, attachments: { image1: lost } });
      // Another member: three of ana's at once would pass the per-member limit (2) and be refused outright.
      const failing = fake.sendCommand({ name: 'imagine', user: { id: snowflake(), username: 'bea' }, options: { prompt: 'sim:safety a cat' } });
      tokens.push(good.token, missing.token, failing.token);
      await waitFor(() => hasImage(good), { what: 'the image', timeoutMs: 20_000 });
      // The lost attachment: the CDN answers 404, refused privately with that status, nothing drawn.
      const [refusal] = await waitFor(() => fake.followUps(missing).length > 0 && fake.followUps(missing), { what: 'the refusal', timeoutMs: 20_000 });
      expect(refusal?.content).toBe(mediaHttpError(404).userMessage);
      expect(refusal!.flags & 64).toBe(64);
      expect(loggedRefusals(bot.lines, 'discord: request refused').filter((e) => e.interactionId === missing.id).map((e) => e.code)).toEqual(['media.http_error']);
      // Runway's moderation failure replaces the placeholder.
      await waitFor(() => fake.original(failing)?.content.includes('❌'), { what: 'the failure', timeoutMs: 20_000 });
      expect(fake.original(failing)?.content).toBe(`❌ ${SAFETY.userMessage}`);
      await bot.waitForLog('"message":"delivered"');
    } finally {
      await bot.stop();
      await fake.close();
    }
    expectClean(bot.lines, [token, RUNWAY_KEY, ...tokens, ...store.secrets]);
    const jobs = await store.readJobs();
    await store.discard();
    expect(jobs.map((job) => `${job.state} ${job.failureCode ?? '-'}`).sort()).toEqual(['delivered -', `failed ${SAFETY.code}`, 'rejected media.http_error']);
  });

  it('Slack: a full flow with a reference file, a file off Slack and a failure', async () => {
    const botToken = 'xoxb-logcheck-slack-token-Wd2';
    const secret = 'logcheck-signing-secret-Qv5';
    const fake = await startFakeSlack(botToken);
    fake.addUser({ id: 'UANA', name: 'ana' });
    fake.addUser({ id: 'UBEA', name: 'bea' });
    const port = await freePort();
    const store = await newBotStore(dir, 'slack.db');
    const bot = await PlatformBot.started({
      SLACK_BOT_TOKEN: botToken,
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: fake.apiUrl,
      PORT: String(port),
      RUNWAYML_API_SECRET: RUNWAY_KEY,
      RUNWAYML_BASE_URL: sim.url,
      ...store.env,
      MEDIA_ORIGINS: `${fake.elsewhereOrigin} ${sim.url}`,
      RUNWAY_POLL_INTERVAL_MS: '50',
      DEFAULT_ALLOWANCE: '50',
      LOG_LEVEL: 'debug',
    });
    const slack = createSlackSender(`http://127.0.0.1:${port}/slack/events`, secret);
    try {
      const event = (ts: string, text: string, files: unknown[]) =>
        slack.event(fake.teamId, { type: 'app_mention', user: 'UANA', text: `<@${fake.botUserId}> ${text}`, ts, channel: 'C0LOG', files });
      const offSlack = { id: 'FEVIL', name: 'dog.png', mimetype: 'image/png', size: 10, url_private: `${fake.elsewhereOrigin}/dog.png?sig=abc&expires=1` };
      await event('1767225100.000100', 'a @cat on a rug --tags cat', [fake.addUserFile('cat.png', noisePng(5))]);
      await event('1767225100.000200', 'a dog', [offSlack]);
      await slack.command({
        // Another member, so the per-member limit (2) cannot refuse it while ana's are in flight.
        token: 'legacy', team_id: fake.teamId, team_domain: 'fake', channel_id: 'C0LOG', channel_name: 'log', user_id: 'UBEA',
        user_name: 'bea', command: '/imagine', text: 'sim:safety a cat', api_app_id: 'AFAKE001', response_url: fake.responseUrl(), trigger_id: '1.2.3',
      });
      await fake.waitFor(() => fake.sharedFiles().length > 0, 'the image', 20_000);
      // The file off Slack: refused privately, never fetched.
      const refusal = await fake.waitFor(() => fake.ephemerals.find((e) => e.user === 'UANA'), 'the refusal', 20_000);
      expect(refusal.text).toBe(escapeMrkdwn(fileNotOnSlack(offSlack).userMessage));
      expect(loggedRefusals(bot.lines, 'slack request refused').filter((e) => e.user === 'UANA').map((e) => e.code)).toEqual(['slack.file_not_on_slack']);
      expect(fake.calls('elsewhere')).toHaveLength(0);
      // Runway's moderation failure replaces the placeholder.
      const failed = await fake.waitFor(() => fake.messages.find((m) => m.text.includes(':warning:')), 'the failure', 20_000);
      expect(failed.text).toBe(failureText(placeholderHead('UBEA', 'sim:safety a cat'), SAFETY.userMessage));
      await bot.waitForLog('"message":"delivered"');
    } finally {
      await bot.stop();
      await fake.close();
    }
    expectClean(bot.lines, [botToken, secret, RUNWAY_KEY, ...store.secrets]);
    const jobs = await store.readJobs();
    await store.discard();
    expect(jobs.map((job) => `${job.state} ${job.failureCode ?? '-'}`).sort()).toEqual(['delivered -', `failed ${SAFETY.code}`]);
  });
});
