/**
 * One racer for test/transitions-concurrency.test.ts: opens the shared database (a SQLite file or
 * a PostgreSQL URL) with its own connection as instance <instanceId>, waits for "go" on stdin so every process starts together,
 * then either (mode `transitions`) tries startSubmitting on every `reserved` job and markSucceeded
 * on every `running` one, or (mode `accept`) tries acceptJob `count` times for one shared member,
 * through the real transitions. Prints one JSON line with what it won.
 *
 * argv: <database> <instanceId> <nowMs> transitions <cost>
 *       <database> <instanceId> <nowMs> accept <count> <price> <limit> <allowance>
 */
import { createInterface } from 'node:readline';
import { ManualClock } from '../../src/clock.ts';
import { CreditLedger } from '../../src/credits/ledger.ts';
import { acceptJob } from '../../src/jobs/transitions/accept-job.ts';
import { JOB_LEASE_MS, type TransitionContext } from '../../src/jobs/transitions/context.ts';
import { markSucceeded } from '../../src/jobs/transitions/mark-succeeded.ts';
import { newJob } from './transition-fixtures.ts';
import { startSubmitting } from '../../src/jobs/transitions/start-submitting.ts';
import { openStoreAt } from './store-at.ts';

const [database, instanceId, nowText, mode, ...rest] = process.argv.slice(2);
if (!database || !instanceId || !nowText || (mode !== 'transitions' && mode !== 'accept')) throw new Error('usage: see the header of transition-worker.ts');
const numbers = rest.map(Number);
// A fixed instant shared with the test: every process agrees on what is due without the wall clock.
const clock = new ManualClock(Number(nowText));
const db = openStoreAt(database);
const allowance = mode === 'accept' ? (numbers[3] ?? 0) : 0;
const ctx: TransitionContext = { db, ledger: new CreditLedger(db, clock, { allowance, period: 'none' }), clock, instanceId, leaseMs: JOB_LEASE_MS };
const ids = async (state: string) => (await db.all<{ id: string }>('select id from jobs where state = @state order by id', { state })).map((row) => row.id);
const toSubmit = await ids('reserved');
const toSettle = await ids('running');

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
lines.once('line', () => {
  void run().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});

async function run(): Promise<void> {
  if (mode === 'accept') {
    const [count = 0, price = 0, limit = 0] = numbers;
    const accepted: string[] = [];
    for (let i = 0; i < count; i++) {
      const outcome = await acceptJob(ctx, newJob('shared'), price, limit);
      if (outcome.ok) accepted.push(outcome.jobId);
    }
    await db.close();
    process.stdout.write(`${JSON.stringify({ accepted })}\n`);
    lines.close();
    return;
  }
  const cost = numbers[0] ?? 0;
  const submitted: string[] = [];
  const succeeded: string[] = [];
  // Interleave the two kinds so each process's transactions meet the others' of both kinds.
  for (let i = 0; i < Math.max(toSubmit.length, toSettle.length); i++) {
    const submit = toSubmit[i];
    if (submit !== undefined && (await startSubmitting(ctx, submit))) submitted.push(submit);
    const settle = toSettle[i];
    if (settle !== undefined && (await markSucceeded(ctx, settle, cost, clock.now()))) succeeded.push(settle);
  }
  await db.close();
  process.stdout.write(`${JSON.stringify({ submitted, succeeded })}\n`);
  lines.close();
}
