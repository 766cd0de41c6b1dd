import type { Logger } from '../../src/log.ts';

/** One line a RecordingLogger kept. */
export interface LoggedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
}

/** A Logger that keeps every line in memory, for tests that assert what was logged and how often. */
export function recordingLogger(): Logger & { readonly lines: LoggedLine[]; warnings(): LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: LoggedLine['level']) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  return {
    lines,
    warnings: () => lines.filter((line) => line.level === 'warn'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}
