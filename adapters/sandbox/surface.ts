import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import type { Failure } from '../../src/errors.ts';
import type { ChatSurface, Delivery, DeliveryCheckpoint, DeliveryReceipt, JobStatusView } from '../../src/ports.ts';

const placeholderSchema = z.object({ request: z.number().int().positive(), prompt: z.string() });
export type SandboxPlaceholder = z.infer<typeof placeholderSchema>;

export function sandboxPlaceholder(request: number, prompt: string): string {
  return JSON.stringify({ request, prompt: prompt.slice(0, 60) } satisfies SandboxPlaceholder);
}

/**
 * The terminal's "chat": status lines on the screen, images written to the output folder.
 * Delivery writes each file under a name derived from the job id, so a delivery repeated after a
 * crash overwrites the same file instead of adding a second image.
 */
export class SandboxSurface implements ChatSurface {
  readonly platform = 'sandbox';

  constructor(
    private readonly outputDir: string,
    private readonly print: (line: string) => void,
  ) {}

  async showStatus(placeholder: string, status: JobStatusView): Promise<void> {
    const { request } = placeholderSchema.parse(JSON.parse(placeholder));
    this.print(`[#${request}] ${describeStatus(status)}`);
  }

  async deliver(placeholder: string, delivery: Delivery, _checkpoint: DeliveryCheckpoint): Promise<DeliveryReceipt> {
    const { request } = placeholderSchema.parse(JSON.parse(placeholder));
    await mkdir(this.outputDir, { recursive: true });
    const paths: string[] = [];
    for (const file of delivery.files) {
      const path = join(this.outputDir, `${delivery.jobId}-${file.filename.replace(/^imagine-[0-9a-f]+-/, '')}`);
      await writeFile(path, file.bytes);
      paths.push(relative(process.cwd(), path) || path);
    }
    this.print(`[#${request}] done: ${paths.join(', ')}\n        ${delivery.caption.replace(/\n/g, '\n        ')}`);
    return { link: paths[0] ?? null };
  }

  async notifyModerators(_placeholder: string, text: string): Promise<void> {
    this.print(`[moderators] ${text}`);
  }

  async showFailure(placeholder: string, failure: Failure): Promise<void> {
    const { request } = placeholderSchema.parse(JSON.parse(placeholder));
    this.print(`[#${request}] failed (${failure.code}): ${failure.userMessage}`);
  }
}

function describeStatus(status: JobStatusView): string {
  switch (status.kind) {
    case 'queued':
      return `queued, position ${status.position}`;
    case 'starting':
      return 'starting at Runway…';
    case 'running':
      return status.progress === null ? 'generating…' : `generating… ${Math.round(status.progress * 100)}%`;
    case 'delivering':
      return 'downloading the image…';
    default: {
      const unreachable: never = status;
      return String(unreachable);
    }
  }
}
