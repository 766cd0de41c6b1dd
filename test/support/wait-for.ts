import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Poll `probe` until it returns a value (anything but undefined or false), within a bounded
 * number of tries. For conditions in another process or on disk; never a fixed sleep. The probe
 * may be async (a database read); each try waits for its answer.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | PromiseLike<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 15 } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
