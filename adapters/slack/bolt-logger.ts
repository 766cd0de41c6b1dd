/** Bolt's and WebClient's log lines, routed into the bot's own structured logger. */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../src/log.ts';

export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  let name = 'slack';
  const line = (parts: unknown[]): string => parts.map((part) => (part instanceof Error ? part.message : typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
  return {
    // Bolt's own "info" chatter (connection, rate-limit retries) is operational detail: debug for us.
    debug: (...parts: unknown[]) => log.debug(line(parts), { source: name }),
    info: (...parts: unknown[]) => log.debug(line(parts), { source: name }),
    warn: (...parts: unknown[]) => log.warn(line(parts), { source: name }),
    error: (...parts: unknown[]) => log.error(line(parts), { source: name }),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: (next: string) => {
      name = next;
    },
  };
}
