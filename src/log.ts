import { redactSecrets } from './media/redact.ts';

/**
 * A small leveled logger writing one JSON object a line to stderr. Secrets never go in `fields`;
 * as a second line of defence, and for what libraries log through it (Bolt, the Slack Web API
 * client), every line passes `redactSecrets` (signed queries, tickets, response_urls, tokens).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A logger writing lines at `level` and above to `write` (default stderr). */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>) => (message: string, fields?: Record<string, unknown>) => {
    if (RANK[at] < RANK[level]) return;
    // Redacted after serialising, so error messages and nested fields are covered too; the
    // replacements are plain characters, so the line stays valid JSON.
    write(redactSecrets(JSON.stringify({ level: at, time: new Date().toISOString(), message, ...fields }, errorReplacer)));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = createLogger('silent');

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  return value;
}
