import RunwayML, { APIConnectionError, APIError, toFile } from '@runwayml/sdk';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { encodePng, readPngSize, startRunwaySimulator, type RunwaySimulator, type SimulatorOptions } from '../simulator/index.ts';
import { waitFor } from './support/wait-for.ts';

const API_KEY = 'key_simulator_test';
let sim: RunwaySimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}) {
  const clock = new ManualClock();
  sim = await startRunwaySimulator({ apiKey: API_KEY, pendingMs: 300, generationMs: 4000, clock, ...options });
  const client = new RunwayML({ apiKey: API_KEY, baseURL: sim.url, maxRetries: 0 });
  return { sim, clock, client };
}

/** A >512-byte PNG made with the simulator's own encoder. */
function referencePng(): Buffer {
  const width = 32;
  const height = 32;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 251;
  return encodePng(width, height, rgb);
}

async function uploadReference(client: RunwayML): Promise<string> {
  const { uri } = await client.uploads.createEphemeral({ file: await toFile(referencePng(), 'ref.png', { type: 'image/png' }) });
  return uri;
}

async function download(url: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

async function generate(client: RunwayML, clock: ManualClock, params: Parameters<RunwayML['textToImage']['create']>[0]) {
  const created = await client.textToImage.create(params);
  clock.advance(300 + 4000);
  return client.tasks.retrieve(created.id);
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('encodePng', () => {
  it('writes a PNG that a real decoder reads back pixel for pixel', async () => {
    const rgb = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 29) % 256);
    const png = encodePng(5, 3, rgb);
    expect(readPngSize(png)).toEqual({ width: 5, height: 3 });
    const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(decoded.info).toMatchObject({ width: 5, height: 3, channels: 3 });
    expect([...decoded.data]).toEqual([...rgb]);
  });
});

describe('Runway simulator with the real SDK', () => {
  it('uploads a reference, generates with its runway:// URI and serves a real PNG output', async () => {
    const { sim, clock, client } = await start();
    const uri = await uploadReference(client);
    expect(uri).toMatch(/^runway:\/\//);
    expect(sim.uploads()).toEqual([{ uri, filename: 'ref.png', bytes: referencePng() }]);

    const created = await client.textToImage.create({
      model: 'gen4_image',
      promptText: 'a koi pond in the style of @cat',
      ratio: '1920:1080',
      referenceImages: [{ uri, tag: 'cat' }],
      seed: 42,
    });
    expect(created.estimatedCost).toEqual({ credits: 8 });
    expect((await client.tasks.retrieve(created.id)).status).toBe('PENDING');

    clock.advance(300 + 1000);
    const running = await client.tasks.retrieve(created.id);
    expect(running).toMatchObject({ status: 'RUNNING', progress: 0.25 });
    clock.advance(1000);
    expect(await client.tasks.retrieve(created.id)).toMatchObject({ status: 'RUNNING', progress: 0.5 });

    clock.advance(2000);
    const done = await client.tasks.retrieve(created.id);
    if (done.status !== 'SUCCEEDED') throw new Error(`expected SUCCEEDED, got ${done.status}`);
    expect(done.cost).toEqual({ credits: 8 });
    expect(new Date(done.createdAt).getTime()).toBe(clock.now() - 4300);
    expect(done.output).toHaveLength(1);
    const output = await download(done.output[0] ?? '');
    expect(output.status).toBe(200);
    expect(readPngSize(output.bytes)).toEqual({ width: 480, height: 270 });
    expect((await sharp(output.bytes).metadata()).format).toBe('png');

    // What crossed the wire: the reference went as the upload's URI, with Runway's version header.
    const create = sim.requests.find((r) => r.method === 'POST' && r.path === '/v1/text_to_image');
    expect(create?.headers['x-runway-version']).toBe('2024-11-06');
    expect(create?.headers['authorization']).toBe(`Bearer ${API_KEY}`);
    expect(create?.body).toMatchObject({ referenceImages: [{ uri, tag: 'cat' }] });
    const storage = sim.requests.find((r) => r.path.startsWith('/storage/'));
    expect(storage?.headers['authorization']).toBeUndefined();
    expect(storage?.body).toMatchObject({ fileBytes: referencePng().length });
  });

  it('draws the same picture for the same prompt and seed, and a different one for another seed', async () => {
    const { clock, client } = await start();
    const outputs: Buffer[] = [];
    for (const seed of [1, 1, 2]) {
      const task = await generate(client, clock, { model: 'gen4_image', promptText: 'a lighthouse', ratio: '1280:720', seed });
      if (task.status !== 'SUCCEEDED') throw new Error(task.status);
      outputs.push((await download(task.output[0] ?? '')).bytes);
    }
    expect(outputs[0]?.equals(outputs[1] ?? Buffer.alloc(0))).toBe(true);
    expect(outputs[0]?.equals(outputs[2] ?? Buffer.alloc(0))).toBe(false);
  });

  it('output URLs expire and refuse a forged signature', async () => {
    const { clock, client } = await start({ outputTtlMs: 60_000 });
    const task = await generate(client, clock, { model: 'gen4_image', promptText: 'a fox', ratio: '1024:1024' });
    if (task.status !== 'SUCCEEDED') throw new Error(task.status);
    const url = task.output[0] ?? '';
    expect((await download(url)).status).toBe(200);
    expect((await download(url.replace(/sig=[0-9a-f]/, 'sig=x'))).status).toBe(403);
    const later = new URL(url);
    later.searchParams.set('expires', String(clock.now() + 10 * 60_000));
    expect((await download(later.toString())).status).toBe(403);
    clock.advance(60_000);
    expect((await download(url)).status).toBe(403);
    // A fresh read of the task gives a fresh URL that works again.
    const again = await client.tasks.retrieve(task.id);
    if (again.status !== 'SUCCEEDED') throw new Error(again.status);
    expect((await download(again.output[0] ?? '')).status).toBe(200);
  });

  it('rejects, with 400, what Runway rejects, and creates no task', async () => {
    const { sim, client } = await start();
    const uri = await uploadReference(client);
    const bad: Parameters<RunwayML['textToImage']['create']>[0][] = [
      { model: 'gen4_image', promptText: 'x', ratio: '1920:1080', referenceImages: [{ uri: 'https://cdn.discordapp.com/a.png' }] },
      { model: 'gen4_image', promptText: 'x', ratio: '1920:1080', referenceImages: [{ uri: 'runway://simulator/never-issued' }] },
      { model: 'gemini_2.5_flash', promptText: 'x', ratio: '1920:1080' as '1344:768' },
      { model: 'gen4_image_turbo', promptText: 'x', ratio: '1920:1080', referenceImages: [] },
      { model: 'gen4_image', promptText: 'x', ratio: '1920:1080', referenceImages: [{ uri, tag: 'my-cat' }] },
      { model: 'gen4_image', promptText: 'x'.repeat(1001), ratio: '1920:1080' },
      { model: 'gen4_image', promptText: '', ratio: '1920:1080' },
      { model: 'gen4_image', promptText: 'x', ratio: '1920:1080', seed: 2 ** 32 },
      { model: 'gemini_2.5_flash', promptText: 'x', ratio: '1344:768', seed: 1 } as never,
      { model: 'gen5_imaginary', promptText: 'x', ratio: '1920:1080' } as never,
    ];
    for (const params of bad) {
      const error = await caught(client.textToImage.create(params));
      expect(error, JSON.stringify(params).slice(0, 120)).toBeInstanceOf(APIError);
      expect((error as APIError).status).toBe(400);
      expect((error as APIError).error).toMatchObject({ error: expect.any(String), issues: expect.any(Array) });
    }
    expect(sim.tasks()).toEqual([]);
    // The same turbo request with a reference is fine.
    await client.textToImage.create({ model: 'gen4_image_turbo', promptText: 'x', ratio: '1920:1080', referenceImages: [{ uri }] });
    expect(sim.tasks()).toHaveLength(1);
  });

  it('refuses uploads under 512 bytes, as Runway does', async () => {
    const { sim, client } = await start();
    const error = await caught(client.uploads.createEphemeral({ file: await toFile(Buffer.alloc(100), 'tiny.png') }));
    expect((error as APIError).status).toBe(400);
    expect(sim.uploads()).toEqual([]);
  });

  it('prompt keywords inject moderation, internal and cancellation outcomes', async () => {
    const { clock, client } = await start({ maxConcurrent: 10 });
    const cases = [
      ['sim:safety', 'FAILED', 'SAFETY.INPUT.TEXT'],
      ['sim:output-safety', 'FAILED', 'SAFETY.OUTPUT.IMAGE'],
      ['sim:internal', 'FAILED', 'INTERNAL.BAD_OUTPUT.CODE01'],
      ['sim:cancel', 'CANCELLED', undefined],
    ] as const;
    const ids = [];
    for (const [keyword] of cases) {
      ids.push((await client.textToImage.create({ model: 'gen4_image', promptText: `a cat ${keyword}`, ratio: '1280:720' })).id);
    }
    clock.advance(5000);
    for (const [index, [, status, failureCode]] of cases.entries()) {
      const task = await client.tasks.retrieve(ids[index] ?? '');
      expect(task.status).toBe(status);
      if (task.status === 'FAILED') {
        expect(task.failureCode).toBe(failureCode);
        expect(task.failure.length).toBeGreaterThan(10);
        // Runway bills what its moderation declined like a finished image; other failures cost nothing.
        expect(task.cost).toEqual({ credits: failureCode?.startsWith('SAFETY.') ? 5 : 0 });
      }
    }
    const limited = await caught(client.textToImage.create({ model: 'gen4_image', promptText: 'sim:429', ratio: '1280:720' }));
    expect((limited as APIError).status).toBe(429);
    expect((limited as APIError).headers?.get('retry-after-ms')).toBe('50');
    const broken = await caught(client.textToImage.create({ model: 'gen4_image', promptText: 'sim:500', ratio: '1280:720' }));
    expect((broken as APIError).status).toBe(500);
  });

  it('holds tasks beyond the concurrency limit in THROTTLED, first come first served', async () => {
    const { sim, clock, client } = await start({ maxConcurrent: 1 });
    const first = await client.textToImage.create({ model: 'gen4_image', promptText: 'one', ratio: '1280:720' });
    clock.advance(10);
    const second = await client.textToImage.create({ model: 'gen4_image', promptText: 'two', ratio: '1280:720' });
    const other = await client.textToImage.create({ model: 'gemini_2.5_flash', promptText: 'three', ratio: '1344:768' });
    clock.advance(400);
    expect((await client.tasks.retrieve(first.id)).status).toBe('RUNNING');
    expect((await client.tasks.retrieve(second.id)).status).toBe('THROTTLED');
    expect((await client.tasks.retrieve(other.id)).status).toBe('RUNNING'); // limits are per model
    clock.advance(4000);
    expect((await client.tasks.retrieve(first.id)).status).toBe('SUCCEEDED');
    expect(await client.tasks.retrieve(second.id)).toMatchObject({ status: 'RUNNING' });
    expect(sim.task(second.id)?.startedAtMs).toBe(sim.task(first.id)?.finishedAtMs);
  });

  it('DELETE cancels a running task, frees its slot, and the task is gone', async () => {
    const { sim, clock, client } = await start({ maxConcurrent: 1 });
    const first = await client.textToImage.create({ model: 'gen4_image', promptText: 'one', ratio: '1280:720' });
    const second = await client.textToImage.create({ model: 'gen4_image', promptText: 'two', ratio: '1280:720' });
    clock.advance(1000);
    expect((await client.tasks.retrieve(second.id)).status).toBe('THROTTLED');
    await client.tasks.delete(first.id);
    expect(sim.task(first.id)?.status).toBe('CANCELLED');
    expect(((await caught(client.tasks.retrieve(first.id))) as APIError).status).toBe(404);
    clock.advance(1);
    expect((await client.tasks.retrieve(second.id)).status).toBe('RUNNING');
  });

  it('failNextCreate answers 429 with Retry-After, or drops the connection before or after creating', async () => {
    const { sim, client } = await start();
    const params = { model: 'gen4_image', promptText: 'a boat', ratio: '1280:720' } as const;
    sim.failNextCreate({ status: 429, retryAfterMs: 20 });
    sim.failNextCreate({ dropConnection: true });
    sim.failNextCreate({ dropConnection: true, afterCreate: true });
    const limited = (await caught(client.textToImage.create(params))) as APIError;
    expect(limited.status).toBe(429);
    expect(limited.headers?.get('retry-after-ms')).toBe('20');
    expect(await caught(client.textToImage.create(params))).toBeInstanceOf(APIConnectionError);
    expect(sim.tasks()).toHaveLength(0);
    expect(await caught(client.textToImage.create(params))).toBeInstanceOf(APIConnectionError);
    expect(sim.tasks()).toHaveLength(1); // the answer was lost but the task exists: why creates are not retried
    // Queue consumed: the next create succeeds.
    await client.textToImage.create(params);
    expect(sim.tasks()).toHaveLength(2);
  });

  it('holds uploads, creates and output downloads until released; a held create whose client hangs up makes no task', async () => {
    const { sim, clock, client } = await start();
    const params = { model: 'gen4_image', promptText: 'a boat', ratio: '1280:720' } as const;
    const creates = sim.holdCreates();
    const controller = new AbortController();
    const abandoned = caught(client.textToImage.create(params, { signal: controller.signal, maxRetries: 0 }));
    await waitFor('the create to be held', () => creates.waiting === 1);
    controller.abort();
    await abandoned;
    await waitFor('the held create to be dropped', () => creates.waiting === 0);
    creates.release();
    expect(sim.tasks()).toHaveLength(0);
    const task = await client.textToImage.create(params); // released: later creates pass at once
    expect(creates.arrived).toBe(2);

    const uploads = sim.holdUploads();
    const uploading = uploadReference(client);
    await waitFor('the upload to be held', () => uploads.waiting === 1);
    expect(sim.uploads()).toHaveLength(0);
    uploads.release();
    expect(await uploading).toMatch(/^runway:\/\//);
    expect(sim.uploads()).toHaveLength(1);

    clock.advance(300 + 4000);
    const done = await client.tasks.retrieve(task.id);
    if (done.status !== 'SUCCEEDED') throw new Error(done.status);
    const outputs = sim.holdOutputs();
    const downloading = download(done.output[0] ?? '');
    await waitFor('the download to be held', () => outputs.waiting === 1);
    outputs.release();
    expect((await downloading).status).toBe(200);
  });

  it('failNextPoll injects errors into the next polls only', async () => {
    const { sim, client } = await start();
    const task = await client.textToImage.create({ model: 'gen4_image', promptText: 'a boat', ratio: '1280:720' });
    sim.failNextPoll({ status: 503, retryAfterMs: 30 });
    const error = (await caught(client.tasks.retrieve(task.id))) as APIError;
    expect(error.status).toBe(503);
    expect(error.headers?.get('retry-after-ms')).toBe('30');
    expect((await client.tasks.retrieve(task.id)).status).toBe('PENDING');
  });

  it('reports the organisation through the SDK, and enforces the daily generation limit', async () => {
    const { clock, client } = await start({ maxDailyGenerations: 2, creditBalance: 500 });
    await generate(client, clock, { model: 'gen4_image', promptText: 'a', ratio: '1920:1080' });
    await client.textToImage.create({ model: 'gen4_image', promptText: 'b', ratio: '1280:720' });
    const org = await client.organization.retrieve();
    expect(org.creditBalance).toBe(492);
    expect(org.tier.models['gen4_image']).toEqual({ maxConcurrentGenerations: 2, maxDailyGenerations: 2 });
    expect(org.usage.models['gen4_image']).toEqual({ dailyGenerations: 2 });
    expect(org.usage.models['gemini_2.5_flash']).toEqual({ dailyGenerations: 0 });
    const limited = (await caught(client.textToImage.create({ model: 'gen4_image', promptText: 'c', ratio: '1280:720' }))) as APIError;
    expect(limited.status).toBe(429);
    clock.advance(24 * 60 * 60 * 1000);
    await client.textToImage.create({ model: 'gen4_image', promptText: 'c', ratio: '1280:720' });
  });

  it('reports a daily limit of null as Runway does for no limit, and a top-up in the balance', async () => {
    const { sim, client } = await start({ maxDailyGenerations: null, creditBalance: 5 });
    expect((await client.organization.retrieve()).tier.models['gen4_image']).toEqual({ maxConcurrentGenerations: 2, maxDailyGenerations: null });
    await client.textToImage.create({ model: 'gen4_image', promptText: 'a', ratio: '1280:720' });
    // 5 credits are committed to the first task: the account cannot start a second one.
    expect(((await caught(client.textToImage.create({ model: 'gen4_image', promptText: 'b', ratio: '1280:720' }))) as APIError).status).toBe(400);
    sim.topUp(5);
    expect((await client.organization.retrieve()).creditBalance).toBe(10);
    await client.textToImage.create({ model: 'gen4_image', promptText: 'b', ratio: '1280:720' });
    expect((await client.organization.retrieve()).usage.models['gen4_image']).toEqual({ dailyGenerations: 2 });
  });

  it('refuses requests without the API key', async () => {
    const { sim } = await start();
    const stranger = new RunwayML({ apiKey: 'key_wrong', baseURL: sim.url, maxRetries: 0 });
    expect(((await caught(stranger.organization.retrieve())) as APIError).status).toBe(401);
  });

  it('fails a task whose reference is not an image with ASSET.INVALID', async () => {
    const { clock, client } = await start();
    const { uri } = await client.uploads.createEphemeral({ file: await toFile(Buffer.alloc(1024, 'a'), 'notes.png', { type: 'image/png' }) });
    const task = await generate(client, clock, { model: 'gen4_image_turbo', promptText: 'x', ratio: '1280:720', referenceImages: [{ uri }] });
    expect(task).toMatchObject({ status: 'FAILED', failureCode: 'ASSET.INVALID' });
  });
});

describe('POST /v1/image_upscale', () => {
  /** A PNG of `width`×`height` uploaded to the simulator: its runway:// URI. */
  async function uploadSized(client: RunwayML, width: number, height: number): Promise<string> {
    const png = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 60, b: 10 } } }).png().toBuffer();
    return (await client.uploads.createEphemeral({ file: await toFile(png, 'in.png', { type: 'image/png' }) })).uri;
  }

  it('makes a task with estimatedCost whose output is the input enlarged by scaleFactor', async () => {
    const { sim, clock, client } = await start();
    const imageUri = await uploadSized(client, 400, 300);
    const created = await client.imageUpscale.create({ model: 'magnific_precision_upscaler_v2', imageUri, scaleFactor: 4 });
    expect(created.estimatedCost).toEqual({ credits: 8 });
    expect((await client.tasks.retrieve(created.id)).status).toBe('PENDING');
    clock.advance(300 + 4000);
    const done = await client.tasks.retrieve(created.id);
    if (done.status !== 'SUCCEEDED') throw new Error(`expected SUCCEEDED, got ${done.status}`);
    expect(done.cost).toEqual({ credits: 8 });
    const output = await download(done.output[0]!);
    expect(output.status).toBe(200);
    expect(readPngSize(output.bytes)).toEqual({ width: 1600, height: 1200 });
    expect(sim.task(created.id)).toMatchObject({ model: 'magnific_precision_upscaler_v2', ratio: '1600:1200' });
    // scaleFactor defaults to 2.
    const byDefault = await client.imageUpscale.create({ model: 'magnific_precision_upscaler_v2', imageUri });
    expect(byDefault.estimatedCost).toEqual({ credits: 4 });
  });

  it('validates like Runway: input sides 300–8,000 px, output ≤ 25.3 MP, the model, the factor, unknown keys and unknown uploads', async () => {
    const { client } = await start();
    const refused = async (body: Record<string, unknown>): Promise<{ status: number | undefined; issues: unknown }> => {
      try {
        await client.post('/v1/image_upscale', { body, maxRetries: 0 });
      } catch (error) {
        if (error instanceof APIError) return { status: error.status, issues: (error.error as { issues?: unknown }).issues };
        throw error;
      }
      throw new Error('expected a 400');
    };
    const small = await uploadSized(client, 299, 400);
    const big = await uploadSized(client, 1920, 1080);
    const model = 'magnific_precision_upscaler_v2';
    expect(await refused({ model, imageUri: small })).toEqual({ status: 400, issues: [{ path: ['imageUri'], message: 'Each input dimension must be between 300px and 8000px (got 299x400)' }] });
    expect(await refused({ model, imageUri: big, scaleFactor: 4 })).toEqual({ status: 400, issues: [{ path: ['scaleFactor'], message: 'Output width times height cannot exceed 25300000 pixels (7680x4320)' }] });
    expect((await refused({ model, imageUri: big, scaleFactor: 3 })).status).toBe(400);
    expect((await refused({ model: 'gen4_image', imageUri: big })).status).toBe(400);
    expect((await refused({ model, imageUri: big, seed: 3 })).status).toBe(400);
    expect((await refused({ model, imageUri: big, sharpen: 101 })).status).toBe(400);
    expect(await refused({ model, imageUri: 'runway://simulator/unknown' })).toEqual({
      status: 400,
      issues: [{ path: ['imageUri'], message: 'imageUri must be a live runway:// upload or a base64 data URI of an image (up to 5MB)' }],
    });
    await expect(client.imageUpscale.create({ model, imageUri: big, scaleFactor: 2 })).resolves.toMatchObject({ estimatedCost: { credits: 4 } });
  });
});
