/**
 * One bot process per database, enforced by the `instance_lease` row (migration 2). Two bots on one
 * file would both poll, deliver and charge the same jobs; SQLite's locks keep each statement
 * atomic, not the process honest. On start the lease is taken when it is absent, expired, or held
 * by a process that is provably gone (same host, and its pid is not alive or is our own: a restarted
 * container); otherwise start is refused, naming the holder. The holder renews it every
 * INSTANCE_HEARTBEAT_MS for INSTANCE_LEASE_MS, and releases it on a clean stop.
 *
 * Tools that only read, or that go through the ledger alone (the operator's admin tool, the ledger's
 * multi-process test), do not take it: the ledger's own transactions keep them safe.
 */
import type { Clock } from '../clock.ts';
import type { Sql } from './sql.ts';

export const INSTANCE_LEASE_MS = 30_000;
export const INSTANCE_HEARTBEAT_MS = 10_000;

/** Who this process is, as the lease records it. */
export interface InstanceIdentity {
  /** Random per start: the `locked_by` of the jobs this process works. */
  readonly instanceId: string;
  readonly hostname: string;
  readonly pid: number;
}

/** The lease row as another process sees it. */
export interface LeaseHolder {
  readonly holder: string;
  readonly hostname: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly expiresAt: number;
}

export type Timers = { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };

/** How the lease was taken: the previous holder, when there was one, is gone, and so are its job locks. */
export type AcquireOutcome =
  | { readonly ok: true; readonly lease: InstanceLease; readonly previousHolder: string | null; readonly how: 'free' | 'expired' | 'holder_dead' | 'same_pid' }
  | { readonly ok: false; readonly holder: LeaseHolder };

/** Refusal to start, with a message for the operator. */
export class InstanceLeaseHeld extends Error {
  constructor(
    readonly holder: LeaseHolder,
    databasePath: string,
  ) {
    super(describeHolder(holder, databasePath));
    this.name = 'InstanceLeaseHeld';
  }
}

const READ = `
  select holder, hostname, pid, started_at as "startedAt", heartbeat_at as "heartbeatAt", expires_at as "expiresAt"
    from instance_lease where id = 1`;

const INSERT = `
  insert into instance_lease (id, holder, hostname, pid, started_at, heartbeat_at, expires_at)
  values (1, @instanceId, @hostname, @pid, @now, @now, @expiresAt)`;

// Guarded by the holder we judged gone: if the row changed since, the takeover does not happen.
const TAKE_OVER = `
  update instance_lease set holder = @instanceId, hostname = @hostname, pid = @pid,
                            started_at = @now, heartbeat_at = @now, expires_at = @expiresAt
   where id = 1 and holder = @previousHolder`;

const RENEW = `
  update instance_lease set heartbeat_at = @now, expires_at = @expiresAt
   where id = 1 and holder = @instanceId`;

const RELEASE = `delete from instance_lease where id = 1 and holder = @instanceId`;

/** Whether a process with this pid exists on this host: EPERM means it does, only not ours to signal. */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the database's instance lease if it is free, expired or held by a provably dead process; else say who holds it. */
export function acquireInstanceLease(
  db: Sql,
  identity: InstanceIdentity,
  clock: Clock,
  isAlive: (pid: number) => boolean = processIsAlive,
): Promise<AcquireOutcome> {
  // One write transaction: two bots starting together must not both read "free" and both take it.
  return db.transaction(async (tx): Promise<AcquireOutcome> => {
    const now = clock.now();
    const params = { ...identity, now, expiresAt: now + INSTANCE_LEASE_MS };
    const holder = await tx.get<LeaseHolder>(READ);
    if (!holder) {
      await tx.run(INSERT, params);
      return { ok: true, lease: new InstanceLease(db, identity, clock), previousHolder: null, how: 'free' };
    }
    const how = judge(holder, identity, now, isAlive);
    if (how === null) return { ok: false, holder };
    if ((await tx.run(TAKE_OVER, { ...params, previousHolder: holder.holder })).changes !== 1) return { ok: false, holder };
    return { ok: true, lease: new InstanceLease(db, identity, clock), previousHolder: holder.holder, how };
  });
}

/** Why the holder may be replaced now, or null when it may still be running. */
function judge(holder: LeaseHolder, us: InstanceIdentity, now: number, isAlive: (pid: number) => boolean): 'expired' | 'holder_dead' | 'same_pid' | null {
  if (holder.expiresAt <= now) return 'expired';
  // Another host's pids say nothing about its processes: only expiry frees its lease.
  if (holder.hostname !== us.hostname) return null;
  // Our own pid: the holder was this pid before a restart (a container's pid 1); it is not running twice.
  if (holder.pid === us.pid) return 'same_pid';
  return isAlive(holder.pid) ? null : 'holder_dead';
}

/** The operator's explanation of a refusal: who holds the database, since when, until when, and what to do. */
export function describeHolder(holder: LeaseHolder, databasePath: string): string {
  return (
    `Another imagine-bot is already using the database ${databasePath}: ` +
    `process ${holder.pid} on host ${holder.hostname} (instance ${holder.holder}), running since ${new Date(holder.startedAt).toISOString()}, ` +
    `last heard from at ${new Date(holder.heartbeatAt).toISOString()}; its lease expires at ${new Date(holder.expiresAt).toISOString()} unless it renews it. ` +
    'Stop that bot first, or give this one another DATABASE_PATH.'
  );
}

/** What a process holds on its database while it runs: who it is, kept alive, given up on stop. */
export interface ProcessLease {
  readonly identity: InstanceIdentity;
  startHeartbeat(timers: Timers, onLost: () => void, onError: (error: unknown) => void): void;
  release(): Promise<void>;
}

/**
 * On PostgreSQL any number of processes share the database, so there is no database-wide lease to
 * hold: each job's own lease (locked_by, locked_until) says which process works it, and another
 * takes it over when it expires.
 */
export function sharedDatabaseLease(identity: InstanceIdentity): ProcessLease {
  return { identity, startHeartbeat: () => {}, release: async () => {} };
}

/** The lease this process holds: renewed by a heartbeat, released on stop. */
export class InstanceLease implements ProcessLease {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private held = true;
  private stopped = false;

  constructor(
    private readonly db: Sql,
    readonly identity: InstanceIdentity,
    private readonly clock: Clock,
  ) {}

  /** Extend the lease; false when it is no longer ours (another instance took it after it expired). */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const now = this.clock.now();
    this.held = (await this.db.run(RENEW, { instanceId: this.identity.instanceId, now, expiresAt: now + INSTANCE_LEASE_MS })).changes === 1;
    return this.held;
  }

  /** Renew every INSTANCE_HEARTBEAT_MS until stopped; `onLost` runs once if the lease turns out to be someone else's. */
  startHeartbeat(timers: Timers, onLost: () => void, onError: (error: unknown) => void): void {
    const beat = async () => {
      this.timer = null;
      let renewed: boolean;
      try {
        renewed = await this.renew();
      } catch (error) {
        // A busy or failing disk: try again at the next beat; the lease has 30 s of slack.
        onError(error);
        renewed = true;
      }
      if (!renewed) {
        onLost();
        return;
      }
      if (this.stopped) return;
      this.timer = timers.setTimeout(() => void beat(), INSTANCE_HEARTBEAT_MS);
    };
    this.timer = timers.setTimeout(() => void beat(), INSTANCE_HEARTBEAT_MS);
    this.stopRenewing = () => {
      this.stopped = true;
      if (this.timer !== null) timers.clearTimeout(this.timer);
      this.timer = null;
    };
  }

  /** Stop renewing and give the lease up, so the next bot starts at once. */
  async release(): Promise<void> {
    this.stopRenewing();
    const held = this.held;
    this.held = false;
    if (held) await this.db.run(RELEASE, { instanceId: this.identity.instanceId });
  }

  private stopRenewing: () => void = () => {};
}
