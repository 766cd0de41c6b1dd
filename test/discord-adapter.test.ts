import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { startDiscordAdapter, type DiscordAdapter } from '../adapters/discord/index.ts';
import { ManualClock } from '../src/clock.ts';
import { createLogger } from '../src/log.ts';
import type { ChatSurface, Delivery } from '../src/ports.ts';
import { encodePng } from '../simulator/png.ts';
import { CoreDouble } from './fakes/discord/core-double.ts';
import { FakeDiscord, PERMISSIONS, snowflake, waitFor, type FakeInteraction, type FakeUser } from './fakes/discord/index.ts';
import { specProblems } from './fakes/discord/openapi.ts';
import { memoryCheckpoint } from './support/images.ts';

/**
 * The Discord adapter with the real discord.js client against the fake Discord, and a double of
 * our own BotCore port: what the adapter sends over the wire for each thing a user does.
 */

const alice: FakeUser = { id: snowflake(), username: 'alice', global_name: 'Alice' };
const bob: FakeUser = { id: snowflake(), username: 'bob' };
const moderatorRoleId = snowflake();

const smallPng = (seed: number): Buffer => encodePng(4, 4, new Uint8Array(48).fill(seed));

function deliveryOf(jobId: string, bytes: Uint8Array, userId: string): Delivery {
  return {
    jobId,
    requester: { userId, displayName: 'Alice' },
    files: [{ filename: `${jobId}.png`, contentType: 'image/png', bytes }],
    prompt: 'a koi pond',
    model: 'gen4_image',
    modelLabel: 'Gen-4 Image',
    ratio: '1920:1080',
    seed: 7,
    costCredits: 8,
    caption: '“a koi pond” · Gen-4 Image · 1920:1080 · seed 7 · 8 credits',
  };
}

describe('Discord adapter against the fake Discord', () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let core: CoreDouble;
  const clock = new ManualClock(Date.now());
  const logLines: string[] = [];

  beforeAll(async () => {
    fake = await FakeDiscord.start({
      users: [alice, bob],
      guilds: [{ id: snowflake(), name: 'Koi Club', channelIds: [snowflake()], roles: [{ id: moderatorRoleId, name: 'Mods', permissions: '0' }] }],
    });
    core = new CoreDouble();
    adapter = await startDiscordAdapter({
      token: fake.token,
      apiUrl: fake.apiUrl,
      guildIds: [fake.defaultGuild.id],
      moderatorRoleId,
      mediaOrigins: [fake.cdnOrigin],
      core,
      log: createLogger('debug', (line) => logLines.push(line)),
      clock,
    });
  });

  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  const surface = (): ChatSurface => adapter.surface;
  const callbackOf = (interaction: FakeInteraction) =>
    waitFor(() => fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`), 'POST')[0], { what: `the callback of ${interaction.id}` });

  it('registers /imagine, /credits and /quota to the configured guild, with model choices from the catalogue', () => {
    const commands = fake.registeredCommands(fake.defaultGuild.id) as { name: string; options?: { name: string; choices?: { value: string }[]; autocomplete?: boolean }[] }[];
    expect(commands.map((c) => c.name)).toEqual(['imagine', 'credits', 'quota', 'history']);
    const imagine = commands.find((c) => c.name === 'imagine');
    expect(imagine?.options?.find((o) => o.name === 'model')?.choices?.map((c) => c.value)).toEqual([
      'gen4_image', 'gen4_image_turbo', 'gemini_2.5_flash', 'gemini_image3_pro', 'gemini_image3.1_flash', 'gpt_image_2',
      'gpt_image_2_5_flare', 'gpt_image_2_5_sunburst', 'seedream5_pro', 'seedream5_lite', 'muse_image', 'grok_imagine_image_2',
    ]);
    expect(imagine?.options?.find((o) => o.name === 'ratio')?.autocomplete).toBe(true);
    const put = fake.requestsTo(/^\/applications\/\d+\/guilds\/\d+\/commands$/, 'PUT');
    expect(put).toHaveLength(1);
    expect(specProblems(put[0]!)).toEqual([]);
  });

  it('/imagine defers, hands the CDN images to the core, and delivery replaces the placeholder with the file and buttons', async () => {
    const ref1 = fake.addAttachment('cat.png', smallPng(10), 'image/png');
    const ref2 = fake.addAttachment('garden.png', smallPng(200), 'image/png');
    const before = core.accepted.length;
    const interaction = fake.sendCommand({
      name: 'imagine',
      user: alice,
      options: { prompt: '@cat in the @garden', model: 'gen4_image', ratio: '1280:720', tags: 'cat garden', seed: 7 },
      attachments: { image1: ref1, image2: ref2 },
    });
    const callback = await callbackOf(interaction);
    expect(callback.json).toMatchObject({ type: 5 });
    const accepted = await waitFor(() => core.accepted[before], { what: 'core.imagine' });
    // The placeholder's message id came with the deferral's answer: no extra GET of @original.
    expect(JSON.parse(accepted.placeholder)).toMatchObject({ messageId: fake.original(interaction)?.id });
    expect(fake.requestsTo(/\/messages\/@original$/, 'GET')).toEqual([]);
    expect(accepted.options).toMatchObject({ prompt: '@cat in the @garden', model: 'gen4_image', ratio: '1280:720', seed: 7, tags: ['cat', 'garden'] });
    expect(accepted.references.map((bytes) => Buffer.from(bytes))).toEqual([smallPng(10), smallPng(200)]);
    expect(accepted.requester).toMatchObject({ platform: 'discord', communityId: fake.defaultGuild.id, userId: alice.id, displayName: 'Alice', isModerator: false });
    // The queue position shows on the placeholder.
    await waitFor(() => fake.original(interaction)?.content.includes('position 2'), { what: 'the queued status' });

    const output = smallPng(99);
    await surface().deliver(accepted.placeholder, deliveryOf('job-1', output, alice.id), memoryCheckpoint());
    const original = fake.original(interaction);
    expect(original?.attachments.map((a) => a.bytes)).toEqual([output]);
    expect(original?.content).toContain('a koi pond');
    expect(JSON.stringify(original?.components)).toContain('imagine:reroll:job-1');
    const edit = fake.requestsTo(/^\/webhooks\/\d+\/[^/]+\/messages\/@original$/, 'PATCH').at(-1);
    expect(edit?.files[0]?.bytes).toEqual(output);
    expect(edit?.headers.authorization).toBeUndefined();
    for (const request of fake.requests) expect(specProblems(request), `${request.method} ${request.path}`).toEqual([]);
  });

  it('a problem found by checkImagine is an ephemeral reply, and nothing is deferred or queued', async () => {
    core.checkResult = { ok: false, code: 'request.turbo_needs_reference', reply: { visibility: 'private', text: 'Gen-4 Image Turbo needs a reference image.' } };
    const before = core.accepted.length;
    try {
      const interaction = fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'x', model: 'gen4_image_turbo' } });
      const callback = await callbackOf(interaction);
      expect(callback.json).toMatchObject({ type: 4, data: { content: 'Gen-4 Image Turbo needs a reference image.', flags: 64 } });
      expect(core.accepted.length).toBe(before);
    } finally {
      core.checkResult = { ok: true };
    }
  });

  it('a refusal from core.imagine becomes an ephemeral follow-up and the public placeholder is removed', async () => {
    core.imagineOutcome = { ok: false, code: 'credits.insufficient', reply: { visibility: 'private', text: 'You have 3 credits; this costs 8.' } };
    try {
      const interaction = fake.sendCommand({ name: 'imagine', user: bob, options: { prompt: 'a castle' } });
      const followUp = await waitFor(() => fake.followUps(interaction)[0], { what: 'the ephemeral follow-up' });
      expect(followUp.flags & 64).toBe(64);
      expect(followUp.content).toBe('You have 3 credits; this costs 8.');
      await waitFor(() => fake.original(interaction)?.deleted, { what: 'the placeholder deleted' });
    } finally {
      core.imagineOutcome = { ok: true, jobId: 'job-1', position: 2, reservedCredits: 8 };
    }
  });

  it("ratio autocomplete offers the chosen model's ratios with friendly names", async () => {
    const interaction = fake.sendAutocomplete({ name: 'imagine', user: alice, options: { prompt: 'x', model: 'gemini_2.5_flash' }, focused: { name: 'ratio', value: '' } });
    await callbackOf(interaction);
    const choices = fake.interaction(interaction.token)?.choices as { name: string; value: string }[];
    expect(choices.map((c) => c.value)).toEqual(['1344:768', '768:1344', '1024:1024', '1184:864', '864:1184', '1536:672', '832:1248', '1248:832', '896:1152', '1152:896']);
    expect(choices.find((c) => c.value === '1024:1024')?.name).toContain('square');
    const typed = fake.sendAutocomplete({ name: 'imagine', user: alice, options: { prompt: 'x' }, focused: { name: 'ratio', value: 'portrait' } });
    await callbackOf(typed);
    const gen4Portraits = fake.interaction(typed.token)?.choices as { value: string }[];
    expect(gen4Portraits.map((c) => c.value)).toContain('1080:1920');
    expect(gen4Portraits.map((c) => c.value)).not.toContain('1920:1080');
  });

  it('in a direct message the bot says it works in servers', async () => {
    const interaction = fake.sendCommand({ name: 'imagine', user: alice, guildId: null, options: { prompt: 'x' } });
    const callback = await callbackOf(interaction);
    expect(callback.json).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(JSON.stringify(callback.json)).toContain('servers');
  });

  it('moderators are members with Manage Server or the moderator role; /quota passes raw amounts to the core', async () => {
    const byMember = fake.sendCommand({ name: 'quota', subcommand: 'grant', user: bob, options: { user: alice, amount: 20 } });
    expect((await callbackOf(byMember)).json).toMatchObject({ type: 4, data: { content: 'Only moderators can change quotas.', flags: 64 } });
    const byManager = fake.sendCommand({ name: 'quota', subcommand: 'grant', user: bob, permissions: PERMISSIONS.manageGuild, options: { user: alice, amount: 20 } });
    expect((await callbackOf(byManager)).json).toMatchObject({ type: 4, data: { content: 'done: grant' } });
    const byRole = fake.sendCommand({ name: 'quota', subcommand: 'allowance', user: bob, roles: [moderatorRoleId], options: { amount: 30, period: 'week' } });
    expect((await callbackOf(byRole)).json).toMatchObject({ type: 4, data: { content: 'done: allowance' } });
    expect(core.quotaCalls.map((c) => [c.requester.isModerator, c.command])).toEqual([
      [false, { action: 'grant', userId: alice.id, userName: 'Alice', amount: '20' }],
      [true, { action: 'grant', userId: alice.id, userName: 'Alice', amount: '20' }],
      [true, { action: 'allowance', amount: '30', period: 'week' }],
    ]);
    const credits = fake.sendCommand({ name: 'credits', user: bob, options: { user: alice } });
    expect((await callbackOf(credits)).json).toMatchObject({ type: 4, data: { content: 'balance of Alice: 42 credits', flags: 64 } });
  });

  it('past the 15-minute token the result goes to the channel, mentions the user, and a second delivery does not repeat it', async () => {
    const interaction = fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'late koi' } });
    const before = core.accepted.length;
    const accepted = await waitFor(() => core.accepted[before], { what: 'core.imagine' });
    const placeholderMessage = await waitFor(() => fake.original(interaction), { what: 'the placeholder' });
    clock.advance(16 * 60_000);
    try {
      const checkpoint = memoryCheckpoint();
      const output = smallPng(77);
      await surface().deliver(accepted.placeholder, deliveryOf('job-late', output, alice.id), checkpoint);
      await surface().deliver(accepted.placeholder, deliveryOf('job-late', output, alice.id), checkpoint);
      const posted = fake.channelMessages().filter((m) => m.attachments.some((a) => a.bytes.equals(output)));
      expect(posted).toHaveLength(1);
      expect(posted[0]?.content).toContain(`<@${alice.id}>`);
      const post = fake.requestsTo(/^\/channels\/\d+\/messages$/, 'POST').at(-1);
      expect(post?.headers.authorization).toBe(`Bot ${fake.token}`);
      expect(post?.json).toMatchObject({ allowed_mentions: { users: [alice.id] } });
      expect(specProblems(post!)).toEqual([]);
      expect(placeholderMessage.deleted).toBe(true);
    } finally {
      clock.advance(-16 * 60_000);
    }
  });

  it('when Discord says the token is dead (401, 50027) delivery and failures fall back to the channel', async () => {
    const interaction = fake.sendCommand({ name: 'imagine', user: bob, options: { prompt: 'expired' } });
    const before = core.accepted.length;
    const accepted = await waitFor(() => core.accepted[before], { what: 'core.imagine' });
    const delivered = fake.sendCommand({ name: 'imagine', user: bob, options: { prompt: 'expired too' } });
    const acceptedToDeliver = await waitFor(() => core.accepted[before + 1], { what: 'the second core.imagine' });
    await waitFor(() => fake.original(delivered)?.content.includes('position 2'), { what: 'the second queued status' });
    fake.expireInteractionTokens();
    await surface().showFailure(accepted.placeholder, { code: 'runway.safety_input', userMessage: 'Runway’s safety filter refused this prompt. Your credits were refunded.' });
    const notice = fake.channelMessages().find((m) => m.content.includes('safety filter'));
    expect(notice?.content).toContain(`<@${bob.id}>`);
    expect(fake.requestsTo(/\/messages\/@original$/, 'PATCH').at(-1)?.status).toBe(401);
    // The stale public placeholder goes once the notice is in the channel.
    expect(fake.original(interaction)?.deleted).toBe(true);

    const output = smallPng(41);
    const editsTo = (token: string) => fake.requestsTo(new RegExp(`^/webhooks/\\d+/${token}/messages/@original$`), 'PATCH');
    await surface().deliver(acceptedToDeliver.placeholder, deliveryOf('job-dead', output, bob.id), memoryCheckpoint());
    const posted = fake.channelMessages().filter((m) => m.attachments.some((a) => a.bytes.equals(output)));
    expect(posted).toHaveLength(1);
    expect(posted[0]?.content).toContain(`<@${bob.id}>`);
    // The queued status went through; the delivery's edit met the dead token once.
    expect(editsTo(delivered.token).map((r) => r.status)).toEqual([200, 401]);
    // A token Discord called dead is not tried again: every 401 counts towards Discord's invalid-request ban.
    await surface().showStatus(acceptedToDeliver.placeholder, { kind: 'running', progress: 0.5 });
    expect(editsTo(delivered.token)).toHaveLength(2);
  });

  it('progress edits are throttled within a phase, and a change of phase always shows', async () => {
    const interaction = fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'slow koi' } });
    const before = core.accepted.length;
    const accepted = await waitFor(() => core.accepted[before], { what: 'core.imagine' });
    await waitFor(() => fake.original(interaction)?.content.includes('position 2'), { what: 'the queued status' });
    const shown = () =>
      fake.requestsTo(new RegExp(`^/webhooks/\\d+/${interaction.token}/messages/@original$`), 'PATCH').map((r) => (r.json as { content: string }).content);
    await surface().showStatus(accepted.placeholder, { kind: 'starting' });
    await surface().showStatus(accepted.placeholder, { kind: 'running', progress: 0.1 });
    await surface().showStatus(accepted.placeholder, { kind: 'running', progress: 0.2 });
    clock.advance(2_001);
    await surface().showStatus(accepted.placeholder, { kind: 'running', progress: 0.3 });
    await surface().showStatus(accepted.placeholder, { kind: 'running', progress: 0.3 });
    expect(shown()).toEqual(['⏳ Queued: position 2 in line.', '🎨 Starting the generation…', '🎨 Generating… 10%', '🎨 Generating… 30%']);
  });

  it('a result larger than attachment_size_limit is re-encoded to fit, never dropped', async () => {
    const limit = 60_000;
    const interaction = fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'noise' }, attachmentSizeLimit: limit });
    const before = core.accepted.length;
    const accepted = await waitFor(() => core.accepted[before], { what: 'core.imagine' });
    const big = encodePng(400, 300, new Uint8Array(randomBytes(400 * 300 * 3)));
    expect(big.length).toBeGreaterThan(limit);
    await surface().deliver(accepted.placeholder, deliveryOf('job-big', big, alice.id), memoryCheckpoint());
    const attachments = fake.original(interaction)?.attachments ?? [];
    expect(attachments).toHaveLength(1);
    const attachment = attachments[0]!;
    expect(attachment.bytes.length).toBeLessThanOrEqual(limit);
    const meta = await sharp(attachment.bytes).metadata();
    expect(['webp', 'jpeg']).toContain(meta.format);
    expect(meta.width).toBeGreaterThan(0);
  });

  it('delete: others are refused privately, the requester removes the result; reroll asks the core with a new placeholder', async () => {
    core.owners.set('job-del', alice.id);
    const result = fake.channelMessages().at(-1)!;
    const refused = fake.clickButton({ user: bob, messageId: result.id, customId: 'imagine:delete:job-del' });
    expect((await callbackOf(refused)).json).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(result.deleted).toBe(false);
    const reroll = fake.clickButton({ user: bob, messageId: result.id, customId: 'imagine:reroll:job-del' });
    expect((await callbackOf(reroll)).json).toMatchObject({ type: 5 });
    const rerolled = await waitFor(() => core.rerolls.find((r) => r.jobId === 'job-del'), { what: 'core.reroll' });
    expect(rerolled.requester.userId).toBe(bob.id);
    expect(JSON.parse(rerolled.placeholder)).toMatchObject({ interactionToken: reroll.token });
    const removed = fake.clickButton({ user: alice, messageId: result.id, customId: 'imagine:delete:job-del' });
    expect((await callbackOf(removed)).json).toMatchObject({ type: 6 });
    await waitFor(() => result.deleted, { what: 'the result deleted' });
  });

  it('rides out 429s and a dropped gateway connection', async () => {
    fake.injectFault({ path: /^\/interactions\/\d+\/[^/]+\/callback$/, status: 429, retryAfterSeconds: 0.05 });
    fake.injectFault({ path: /\/messages\/@original$/, method: 'PATCH', status: 502 });
    fake.dropGateway();
    const interaction = fake.sendCommand({ name: 'imagine', user: alice, options: { prompt: 'after the storm' } });
    const before = core.accepted.length;
    const accepted = await waitFor(() => core.accepted[before], { what: 'core.imagine after resume' });
    expect(fake.gateway.resumeCount).toBeGreaterThanOrEqual(1);
    await surface().deliver(accepted.placeholder, deliveryOf('job-storm', smallPng(5), alice.id), memoryCheckpoint());
    expect(fake.original(interaction)?.attachments[0]?.bytes).toEqual(smallPng(5));
    const callbacks = fake.requestsTo(new RegExp(`^/interactions/${interaction.id}/`));
    // 200, not 204: the deferral asks for @original in the answer (`with_response`).
    expect(callbacks.map((r) => r.status)).toEqual([429, 200]);
  });
});

describe('Discord adapter start-up', () => {
  it('logs one clear line and fails when the token is rejected', async () => {
    const fake = await FakeDiscord.start({ token: 'the-right-token' });
    const lines: string[] = [];
    try {
      await expect(
        startDiscordAdapter({ token: 'a-wrong-token', apiUrl: fake.apiUrl, guildIds: [], mediaOrigins: [], core: new CoreDouble(), log: createLogger('info', (l) => lines.push(l)) }),
      ).rejects.toMatchObject({ code: 'discord.token_rejected' });
      const errors = lines.map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain('DISCORD_TOKEN was rejected');
      expect(lines.join('\n')).not.toContain('a-wrong-token');
    } finally {
      await fake.close();
    }
  });
});
