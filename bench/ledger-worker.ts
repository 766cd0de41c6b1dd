/**
 * One racer of the multi-process ledger bench: its own connection to the shared database file,
 * waits for "go" on stdin so every process starts together, then reserves and settles for one
 * shared member as fast as it can. Prints one JSON line: granted, refused, elapsedMs.
 * argv: <dbPath> <workerId> <attempts> <price> <allowance>
 */
import { createInterface } from 'node:readline';
import { openSqliteDatabase } from '../src/store/database.ts';
import { benchLedger, reserveAndSettle } from './ledger-race.ts';

export interface WorkerResult {
  readonly granted: number;
  readonly refused: number;
  readonly elapsedMs: number;
}

const [dbPath, workerId, attemptsText, priceText, allowanceText] = process.argv.slice(2);
if (!dbPath || !workerId || !attemptsText || !priceText || !allowanceText) throw new Error('usage: ledger-worker <dbPath> <workerId> <attempts> <price> <allowance>');
const db = openSqliteDatabase(dbPath);
const ledger = benchLedger(db, Number(allowanceText));
const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
lines.once('line', () => {
  void race().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});

async function race(): Promise<void> {
  const startedAt = performance.now();
  let granted = 0;
  for (let i = 0; i < Number(attemptsText); i++) {
    if (await reserveAndSettle(db, ledger, `job-${workerId}-${i}`, 'shared-user', Number(priceText))) granted++;
  }
  const result: WorkerResult = { granted, refused: Number(attemptsText) - granted, elapsedMs: performance.now() - startedAt };
  await db.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  lines.close();
}
