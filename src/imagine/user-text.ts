/**
 * Echoing what a user typed back into a chat message: short, and unable to break out of the
 * `code` span it is shown in (a backtick would end it early, a huge string would flood the reply).
 */
const MAX_ECHO_CHARS = 40;

/** The user's text as a `code` span, trimmed to a readable length. */
export function echo(text: string): string {
  const flat = text.replace(/[`\r\n]/g, ' ').trim();
  const short = flat.length > MAX_ECHO_CHARS ? `${flat.slice(0, MAX_ECHO_CHARS - 1)}…` : flat;
  return `\`${short === '' ? ' ' : short}\``;
}

/** "a, b and c": lists read as sentences in every message. */
export function listInWords(items: readonly string[], last = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}
