import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The backend matrix. Project `sqlite` runs every test file, with SQLite as the store; project
 * `postgres` runs the files that touch the store again, with a real PostgreSQL server as the
 * store (test/support/test-database.ts: `openTestDb`, `openSharedTestDb` and `newTestStore` follow
 * the project). test/backend-matrix.test.ts checks that every file that touches the store is in
 * exactly one of the lists below.
 */

/** Files that touch the store through the project's backend: they run in both projects. */
export const STORE_TESTS = [
  // The store's repositories and transitions, on a fresh database per test.
  'src/admin/commands.test.ts',
  'src/commands/quota-command.test.ts',
  'src/credits/budgets.test.ts',
  'src/credits/ledger.test.ts',
  'src/credits/rollover.properties.test.ts',
  'src/jobs/organization-usage.test.ts',
  'src/jobs/transitions/ownership.test.ts',
  'src/jobs/transitions/transitions.test.ts',
  'src/moderation/moderation.test.ts',
  'src/runway/organization.test.ts',
  'src/store/deliveries.test.ts',
  // Several connections and OS processes racing on one database.
  'test/ledger-concurrency.test.ts',
  'test/transitions-concurrency.test.ts',
  // The real core in process (test/support/core-harness.ts, or createApp).
  'test/actions-core.test.ts',
  'test/admin-beside-bot.test.ts',
  'test/catalogue-requests.test.ts',
  'test/communities.test.ts',
  'test/core.test.ts',
  'test/engine.test.ts',
  'test/hostile-discord.test.ts',
  'test/hostile-runway.test.ts',
  'test/hostile-slack.test.ts',
  'test/moderation-guards.test.ts',
  'test/organization.test.ts',
  'test/poll-schedule-run.test.ts',
  'test/result-actions.test.ts',
  'test/service-health.test.ts',
  'test/service-metrics.test.ts',
  'test/slack-adapter.test.ts',
  // The real bot as a child process (test/support/bot-store.ts reads its store).
  'test/actions-discord-e2e.test.ts',
  'test/actions-slack-e2e.test.ts',
  'test/discord-e2e.test.ts',
  'test/hostile-logs-e2e.test.ts',
  'test/operator-bounds-e2e.test.ts',
  'test/slack-e2e.test.ts',
  'test/slack-socket-mode.test.ts',
];

/** Files that touch only SQLite, for what only SQLite has: they run in project `sqlite` alone. */
export const SQLITE_ONLY_TESTS = [
  // SQLite's own schema history: upgrading files written by older versions, pragmas, the backup
  // taken before an upgrade. PostgreSQL's migrations are test/open-postgres.test.ts's.
  'src/store/migrations.test.ts',
  // The instance lease: one bot process per SQLite file. PostgreSQL has none (any number of bots
  // share it, each leasing its own jobs); test/failover-postgres.test.ts is its restart and takeover.
  'src/store/instance-lease.test.ts',
  'test/instance-lease.test.ts',
  'test/crash.test.ts',
  // Backups copy the SQLite file (VACUUM INTO, the restore steps); on PostgreSQL the tool refuses
  // and names pg_dump. admin-cli is the tool on the file beside a bot's WAL connection and its
  // lease row, and a file it must never create or migrate (beside the core on either store:
  // test/admin-beside-bot.test.ts; on PostgreSQL as a child process: operator-bounds-e2e).
  'test/service-backup.test.ts',
  'test/admin-cli.test.ts',
];

/**
 * Files that choose their backends themselves (`describe.each(BACKENDS)`, or PostgreSQL on
 * purpose): one run covers what they cover, so they run in project `sqlite` alone.
 */
export const OWN_BACKEND_TESTS = [
  'src/store/postgres-sql.test.ts',
  'test/admin-copy.test.ts',
  'test/copy-to-postgres.test.ts',
  'test/discord-sharding-e2e.test.ts',
  'test/failover-postgres.test.ts',
  'test/open-postgres.test.ts',
  'test/postgres-restart-e2e.test.ts',
  'test/postgres-restart.test.ts',
  'test/postgres-schema.test.ts',
  'test/slack-two-processes-e2e.test.ts',
  'test/sql-transactions.test.ts',
];

/** What every project shares. */
const common = {
  // End-to-end tests start child processes and loopback servers; give them room on a 2-core machine.
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: 'forks',
  // A test that makes no expect() assertion fails: waiting until something happens is not checking it.
  expect: { requireAssertions: true },
} as const;

export default defineConfig({
  test: {
    // One PostgreSQL server for the whole run, started in the background (test/support/test-database.ts).
    // Here at the root, not in the projects, so that it starts once: a project's own globalSetup runs per project.
    globalSetup: ['./test/support/postgres-global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // At least two files at once, where vitest would run one on a 2-core machine: most of the suite
    // waits on child processes, loopback servers and PostgreSQL rather than on the CPU (there, 5.5
    // minutes instead of 9 for the two projects).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      { test: { ...common, name: 'sqlite', include: ['src/**/*.test.ts', 'adapters/**/*.test.ts', 'test/**/*.test.ts'] } },
      { test: { ...common, name: 'postgres', include: STORE_TESTS, provide: { testBackend: 'postgres' } } },
    ],
  },
});
