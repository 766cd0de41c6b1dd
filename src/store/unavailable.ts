/**
 * Whether an error says the database is out of reach for now (PostgreSQL restarting or unreachable,
 * a connection dropped, SQLite's lock held past its timeout), as opposed to a mistake in a statement
 * or a broken rule. Such an error deserves "try again in a minute", not "something went wrong".
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // PostgreSQL 57P01..03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection exceptions.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
    // The socket to the server.
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT') return true;
    // Another writer held SQLite's lock for longer than busy_timeout.
    if (code === 'SQLITE_BUSY') return true;
  }
  // node-postgres says these in words, without a code.
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(error.message);
}
