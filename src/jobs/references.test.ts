import { describe, expect, it } from 'vitest';
import { noisePng } from '../../test/support/images.ts';
import { ManualTimers } from '../../test/support/manual-timers.ts';
import type { ReferenceSource } from '../ports.ts';
import { uploadReferences } from './references.ts';

/** A gateway that records uploads and answers with a made-up URI. */
function recordingGateway() {
  const uploads: string[] = [];
  return {
    uploads,
    uploadReference: async (_bytes: Uint8Array, filename: string) => {
      uploads.push(filename);
      return `runway://upload/${filename}`;
    },
  };
}

describe('uploadReferences', () => {
  it('gives up on a reference download at its 30 s deadline, before uploading anything', async () => {
    const deadline = new ManualTimers();
    const gateway = recordingGateway();
    let signal: AbortSignal | undefined;
    const hanging: ReferenceSource = {
      filename: 'slow.png',
      download: (limits) => {
        signal = limits.signal;
        return new Promise((_resolve, reject) => limits.signal.addEventListener('abort', () => reject(new Error('download aborted')), { once: true }));
      },
    };
    const pending = uploadReferences([hanging], ['image1'], gateway, deadline.timers);

    expect(deadline.delays()).toEqual([30_000]);
    expect(signal?.aborted).toBe(false);
    deadline.fireAll();
    await expect(pending).rejects.toThrow('download aborted');
    expect(signal?.aborted).toBe(true);
    expect(gateway.uploads).toEqual([]);
  });

  it('clears the deadline once a download is done', async () => {
    const deadline = new ManualTimers();
    const gateway = recordingGateway();
    const bytes = noisePng(1);
    const quick: ReferenceSource = { filename: 'ref.png', download: async () => new Uint8Array(bytes) };

    const uris = await uploadReferences([quick], ['cat'], gateway, deadline.timers);

    expect(uris).toEqual([{ uri: 'runway://upload/reference-1.png', tag: 'cat' }]);
    expect(deadline.delays()).toEqual([]);
  });
});
