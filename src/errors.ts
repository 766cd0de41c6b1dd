/**
 * Every failure the bot can explain carries a stable machine `code` (for logs, tests and metrics)
 * and a `userMessage` written for the person in the chat: what went wrong and what to do instead.
 * Modelled on bolt-js's CodedError. Never put a token, a stack trace or a signed URL in userMessage.
 */
export class BotError extends Error {
  readonly code: string;
  readonly userMessage: string;

  constructor(code: string, userMessage: string, options?: { cause?: unknown; logMessage?: string }) {
    super(options?.logMessage ?? `${code}: ${userMessage}`, { cause: options?.cause });
    this.name = 'BotError';
    this.code = code;
    this.userMessage = userMessage;
  }
}

/** A problem with what the user asked for: shown to them privately, costs nothing. */
export interface Problem {
  readonly code: string;
  readonly userMessage: string;
}

export function problem(code: string, userMessage: string): Problem {
  return { code, userMessage };
}

/** Wrap anything thrown by a foreign library once, where it enters, so the rest sees one shape. */
export function asBotError(error: unknown, code = 'internal.unexpected'): BotError {
  if (error instanceof BotError) return error;
  return new BotError(code, 'Something went wrong on our side. Nothing was charged for it; please try again in a moment.', {
    cause: error,
    logMessage: `${code}: ${error instanceof Error ? error.message : String(error)}`,
  });
}
