import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'adapters/**/*.test.ts', 'test/**/*.test.ts'],
    // End-to-end tests start child processes and loopback servers; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One PostgreSQL server for the run, started in the background (test/support/test-database.ts).
    globalSetup: ['./test/support/postgres-global-setup.ts'],
    // A test that makes no expect() assertion fails: waiting until something happens is not checking it.
    expect: { requireAssertions: true },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
