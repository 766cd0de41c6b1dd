/** Credits are whole, non-negative and safely representable; anything else is a caller's bug. */
export function assertCredits(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a whole, non-negative number of credits (got ${value})`);
  }
}
