/**
 * The simulator's "generation": a deterministic picture drawn from a hash of the prompt and seed,
 * so the same request always gives the same bytes and any change gives different ones.
 */
import { createHash } from 'node:crypto';
import { encodePng } from './png.ts';

/** Output size for a `W:H` ratio scaled down (rounded, at least 8 px per side) to keep tests fast. */
export function outputSize(ratio: string, scale: number): { width: number; height: number } {
  const [w, h] = ratio.split(':').map(Number);
  return { width: Math.max(8, Math.round((w ?? 0) * scale)), height: Math.max(8, Math.round((h ?? 0) * scale)) };
}

/** A PNG whose pixels are a function of (promptText, seed) only. */
export function renderPicture(promptText: string, seed: number, width: number, height: number): Buffer {
  const hash = createHash('sha256').update(`${seed}\u0000${promptText}`).digest();
  const byte = (i: number): number => hash[i % hash.length] ?? 0;
  const from = [byte(0), byte(1), byte(2)] as const;
  const to = [byte(3), byte(4), byte(5)] as const;
  const angle = (byte(6) / 255) * Math.PI * 2;
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  const stripeFrequency = 2 + (byte(7) % 12);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width - 0.5;
      const v = y / height - 0.5;
      const t = Math.min(1, Math.max(0, 0.5 + (u * dx + v * dy)));
      const stripe = Math.sin((u * dy - v * dx) * stripeFrequency * Math.PI * 2) * 24;
      const offset = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const value = (from[c] ?? 0) * (1 - t) + (to[c] ?? 0) * t + stripe;
        rgb[offset + c] = Math.min(255, Math.max(0, Math.round(value)));
      }
    }
  }
  return encodePng(width, height, rgb);
}
