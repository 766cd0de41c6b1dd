import { z } from 'zod';

/**
 * `database.url_invalid`: DATABASE_URL is not a PostgreSQL URL we can connect to. The message names
 * the problem and shows the expected shape; it never repeats the value, which may hold a password.
 */
export class DatabaseUrlInvalidError extends Error {
  readonly code = 'database.url_invalid';
  constructor(readonly problem: string) {
    super(`DATABASE_URL ${problem}: it should look like postgres://user:password@db.example.com:5432/imagine_bot.`);
    this.name = 'DatabaseUrlInvalidError';
  }
}

/** A parsed DATABASE_URL: what to connect with, and what may be shown. */
export interface PostgresTarget {
  /** The URL as given, password included: for the pool only, never for a log. */
  readonly connectionString: string;
  /** The URL without its password: for logs and `Database.description`. */
  readonly description: string;
  /** `host:port`, for "cannot reach …" lines. */
  readonly server: string;
  /** Removes the password from a foreign error's text before it is logged. */
  readonly redact: (text: string) => string;
}

const DEFAULT_PORT = '5432';

const postgresUrl = z.string().transform((text, ctx): URL => {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    // Not even the scheme is echoed: a mistyped value could be the password itself.
    ctx.addIssue({ code: 'custom', message: 'is not a URL' });
    return z.NEVER;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({ code: 'custom', message: 'must start with postgres:// or postgresql://' });
    return z.NEVER;
  }
  if (url.hostname === '') {
    ctx.addIssue({ code: 'custom', message: 'names no host' });
    return z.NEVER;
  }
  return url;
});

/** Parse DATABASE_URL once, where it arrives; throws `DatabaseUrlInvalidError`. */
export function parseDatabaseUrl(text: string): PostgresTarget {
  const parsed = postgresUrl.safeParse(text);
  if (!parsed.success) throw new DatabaseUrlInvalidError(parsed.error.issues[0]?.message ?? 'is not a PostgreSQL URL');
  const url = parsed.data;
  const secrets = passwordsOf(url);
  const shown = new URL(url.href);
  shown.password = '';
  // pg also takes the password as a query parameter.
  shown.searchParams.delete('password');
  return {
    connectionString: text.trim(),
    description: shown.href,
    server: `${url.hostname}:${url.port || DEFAULT_PORT}`,
    redact: (message) => secrets.reduce((out, secret) => out.split(secret).join('***'), message),
  };
}

/** The password as written in the URL and as decoded, longest first so neither leaves a part behind. */
function passwordsOf(url: URL): string[] {
  const written = [url.password, url.searchParams.get('password') ?? ''];
  const forms = written.flatMap((value) => [value, safeDecode(value)]);
  return [...new Set(forms.filter((form) => form !== ''))].sort((a, b) => b.length - a.length);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
