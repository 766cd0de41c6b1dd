/**
 * One racer for test/ledger-concurrency.test.ts: opens the shared database (a SQLite file or a
 * PostgreSQL URL) with its own connection, waits for "go" on stdin so every process starts together, then tries to reserve
 * through the real CreditLedger, each inside a job-creating transaction as the jobs module does.
 * Prints one JSON line with how many reservations succeeded.
 *
 * argv: <database> <workerId> <attempts> <price> <mode: same-user|cap> <allowance>
 */
import { createInterface } from 'node:readline';
import { ManualClock } from '../../src/clock.ts';
import { CreditLedger } from '../../src/credits/ledger.ts';
import { insertJobRow } from './ledger-fixtures.ts';
import { openStoreAt } from './store-at.ts';

const [database, workerId, attemptsText, priceText, mode, allowanceText] = process.argv.slice(2);
if (!database || !workerId || !attemptsText || !priceText || (mode !== 'same-user' && mode !== 'cap') || !allowanceText) {
  throw new Error('usage: reserve-worker <database> <workerId> <attempts> <price> <same-user|cap> <allowance>');
}
const attempts = Number(attemptsText);
const price = Number(priceText);
const community = 'race-community';
// A fixed instant: every process agrees on the period without reading the wall clock.
const clock = new ManualClock(Date.UTC(2026, 0, 7, 12));
const db = openStoreAt(database);
const ledger = new CreditLedger(db, clock, { allowance: Number(allowanceText), period: 'none' });

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.once('line', () => {
  void run().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});

async function run(): Promise<void> {
  let succeeded = 0;
  let refused = 0;
  for (let i = 0; i < attempts; i++) {
    const userId = mode === 'same-user' ? 'shared-user' : `user-${workerId}-${i}`;
    const jobId = `job-${workerId}-${i}`;
    const outcome = await db.transaction(async (tx) => {
      await insertJobRow(tx, { id: jobId, communityId: community, userId, atMs: clock.now() });
      return ledger.within(tx).reserve({ communityId: community, userId, displayName: userId, jobId, model: 'gen4_image', amount: price, atMs: clock.now() });
    });
    if (outcome.ok) succeeded++;
    else refused++;
  }
  await db.close();
  process.stdout.write(`${JSON.stringify({ succeeded, refused })}\n`);
  lines.close();
}
