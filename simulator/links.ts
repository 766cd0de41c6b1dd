/**
 * The absolute, signed links the simulator hands out (upload forms, output URLs) and later checks:
 * signed with a secret made at start, so only links this simulator issued are accepted.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface Links {
  /** The simulator's address, e.g. http://127.0.0.1:43123; known only once it listens. */
  baseUrl(): string;
  /** Hex HMAC of `value`. */
  sign(value: string): string;
}

export function createLinks(baseUrl: () => string): Links {
  const secret = randomBytes(32);
  return { baseUrl, sign: (value) => createHmac('sha256', secret).update(value).digest('hex') };
}
