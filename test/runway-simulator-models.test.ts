/**
 * The simulator speaks each model of the catalogue as the SDK's types describe it: it refuses, with
 * Runway's 400 body as the real SDK parses it, what Runway refuses for that model, and honours what
 * it takes: its ratios, `outputCount` (several outputs, each billed), `auto` sizes.
 */
import RunwayML, { APIError, toFile } from '@runwayml/sdk';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { catalogueCost, findModel, MODELS } from '../src/models.ts';
import { encodePng, startRunwaySimulator, type RunwaySimulator } from '../simulator/index.ts';

const API_KEY = 'key_simulator_models';
let sim: RunwaySimulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start() {
  const clock = new ManualClock();
  sim = await startRunwaySimulator({ apiKey: API_KEY, pendingMs: 300, generationMs: 4000, clock, outputScale: 0.05 });
  const client = new RunwayML({ apiKey: API_KEY, baseURL: sim.url, maxRetries: 0 });
  return { sim, clock, client };
}

type CreateParams = Parameters<RunwayML['textToImage']['create']>[0];

async function uploadReference(client: RunwayML): Promise<string> {
  const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37) % 251);
  const { uri } = await client.uploads.createEphemeral({ file: await toFile(encodePng(32, 32, rgb), 'ref.png', { type: 'image/png' }) });
  return uri;
}

async function refusal(client: RunwayML, params: unknown): Promise<{ status: number | undefined; error: unknown }> {
  try {
    await client.textToImage.create(params as CreateParams);
  } catch (error) {
    if (!(error instanceof APIError)) throw error;
    return { status: error.status, error: error.error };
  }
  throw new Error(`expected a refusal of ${JSON.stringify(params).slice(0, 200)}`);
}

async function download(url: string): Promise<Buffer> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`HTTP ${response.status} for an output`);
  return Buffer.from(await response.arrayBuffer());
}

const failed = (...issues: { path: (string | number)[]; message: string }[]) => ({ status: 400, error: { error: 'Validation of body failed', issues } });

describe('the simulator, per model', () => {
  it('takes a plain request for every model at its default ratio, estimating and charging its catalogue price', async () => {
    const { sim, clock, client } = await start();
    const created: { id: string; estimate: number }[] = [];
    for (const model of MODELS) {
      const references = model.minReferences > 0 ? [{ uri: await uploadReference(client) }] : undefined;
      const params = { model: model.id, promptText: 'a lighthouse', ratio: model.defaultRatio, ...(references ? { referenceImages: references } : {}) };
      const task = await client.textToImage.create(params as CreateParams);
      created.push({ id: task.id, estimate: task.estimatedCost.credits });
    }
    expect(created.map((c) => c.estimate)).toEqual(MODELS.map((m) => catalogueCost(m, m.defaultRatio, m.minReferences)));
    clock.advance(300 + 4000 * MODELS.length);
    for (const { id, estimate } of created) expect(await client.tasks.retrieve(id)).toMatchObject({ status: 'SUCCEEDED', cost: { credits: estimate } });
    expect(sim.tasks()).toHaveLength(12);
  });

  it('honours outputCount: each output its own picture, each billed, the estimate and the cost alike', async () => {
    const { clock, client } = await start();
    const task = await client.textToImage.create({ model: 'gemini_image3_pro', promptText: 'four foxes', ratio: '1024:1024', outputCount: 4 });
    expect(task.estimatedCost).toEqual({ credits: 80 });
    clock.advance(300 + 4000);
    const done = await client.tasks.retrieve(task.id);
    if (done.status !== 'SUCCEEDED') throw new Error(done.status);
    expect(done.cost).toEqual({ credits: 80 });
    expect(done.output).toHaveLength(4);
    const pictures = await Promise.all(done.output.map(download));
    expect(new Set(pictures.map((p) => p.toString('base64'))).size).toBe(4);
    expect(done.output.map((url) => new URL(url).pathname)).toEqual([0, 1, 2, 3].map((i) => `/outputs/${task.id}/${i}.png`));
  });

  it('bills per reference where the model does, and draws an `auto` ratio as a square', async () => {
    const { clock, client } = await start();
    const uri = await uploadReference(client);
    const grok = await client.textToImage.create({ model: 'grok_imagine_image_2', promptText: 'x', ratio: 'auto_2k', referenceImages: [{ uri }, { uri }], outputCount: 2 });
    expect(grok.estimatedCost).toEqual({ credits: 20 });
    const gpt = await client.textToImage.create({ model: 'gpt_image_2', promptText: 'x', ratio: 'auto' });
    clock.advance(300 + 8000);
    const done = await client.tasks.retrieve(gpt.id);
    if (done.status !== 'SUCCEEDED') throw new Error(done.status);
    const metadata = await sharp(await download(done.output[0] ?? '')).metadata();
    expect({ width: metadata.width, height: metadata.height }).toEqual({ width: 51, height: 51 });
  });

  it("takes seedream5_lite's freeform sizes within its pixel range, and no other model's", async () => {
    const { client } = await start();
    const lite = await client.textToImage.create({ model: 'seedream5_lite', promptText: 'x', ratio: '2000:2000' });
    expect(lite.estimatedCost).toEqual({ credits: 4 });
    expect(await refusal(client, { model: 'seedream5_lite', promptText: 'x', ratio: '1000:1000' })).toEqual(
      failed({ path: ['ratio'], message: `Invalid ratio for seedream5_lite; expected one of ${findModel('seedream5_lite')?.ratios.map((r) => r.value).join(', ')}, or a W:H size of 3686400 to 16777216 pixels` }),
    );
  });

  it('refuses, with 400 and the body the SDK hands over, what each model refuses, and creates no task', async () => {
    const { sim, client } = await start();
    const uri = await uploadReference(client);
    const refs = (n: number, extra: Record<string, unknown> = {}) => Array.from({ length: n }, () => ({ uri, ...extra }));
    const cases: readonly (readonly [unknown, ReturnType<typeof failed>])[] = [
      [{ model: 'gen5_image', promptText: 'x', ratio: '1024:1024' }, failed({ path: ['model'], message: 'Unknown model "gen5_image"' })],
      [
        { model: 'gpt_image_2', promptText: 'x', ratio: '1920:1080' },
        failed({ path: ['ratio'], message: `Invalid ratio for gpt_image_2; expected one of ${findModel('gpt_image_2')?.ratios.map((r) => r.value).join(', ')}` }),
      ],
      [{ model: 'gemini_image3_pro', promptText: 'x', ratio: '1024:1024', seed: 1 }, failed({ path: ['seed'], message: 'gemini_image3_pro does not accept seed' })],
      [{ model: 'gemini_2.5_flash', promptText: 'x', ratio: '1344:768', seed: 1 }, failed({ path: ['seed'], message: 'gemini_2.5_flash does not accept seed' })],
      [
        { model: 'gemini_2.5_flash', promptText: 'x', ratio: '1344:768', contentModeration: { publicFigureThreshold: 'low' } },
        failed({ path: ['contentModeration'], message: 'gemini_2.5_flash does not accept contentModeration' }),
      ],
      [{ model: 'grok_imagine_image_2', promptText: 'x', ratio: '1280:720', referenceImages: refs(4) }, failed({ path: ['referenceImages'], message: 'grok_imagine_image_2 takes at most 3 reference images' })],
      [{ model: 'gemini_image3_pro', promptText: 'x', ratio: '1024:1024', referenceImages: refs(15) }, failed({ path: ['referenceImages'], message: 'gemini_image3_pro takes at most 14 reference images' })],
      [{ model: 'gen4_image_turbo', promptText: 'x', ratio: '1280:720', referenceImages: [] }, failed({ path: ['referenceImages'], message: 'gen4_image_turbo takes 1 to 3 reference images' })],
      [
        { model: 'seedream5_pro', promptText: `${'x'.repeat(3999)}😀`, ratio: '1024:1024' },
        failed({ path: ['promptText'], message: 'promptText must be 1 to 4000 characters (UTF-16 code units)' }),
      ],
      [{ model: 'gemini_image3_pro', promptText: 'x', ratio: '1024:1024', outputCount: 2 }, failed({ path: ['outputCount'], message: 'outputCount for gemini_image3_pro must be one of 1, 4' })],
      [{ model: 'gpt_image_2', promptText: 'x', ratio: 'auto', outputCount: 11 }, failed({ path: ['outputCount'], message: 'outputCount for gpt_image_2 must be one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10' })],
      [{ model: 'gen4_image', promptText: 'x', ratio: '1280:720', outputCount: 1 }, failed({ path: ['outputCount'], message: 'gen4_image does not accept outputCount' })],
      [{ model: 'grok_imagine_image_2', promptText: 'x', ratio: '1280:720', quality: 'high' }, failed({ path: ['quality'], message: 'quality must be one of "low", "medium"' })],
      [{ model: 'seedream5_pro', promptText: 'x', ratio: '1024:1024', background: 'transparent' }, failed({ path: ['background'], message: 'seedream5_pro does not accept background' })],
      [
        { model: 'muse_image', promptText: 'x', ratio: 'auto', referenceImages: [{ uri, tag: 'cat' }] },
        failed({ path: ['referenceImages', 0, 'tag'], message: 'muse_image reference images do not accept tag' }),
      ],
      [
        { model: 'gemini_image3_pro', promptText: 'x', ratio: '1024:1024', referenceImages: refs(6, { subject: 'human' }) },
        failed({ path: ['referenceImages'], message: 'at most 5 reference images may pass subject "human"' }),
      ],
      [
        { model: 'gpt_image_2', promptText: 'x', ratio: 'auto', referenceImages: [{ uri, tag: 'cat' }, { uri, tag: 'cat' }] },
        failed({ path: ['referenceImages', 1, 'tag'], message: 'No two images may share the same tag' }),
      ],
      [{ model: 'grok_imagine_image_2', promptText: 'x', ratio: '1280:720', edit: true }, failed({ path: ['edit'], message: 'edit requires at least one reference image' })],
    ];
    const answers = [];
    for (const [params] of cases) answers.push(await refusal(client, params));
    expect(answers).toEqual(cases.map(([, expected]) => expected));
    expect(sim.tasks()).toEqual([]);
  });

  it('takes the same requests once they are right', async () => {
    const { sim, client } = await start();
    const uri = await uploadReference(client);
    await client.textToImage.create({ model: 'gemini_image3_pro', promptText: 'x', ratio: '1024:1024', outputCount: 4, referenceImages: Array.from({ length: 14 }, () => ({ uri, subject: 'human' as const })).map((r, i) => (i < 5 ? r : { uri })) });
    await client.textToImage.create({ model: 'grok_imagine_image_2', promptText: 'x', ratio: '1280:720', quality: 'low', edit: true, referenceImages: [{ uri }] });
    await client.textToImage.create({ model: 'seedream5_pro', promptText: `${'x'.repeat(3998)}😀`, ratio: '1024:1024', grounding: true, outputFormat: 'jpeg' });
    await client.textToImage.create({ model: 'gen4_image', promptText: 'x', ratio: '1280:720', seed: 1, contentModeration: { publicFigureThreshold: 'low' } });
    expect(sim.tasks().map((t) => [t.model, t.outputCount])).toEqual([
      ['gemini_image3_pro', 4],
      ['grok_imagine_image_2', 1],
      ['seedream5_pro', 1],
      ['gen4_image', 1],
    ]);
  });
});
