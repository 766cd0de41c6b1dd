/**
 * How often the bots wait for PostgreSQL's write lock: every write transaction of every process
 * takes one advisory lock (src/store/postgres-sql.ts, WRITE_LOCK_KEY), so connections waiting on it
 * show whether that lock is what limits more processes. Sampled from pg_stat_activity
 * (https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ACTIVITY-VIEW).
 */
import pg from 'pg';

export interface WriteLockFigures {
  readonly samples: number;
  /** Mean connections waiting for the advisory lock at a sample. */
  readonly meanWaiting: number;
  /** Share of samples with at least one connection waiting for it. */
  readonly shareContended: number;
}

export interface WriteLockSampler {
  stop(): Promise<WriteLockFigures>;
}

const SAMPLE = `
  select count(*) filter (where wait_event_type = 'Lock' and wait_event = 'advisory') as waiting
    from pg_stat_activity
   where datname = $1 and pid <> pg_backend_pid()`;

/** Sample `database`'s connections every `everyMs` through a connection of its own, until stopped. */
export async function sampleWriteLock(url: string, database: string, everyMs: number): Promise<WriteLockSampler> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const waitingAtSamples: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await client.query<{ waiting: string }>(SAMPLE, [database]);
      waitingAtSamples.push(Number(rows[0]?.waiting ?? 0));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })().catch(() => {
    // The server went away mid-run: the figures cover the samples taken until then.
  });
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end();
      const samples = waitingAtSamples.length;
      return {
        samples,
        meanWaiting: waitingAtSamples.reduce((sum, n) => sum + n, 0) / Math.max(1, samples),
        shareContended: waitingAtSamples.filter((n) => n > 0).length / Math.max(1, samples),
      };
    },
  };
}
