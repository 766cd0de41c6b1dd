/**
 * How the operator's tool writes amounts, periods, times and tables on a terminal. Times are UTC,
 * like every period boundary, so what the tool prints matches when budgets refill.
 */
import type { Budget } from '../credits/types.ts';

/** `200/day`, `500/week`, `1000/none` (a budget for all time). */
export function budgetText(budget: Budget): string {
  return `${budget.amount}/${budget.period}`;
}


/** Control characters become `?`, so a stored note cannot move the cursor or break a line. */
export function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

/** Columns padded to their widest cell; those named in `right` are right-aligned (numbers). */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number>): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n');
}
