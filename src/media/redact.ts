/** Human form of a URL for logs and messages: origin + path, never the query (URLs may be signed). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    // `origin` drops user:password and is the string "null" for schemes without one.
    const origin = parsed.origin === 'null' ? `${parsed.protocol}` : parsed.origin;
    return `${origin}${parsed.pathname}`;
  } catch {
    return '[invalid URL]';
  }
}

/** What stands where a credential was. */
export const REDACTED = '[redacted]';

/** A URL inside free text: it ends at whitespace, a quote, a bracket or a backslash (an escaped quote in JSON). */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>\\`]+/gi;
/** scheme:// [userinfo@] host [path] [?query] [#fragment] */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/?#]*@)?([^/?#]*)([^?#]*)([?#].*)?$/i;
/** Slack tokens (bot, user, app-level, refresh, config), wherever they appear. */
const SLACK_TOKEN = /\bx(?:ox[abpesr]|app)-[A-Za-z0-9-]{6,}/g;

/**
 * Whatever text a library logs, with the credentials that travel inside URLs taken out, so Bolt's and
 * the Web API client's debug lines are as safe as our own (src/log.ts runs every line through it):
 * - every query and fragment (`?ticket=…` of a Socket Mode URL, `?sig=…&expires=…` of a signed
 *   download, Discord's `?ex=…&is=…&hm=…`): the whole query goes, like `redactUrl`;
 * - user:password before a host;
 * - paths that are the credential: Slack's `hooks.…/commands/…` (a slash command's response_url),
 *   `/services/…` (incoming webhooks) and `/actions/…`; a file upload's `/upload/v1/…`; a webhook's
 *   or interaction's token (`/webhooks/<id>/<token>`, `/interactions/<id>/<token>`);
 * - Slack tokens (`xoxb-…`, `xapp-…`) anywhere in the text.
 */
export function redactSecrets(text: string): string {
  return text.replace(URL_IN_TEXT, redactUrlInText).replace(SLACK_TOKEN, REDACTED);
}

function redactUrlInText(url: string): string {
  const parts = URL_PARTS.exec(url);
  if (!parts) return REDACTED;
  const [, scheme = '', host = '', path = '', rest] = parts;
  return `${scheme}${host}${redactPath(host, path)}${rest === undefined ? '' : `?${REDACTED}`}`;
}

function redactPath(host: string, path: string): string {
  // hooks.slack.com, hooks.slack-gov.com: everything after the first segment is the secret.
  if (/^hooks\./i.test(host)) return path.replace(/^(\/[^/]+\/).+$/, `$1${REDACTED}`);
  return path
    .replace(/^\/upload\/v1\/.+$/, `/upload/v1/${REDACTED}`)
    .replace(/(\/(?:webhooks|interactions)\/[^/]+\/)[^/]+/g, `$1${REDACTED}`);
}
