import type { DeliveryCheckpoint } from '../../src/ports.ts';
import { encodePng } from '../../simulator/index.ts';

/** A real PNG of pseudo-random noise, above Runway's 512-byte upload minimum; same seed, same bytes. */
export function noisePng(seed: number, size = 24): Buffer {
  const rgb = new Uint8Array(size * size * 3);
  let x = seed;
  for (let i = 0; i < rgb.length; i++) rgb[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return encodePng(size, size, rgb);
}

/** A DeliveryCheckpoint kept in memory, for adapter tests without the job store. */
export function memoryCheckpoint(): DeliveryCheckpoint & { value: string | null } {
  return {
    value: null,
    async load() {
      return this.value;
    },
    async save(value: string) {
      this.value = value;
    },
  };
}
