import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPngSize, startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';
import { ACTION_BAD_BUTTON, ACTION_UNKNOWN_JOB, CANCEL_NOT_YOURS } from '../src/actions/result-actions.ts';
import { FakeDiscord, snowflake, waitFor, type FakeGuild, type FakeInteraction, type FakeMessage, type FakeUser } from './fakes/discord/index.ts';
import { newBotStore, type BotStore } from './support/bot-store.ts';
import { PlatformBot } from './support/platform-bot.ts';

/**
 * Issue 9, item 5 on Discord, end to end: the real bot process, the fake Discord (buttons, the Vary
 * modal and its submission) and the Runway simulator. Upscale, Vary, Cancel, tampered ids, and the
 * buttons of an old message after a restart.
 */

const GUILDS: FakeGuild[] = [
  { id: snowflake(), name: 'Actions', channelIds: [snowflake()], roles: [] },
  { id: snowflake(), name: 'Elsewhere', channelIds: [snowflake()], roles: [] },
];
const alice: FakeUser = { id: snowflake(), username: 'alice' };
const bob: FakeUser = { id: snowflake(), username: 'bob' };

describe('Discord: Upscale, Vary and Cancel on the fake Discord', () => {
  let fake: FakeDiscord;
  let sim: RunwaySimulator;
  let bot: PlatformBot;
  let dir: string;
  /** The bot's store, on the project's backend. */
  let store: BotStore;
  const env = () => ({
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.apiUrl,
    DISCORD_GUILD_IDS: GUILDS.map((g) => g.id).join(','),
    RUNWAYML_API_SECRET: 'key',
    RUNWAYML_BASE_URL: sim.url,
    ...store.env,
    MEDIA_ORIGINS: `${fake.cdnOrigin} ${sim.url}`,
    RUNWAY_POLL_INTERVAL_MS: '50',
    DEFAULT_ALLOWANCE: '100',
    LOG_LEVEL: 'debug',
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imagine-actions-discord-'));
    store = await newBotStore(dir);
    fake = await FakeDiscord.start({ guilds: GUILDS });
    // 1920:1080 × 0.5 = 960×540: inside the upscaler's limits.
    sim = await startRunwaySimulator({ apiKey: 'key', generationMs: 1_500, pendingMs: 50, outputScale: 0.5 });
    bot = await startBot();
  });

  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
    await sim?.close();
    await store?.discard();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startBot(): Promise<PlatformBot> {
    const started = PlatformBot.start(env());
    await started.waitForLog('discord: ready');
    return started;
  }

  const channelId = GUILDS[0]!.channelIds[0]!;
  const imagine = (prompt: string, user = alice) => fake.sendCommand({ name: 'imagine', user, guildId: GUILDS[0]!.id, channelId, options: { prompt, ratio: '1920:1080' } });
  const delivered = (interaction: FakeInteraction): Promise<FakeMessage> =>
    waitFor(() => {
      const message = fake.original(interaction);
      return message && message.attachments.length > 0 ? message : undefined;
    }, { what: `the image on @original of ${interaction.id}\n${bot.tail()}`, timeoutMs: 30_000 });
  const callbackOf = (interaction: FakeInteraction) =>
    waitFor(() => fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`), 'POST').find((r) => r.status < 300), { what: `the answer to ${interaction.id}\n${bot.tail()}` });
  /** What the bot told the clicker privately (an ephemeral reply or follow-up). */
  const privateAnswer = (interaction: FakeInteraction): Promise<string> =>
    waitFor(() => {
      const messages = [fake.original(interaction), ...fake.followUps(interaction)].filter((m): m is FakeMessage => m !== undefined && (m.flags & 64) === 64);
      return messages.at(-1)?.content;
    }, { what: `a private answer to ${interaction.id}\n${bot.tail()}` });
  const customIds = (message: FakeMessage): string[] => [...JSON.stringify(message.components).matchAll(/"custom_id":"([^"]+)"/g)].map((m) => m[1]!);
  const labels = (message: FakeMessage): string[] => [...JSON.stringify(message.components).matchAll(/"label":"([^"]+)"/g)].map((m) => m[1]!);
  const jobIdOf = (message: FakeMessage): string => customIds(message).find((id) => id.startsWith('imagine:reroll:'))!.slice('imagine:reroll:'.length);
  const jobState = async (jobId: string) => (await store.readJobs()).find((j) => j.id === jobId)?.state;

  let result: FakeMessage;
  let resultJob: string;

  it('a result carries Upscale ×2, Upscale ×4 and Vary, each with its price', async () => {
    result = await delivered(imagine('a lighthouse in fog'));
    resultJob = jobIdOf(result);
    expect(labels(result)).toEqual(['Reroll', 'Delete', 'Upscale ×2 · 5 credits', 'Upscale ×4 · 10 credits', 'Vary · 8 credits']);
    expect(customIds(result)).toEqual([`imagine:reroll:${resultJob}`, `imagine:delete:${resultJob}`, `imagine:upscale2:${resultJob}`, `imagine:upscale4:${resultJob}`, `imagine:vary:${resultJob}`]);
  });

  it('Upscale ×2: a new placeholder, image_upscale at Runway, the enlarged image delivered and charged', async () => {
    const click = fake.clickButton({ user: bob, messageId: result.id, customId: `imagine:upscale2:${resultJob}` });
    expect((await callbackOf(click)).json).toMatchObject({ type: 5 });
    const upscaled = await delivered(click);
    expect(readPngSize(upscaled.attachments[0]!.bytes)).toEqual({ width: 1920, height: 1080 });
    expect(upscaled.content).toContain('Upscale ×2 · 1920:1080 · 4 credits');
    const call = sim.requests.find((r) => r.path === '/v1/image_upscale');
    expect(call?.body).toMatchObject({ model: 'magnific_precision_upscaler_v2', scaleFactor: 2 });
    const upscaleJob = jobIdOf(upscaled);
    await waitFor(async () => (await store.readLedger()).some((e) => e.job_id === upscaleJob && e.kind === 'settle'), { what: 'the upscale settled' });
    expect((await store.readLedger()).filter((e) => e.job_id === upscaleJob).reduce((sum, e) => sum + e.delta, 0)).toBe(-4);
  });

  it('Vary: the modal shows the prompt and price; its submission runs the edited prompt with the result as reference', async () => {
    const click = fake.clickButton({ user: alice, messageId: result.id, customId: `imagine:vary:${resultJob}` });
    const answer = await callbackOf(click);
    expect(answer.json).toMatchObject({
      type: 9,
      data: { custom_id: `imagine:varyform:${resultJob}`, title: 'Vary · 8 credits', components: [{ type: 1, components: [{ type: 4, custom_id: 'prompt', value: 'a lighthouse in fog' }] }] },
    });
    const creates = () => sim.requests.filter((r) => r.path === '/v1/text_to_image').length;
    const before = creates();
    const submit = fake.submitModal({ user: alice, messageId: result.id, customId: `imagine:varyform:${resultJob}`, fields: { prompt: 'a lighthouse in a storm' } });
    expect((await callbackOf(submit)).json).toMatchObject({ type: 5 });
    await delivered(submit);
    expect(creates()).toBe(before + 1);
    const body = sim.requests.filter((r) => r.path === '/v1/text_to_image').at(-1)?.body as { promptText: string; referenceImages: { uri: string }[] };
    expect(body.promptText).toBe('a lighthouse in a storm');
    expect(body.referenceImages).toHaveLength(1);
  });

  it('Cancel on a placeholder: refused for someone else, done for the requester, refunded', async () => {
    const request = imagine('a slow sunset');
    const placeholder = await waitFor(() => {
      const message = fake.original(request);
      return message && customIds(message).some((id) => id.startsWith('imagine:cancel:')) ? message : undefined;
    }, { what: `a Cancel button on the placeholder\n${bot.tail()}` });
    const cancelId = customIds(placeholder).find((id) => id.startsWith('imagine:cancel:'))!;
    const jobId = cancelId.slice('imagine:cancel:'.length);
    const byBob = fake.clickButton({ user: bob, messageId: placeholder.id, customId: cancelId });
    expect(await privateAnswer(byBob)).toBe(CANCEL_NOT_YOURS.userMessage);
    const byAlice = fake.clickButton({ user: alice, messageId: placeholder.id, customId: cancelId });
    expect(await privateAnswer(byAlice)).toBe('Cancelled by alice. Nothing was charged. Run `/imagine` again for a new picture.');
    await waitFor(async () => (await jobState(jobId)) === 'cancelled', { what: 'the job cancelled' });
    await waitFor(() => fake.original(request)?.content.startsWith('❌ Cancelled by alice'), { what: `the placeholder says so\n${bot.tail()}` });
    expect((await store.readLedger()).filter((e) => e.job_id === jobId).reduce((sum, e) => sum + e.delta, 0)).toBe(0);
    // Cancel on a finished job: nothing to cancel.
    const late = fake.clickButton({ user: alice, messageId: placeholder.id, customId: cancelId });
    expect(await privateAnswer(late)).toMatch(/^This request has already finished/);
  });

  it('tampered ids are refused clearly: garbage, an unknown job, another server’s job', async () => {
    const garbage = fake.clickButton({ user: alice, messageId: result.id, customId: 'imagine:upscale2:../../etc' });
    expect(await privateAnswer(garbage)).toBe(ACTION_BAD_BUTTON.userMessage);
    const badForm = fake.submitModal({ user: alice, messageId: result.id, customId: 'imagine:varyform:x:y', fields: { prompt: 'p' } });
    expect(await privateAnswer(badForm)).toBe(ACTION_BAD_BUTTON.userMessage);
    const unknown = fake.clickButton({ user: alice, messageId: result.id, customId: `imagine:upscale4:${crypto.randomUUID()}` });
    expect(await privateAnswer(unknown)).toBe(ACTION_UNKNOWN_JOB.userMessage);
    // The same message's id replayed from another server: the job is not that community's.
    const elsewhere = fake.sendCommand({ name: 'imagine', user: alice, guildId: GUILDS[1]!.id, channelId: GUILDS[1]!.channelIds[0]!, options: { prompt: 'x' } });
    const otherMessage = await waitFor(() => fake.original(elsewhere), { what: 'a message in the other server' });
    const foreign = fake.clickButton({ user: alice, messageId: otherMessage.id, customId: `imagine:vary:${resultJob}` });
    expect(await privateAnswer(foreign)).toBe(ACTION_UNKNOWN_JOB.userMessage);
  });

  it('after a restart, the old message’s Upscale ×4 still works', async () => {
    await bot.stop();
    bot = await startBot();
    const click = fake.clickButton({ user: alice, messageId: result.id, customId: `imagine:upscale4:${resultJob}` });
    expect((await callbackOf(click)).json).toMatchObject({ type: 5 });
    const upscaled = await delivered(click);
    expect(readPngSize(upscaled.attachments[0]!.bytes)).toEqual({ width: 3840, height: 2160 });
  });
});
