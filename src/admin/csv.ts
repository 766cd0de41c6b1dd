/**
 * CSV as RFC 4180 writes it (CRLF between records; a field with a comma, a quote, CR or LF is
 * quoted, its quotes doubled), made safe to open in a spreadsheet: names and notes come from chat
 * users, and a text cell such as `=HYPERLINK(…)` would otherwise run as a formula (OWASP "CSV
 * injection"). Numbers are written as numbers, so a negative delta stays a number.
 */

export type CsvCell = string | number | null;

/** Characters that make a spreadsheet read a cell as a formula (tab and CR as well, per OWASP). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One text cell, neutralised (a leading `'`) when a spreadsheet would read it as a formula. */
export function neutralise(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** One field as written in the file: neutralised if text, then quoted when RFC 4180 requires it. */
export function csvField(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return String(cell);
  const text = neutralise(cell);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A whole file: the header, then one record a row, each line ended by CRLF. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  return [header, ...rows].map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}
