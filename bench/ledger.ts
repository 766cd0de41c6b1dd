/**
 * Measure 4: ledger reservations per second. (a) One process, a tight reserve+settle loop across
 * K members of one community. (b) Several OS processes on one database file racing for one
 * member's budget; afterwards the ledger is summed to show nothing was overspent.
 */
import { join } from 'node:path';
import { openSqliteDatabase } from '../src/store/database.ts';
import { startChild } from './child.ts';
import { benchLedger, RACE_COMMUNITY, reserveAndSettle } from './ledger-race.ts';
import type { WorkerResult } from './ledger-worker.ts';
import { fixed, printSection, printTable } from './report.ts';

export interface LedgerBenchOptions {
  readonly dir: string;
  /** How long each single-process loop runs. */
  readonly seconds: number;
  readonly users: number;
  readonly processes: number;
  readonly attemptsPerProcess: number;
  readonly price: number;
  /** The shared member's whole budget in the race (period 'none': credited once). */
  readonly sharedBudget: number;
}

export async function runLedgerBench(o: LedgerBenchOptions): Promise<void> {
  printSection('4. Ledger reservations per second (CreditLedger on a WAL file database, synchronous=NORMAL)', {
    loopSeconds: o.seconds,
    price: o.price,
    raceProcesses: o.processes,
    raceAttemptsPerProcess: o.attemptsPerProcess,
    raceBudget: o.sharedBudget,
  });
  // One after another: each measures the process alone.
  const single = [await runSingleProcess(o, 1, false), await runSingleProcess(o, o.users, false), await runSingleProcess(o, o.users, true)];
  printTable(
    '(a) One process: reserve (with its job row) + settle, in a tight loop',
    ['members', 'community cap', 'reservations/s', 'us per reserve+settle', 'first 20% (/s)', 'last 20% (/s)', 'ledger rows at end'],
    single.map((r) => [String(r.users), r.withCap ? 'yes' : 'no', fixed(r.perSecond), fixed(1e6 / r.perSecond, 1), fixed(r.firstFifthPerSecond), fixed(r.lastFifthPerSecond), String(r.ledgerRows)]),
    ['each reservation is one IMMEDIATE transaction (job row + reserve) and one settle transaction; "/s" counts reservations.'],
  );

  const races = [];
  for (const processes of [1, o.processes]) races.push(await runRace(o, processes));
  printTable(
    `(b) ${o.processes} processes racing for one member's budget (${o.sharedBudget} credits, ${o.price} per image), same file`,
    ['processes', 'attempts', 'granted', 'attempts/s', 'granted/s', 'granted per process', 'overspent?'],
    races.map((r) => [
      String(r.processes),
      String(r.attempts),
      String(r.granted),
      fixed(r.attempts / (r.wallMs / 1000)),
      fixed(r.granted / (r.wallMs / 1000)),
      r.grantedPerProcess.join('/'),
      r.check,
    ]),
    [
      'attempts/s over the wall time from "go" to the last process done; refusals are transactions too (row + balance check).',
      'check: granted x price <= budget, granted = budget / price exactly, ledger balance = budget - spent >= 0, one settle per grant.',
    ],
  );
}

interface SingleResult {
  readonly users: number;
  readonly withCap: boolean;
  readonly perSecond: number;
  readonly firstFifthPerSecond: number;
  readonly lastFifthPerSecond: number;
  readonly ledgerRows: number;
}

async function runSingleProcess(o: LedgerBenchOptions, users: number, withCap: boolean): Promise<SingleResult> {
  const db = openSqliteDatabase(join(o.dir, `single-${users}-${withCap ? 'cap' : 'nocap'}.db`));
  try {
    const ledger = benchLedger(db, 1_000_000_000);
    if (withCap) await ledger.communities.setCap({ communityId: RACE_COMMUNITY, amount: 1_000_000_000, period: 'none', actorId: 'bench' });
    const startedAt = performance.now();
    const deadline = startedAt + o.seconds * 1000;
    const doneAt: number[] = [];
    for (let i = 0; performance.now() < deadline; i++) {
      await reserveAndSettle(db, ledger, `job-${i}`, `user-${i % users}`, o.price);
      doneAt.push(performance.now() - startedAt);
    }
    const elapsedMs = performance.now() - startedAt;
    const fifth = elapsedMs / 5;
    const inWindow = (from: number, to: number): number => doneAt.filter((t) => t >= from && t < to).length / (fifth / 1000);
    return {
      users,
      withCap,
      perSecond: doneAt.length / (elapsedMs / 1000),
      firstFifthPerSecond: inWindow(0, fifth),
      lastFifthPerSecond: inWindow(elapsedMs - fifth, elapsedMs + 1),
      ledgerRows: (await db.value<number>('select count(*) from ledger')) ?? 0,
    };
  } finally {
    await db.close();
  }
}

interface RaceResult {
  readonly processes: number;
  readonly attempts: number;
  readonly granted: number;
  readonly grantedPerProcess: number[];
  readonly wallMs: number;
  readonly check: string;
}

async function runRace(o: LedgerBenchOptions, processes: number): Promise<RaceResult> {
  const path = join(o.dir, `race-${processes}.db`);
  await openSqliteDatabase(path).close(); // migrate once, before the racers open it
  // The same total number of attempts whatever the number of processes, so the rows compare.
  const attemptsEach = Math.round((o.attemptsPerProcess * o.processes) / processes);
  const workers = Array.from({ length: processes }, (_, i) =>
    startChild('./ledger-worker.ts', [path, String(i), String(attemptsEach), String(o.price), String(o.sharedBudget)]),
  );
  try {
    await Promise.all(workers.map((w) => w.next<{ ready: boolean }>()));
    const startedAt = performance.now();
    for (const w of workers) w.send('go');
    const results = await Promise.all(workers.map((w) => w.next<WorkerResult>()));
    const wallMs = performance.now() - startedAt;
    const granted = results.reduce((sum, r) => sum + r.granted, 0);
    return { processes, attempts: attemptsEach * processes, granted, grantedPerProcess: results.map((r) => r.granted), wallMs, check: await checkNoOverspend(path, o, granted) };
  } finally {
    await Promise.all(workers.map((w) => w.end()));
  }
}

/** Sum the ledger after the race: "no" when every rule holds, else what broke. */
async function checkNoOverspend(path: string, o: LedgerBenchOptions, granted: number): Promise<string> {
  const db = openSqliteDatabase(path);
  try {
    const sum = async (where: string): Promise<number> => (await db.value<number>(`select coalesce(sum(delta), 0) from ledger where user_id = 'shared-user' and ${where}`)) ?? 0;
    const count = async (kind: string): Promise<number> => (await db.value<number>(`select count(*) from ledger where user_id = 'shared-user' and kind = ?`, [kind])) ?? 0;
    const balance = await sum('1 = 1');
    const spent = -(await sum(`kind in ('reserve','adjust','settle','refund')`));
    const reserves = await count('reserve');
    const settles = await count('settle');
    const problems = [
      ...(granted * o.price > o.sharedBudget ? [`granted ${granted} x ${o.price} > ${o.sharedBudget}`] : []),
      ...(granted !== Math.floor(o.sharedBudget / o.price) ? [`granted ${granted}, expected ${Math.floor(o.sharedBudget / o.price)}`] : []),
      ...(balance < 0 || balance !== o.sharedBudget - spent ? [`balance ${balance}, spent ${spent}`] : []),
      ...(reserves !== granted || settles !== granted ? [`reserve ${reserves} / settle ${settles} entries for ${granted} grants`] : []),
    ];
    return problems.length === 0 ? `no (balance ${balance})` : `YES: ${problems.join('; ')}`;
  } finally {
    await db.close();
  }
}
