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
