/**
 * What a job's ledger entries say about its money. Pure: `ledger.ts` reads the entries and writes
 * the next one inside its transaction; these rules decide whether there is a next one and its size.
 */
import { BotError } from '../errors.ts';
import type { JobEntry } from './ledger-sql.ts';

/** The job's state as far as money goes: never reserved, holding credits, or settled/refunded. */
export type JobMoney =
  | { state: 'none' }
  | { state: 'finished' }
  | { state: 'held'; held: number; reserve: JobEntry };

export function readJobMoney(entries: readonly JobEntry[]): JobMoney {
  const reserve = entries.find((entry) => entry.kind === 'reserve');
  if (!reserve) return { state: 'none' };
  if (entries.some((entry) => entry.kind === 'settle' || entry.kind === 'refund')) return { state: 'finished' };
  return { state: 'held', held: netCharge(entries), reserve };
}

/**
 * What a settled job was charged, with its reservation for the refund entry to copy; undefined when
 * the job never settled or was refunded already, so that a settled job is given back at most once.
 */
export function settledCharge(entries: readonly JobEntry[]): { reserve: JobEntry; charged: number } | undefined {
  const reserve = entries.find((entry) => entry.kind === 'reserve');
  if (!reserve || !entries.some((entry) => entry.kind === 'settle') || entries.some((entry) => entry.kind === 'refund')) return undefined;
  return { reserve, charged: netCharge(entries) };
}

/** A second reservation for one job would charge it twice. */
export function alreadyReserved(jobId: string): BotError {
  return new BotError({ code: 'credits.already_reserved', userMessage: 'This request was already charged.' }, {
    logMessage: `credits.already_reserved: job ${jobId} already has ledger entries`,
  });
}

/** `what` (adjust, settle) needs a reservation to change; without one the caller has lost track of the job. */
export function noReservation(jobId: string, what: string): BotError {
  return new BotError({ code: 'credits.no_reservation', userMessage: 'This request was never charged, so its cost cannot be changed.' }, {
    logMessage: `credits.no_reservation: ${what} on job ${jobId} without a reserve entry`,
  });
}

/** Credits the job's entries took from the member, net: what it holds, or was charged once settled. */
function netCharge(entries: readonly JobEntry[]): number {
  return 0 - entries.reduce((sum, entry) => sum + entry.delta, 0);
}
