import type { Attachment } from 'discord.js';
import { downloadImage } from '../../src/media/download.ts';
import type { ReferenceSource } from '../../src/ports.ts';

/** Discord's own media hosts: attachments are fetched from nowhere else. */
export const DISCORD_MEDIA_ORIGINS: readonly string[] = ['https://cdn.discordapp.com', 'https://media.discordapp.net'];

/** A whole download, headers and body, may take this long. */
const DOWNLOAD_TIMEOUT_MS = 30_000;

/**
 * A reference image attached to an /imagine. Discord's CDN URLs are signed and expire, so the core
 * downloads them while accepting the request; CDN attachments need no credential.
 */
export function referenceFromAttachment(attachment: Attachment, allowedOrigins: readonly string[]): ReferenceSource {
  return {
    filename: attachment.name,
    declaredSizeBytes: attachment.size,
    async download({ maxBytes, signal }) {
      const image = await downloadImage(attachment.url, { allowedOrigins, maxBytes, timeoutMs: DOWNLOAD_TIMEOUT_MS, signal });
      return image.bytes;
    },
  };
}
