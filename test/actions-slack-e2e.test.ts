import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngSize, startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { ACTION_BAD_BUTTON, ACTION_UNKNOWN_JOB, CANCEL_NOT_YOURS } from '../src/actions/result-actions.ts';
import { startFakeSlack, type FakeMessage, type FakeSlack } from './fakes/slack/index.ts';
import { createSlackSender, type SlackSender } from './fakes/slack/sender.ts';
import { newBotStore, type BotStore } from './support/bot-store.ts';
import { PlatformBot } from './support/platform-bot.ts';

/**
 * Issue 9, item 5 on Slack, end to end: the real bot process over HTTP, the fake Slack (Block Kit
 * buttons as block_actions, views.open, view_submission) and the Runway simulator.
 */

const SECRET = 'actions-signing-secret';
const CHANNEL = 'CACTIONS';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('Slack: Upscale, Vary and Cancel on the fake Slack', () => {
  let fake: FakeSlack;
  let sim: RunwaySimulator;
  let bot: PlatformBot;
  let slack: SlackSender;
  let dir: string;
  /** The bot's store, on the project's backend. */
  let store: BotStore;
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await startFakeSlack();
    fake.addUser({ id: 'UALICE', name: 'alice' });
    fake.addUser({ id: 'UBOB', name: 'bob' });
    sim = await startRunwaySimulator({ apiKey: 'key', generationMs: 1_500, pendingMs: 50, outputScale: 0.5 });
    dir = mkdtempSync(join(tmpdir(), 'imagine-actions-slack-'));
    store = await newBotStore(dir);
    const port = await freePort();
    slack = createSlackSender(`http://127.0.0.1:${port}/slack/events`, SECRET);
    env = {
      SLACK_BOT_TOKEN: fake.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      PORT: String(port),
      HEALTH_PORT: 'off',
      RUNWAYML_API_SECRET: 'key',
      RUNWAYML_BASE_URL: sim.url,
      ...store.env,
      MEDIA_ORIGINS: sim.url,
      RUNWAY_POLL_INTERVAL_MS: '50',
      DEFAULT_ALLOWANCE: '100',
      LOG_LEVEL: 'debug',
    };
    bot = await PlatformBot.started(env);
  });

  afterAll(async () => {
    if (fake) expect(fake.specProblems()).toEqual([]);
    await bot?.stop();
    await fake?.close();
    await sim?.close();
    await store?.discard();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const imagine = (text: string, user = 'UALICE') => slack.command(fake.commandFields('/imagine', text, user, CHANNEL));
  const buttonsOf = (message: FakeMessage | undefined): { action_id: string; value: string; text: { text: string } }[] =>
    ((message?.blocks ?? []) as { type: string; elements?: { action_id: string; value: string; text: { text: string } }[] }[]).flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));
  const click = (user: string, message: FakeMessage, actionId: string, value: string) =>
    slack.interaction({
      type: 'block_actions',
      team: { id: fake.teamId },
      user: { id: user, name: user.toLowerCase() },
      api_app_id: fake.appId,
      token: 'legacy',
      trigger_id: `trigger-${Math.random()}`,
      channel: { id: message.channel },
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel },
      message: { ts: message.ts, type: 'message', text: message.text },
      response_url: fake.responseUrl(),
      actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: '1' }],
    });
  const ephemeralTo = (user: string, count: number) => fake.waitFor(() => fake.ephemerals.filter((e) => e.user === user).length >= count && fake.ephemerals.filter((e) => e.user === user).at(-1)?.text, `ephemeral ${count} to ${user}\n${bot.tail()}`);
  const finishedPlaceholder = (index: number) =>
    fake.waitFor(() => {
      const done = fake.messages.filter((m) => m.channel === CHANNEL && m.text.startsWith(':white_check_mark:'));
      return done.length > index ? done[index] : undefined;
    }, `finished placeholder ${index}\n${bot.tail()}`, 30_000);

  let result: FakeMessage;
  let resultJob: string;

  it('the finished placeholder carries Upscale ×2, Upscale ×4 and Vary with their prices', async () => {
    await imagine('a red barn --ratio 1920:1080');
    result = await finishedPlaceholder(0);
    const buttons = buttonsOf(result);
    expect(buttons.map((b) => [b.action_id, b.text.text])).toEqual([
      ['imagine:upscale2', 'Upscale ×2 · 5 credits'],
      ['imagine:upscale4', 'Upscale ×4 · 10 credits'],
      ['imagine:vary', 'Vary · 8 credits'],
    ]);
    resultJob = buttons[0]!.value;
  });

  it('Upscale ×2: a new placeholder, the enlarged image shared, charged what Runway reports', async () => {
    await click('UBOB', result, 'imagine:upscale2', resultJob);
    await finishedPlaceholder(1);
    const shared = fake.sharedFiles().at(-1)!;
    expect(readPngSize(shared.bytes!)).toEqual({ width: 1920, height: 1080 });
    const job = (await store.readJobs()).find((j) => j.userId === 'UBOB')!;
    await fake.waitFor(async () => (await store.readLedger()).some((e) => e.job_id === job.id && e.kind === 'settle'), 'settled');
    expect((await store.readLedger()).filter((e) => e.job_id === job.id).reduce((sum, e) => sum + e.delta, 0)).toBe(-4);
  });

  it('Vary: views.open with the prompt, then view_submission runs the edited prompt with the result as reference', async () => {
    await click('UALICE', result, 'imagine:vary', resultJob);
    const opened = await fake.waitFor(() => fake.views.at(-1), `views.open\n${bot.tail()}`);
    expect(opened.view).toMatchObject({ type: 'modal', callback_id: 'imagine:varyform', title: { type: 'plain_text', text: 'Vary · 8 credits' } });
    expect(JSON.stringify(opened.view.blocks)).toContain('"initial_value":"a red barn"');
    const answer = await slack.interaction({
      type: 'view_submission',
      team: { id: fake.teamId },
      user: { id: 'UALICE', name: 'alice' },
      api_app_id: fake.appId,
      token: 'legacy',
      trigger_id: 'trigger-submit',
      view: { ...opened.view, id: 'V1', state: { values: { prompt: { prompt: { type: 'plain_text_input', value: 'a red barn in snow' } } } } },
    });
    expect(answer.status).toBe(200);
    await finishedPlaceholder(2);
    const body = sim.requests.filter((r) => r.path === '/v1/text_to_image').at(-1)?.body as { promptText: string; referenceImages: unknown[] };
    expect(body.promptText).toBe('a red barn in snow');
    expect(body.referenceImages).toHaveLength(1);
  });

  it('Cancel on the placeholder: refused for someone else, done for the requester, refunded', async () => {
    await imagine('a slow river --ratio 1920:1080');
    const placeholder = await fake.waitFor(
      () => fake.messages.find((m) => m.text.includes('a slow river') && buttonsOf(m).some((b) => b.action_id === 'imagine:cancel')),
      `a Cancel button\n${bot.tail()}`,
    );
    const jobId = buttonsOf(placeholder).find((b) => b.action_id === 'imagine:cancel')!.value;
    await click('UBOB', placeholder, 'imagine:cancel', jobId);
    expect(await ephemeralTo('UBOB', 1)).toBe(CANCEL_NOT_YOURS.userMessage);
    await click('UALICE', placeholder, 'imagine:cancel', jobId);
    expect(await ephemeralTo('UALICE', 1)).toBe('Cancelled by alice. Nothing was charged. Run `/imagine` again for a new picture.');
    await fake.waitFor(async () => (await store.readJobs()).find((j) => j.id === jobId)?.state === 'cancelled', 'cancelled');
    expect((await store.readLedger()).filter((e) => e.job_id === jobId).reduce((sum, e) => sum + e.delta, 0)).toBe(0);
  });

  it('tampered values are refused clearly; after a restart the old buttons still work', async () => {
    await click('UALICE', result, 'imagine:upscale2', '../../x');
    expect(await ephemeralTo('UALICE', 2)).toBe(ACTION_BAD_BUTTON.userMessage);
    await click('UALICE', result, 'imagine:vary', '00000000-0000-4000-8000-000000000000');
    expect(await ephemeralTo('UALICE', 3)).toBe(ACTION_UNKNOWN_JOB.userMessage);
    await bot.stop();
    bot = await PlatformBot.started(env);
    await click('UALICE', result, 'imagine:upscale4', resultJob);
    await finishedPlaceholder(3);
    expect(readPngSize(fake.sharedFiles().at(-1)!.bytes!)).toEqual({ width: 3840, height: 2160 });
  });
});
