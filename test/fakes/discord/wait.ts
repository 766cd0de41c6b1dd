import { waitFor as pollUntil } from '../../support/wait-for.ts';

/**
 * `test/support/wait-for.ts` with the options-object call the Discord tests use, where `null`
 * (a nullable field such as autocomplete `choices`) also means "not yet".
 */
export function waitFor<T>(
  probe: () => T | undefined | null | false | PromiseLike<T | undefined | null | false>,
  options: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<T> {
  const { what, timeoutMs = 15_000, intervalMs = 20 } = options;
  return pollUntil(what, async () => (await probe()) ?? undefined, { timeoutMs, intervalMs }) as Promise<T>;
}
