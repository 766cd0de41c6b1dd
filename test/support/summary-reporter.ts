import type { Reporter, TestModule } from 'vitest/node';

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

const line = (label: string, counts: Counts) => `${label}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`;

/**
 * Prints one plain closing line, `Tests: N passed, N failed, N skipped`, after vitest's own
 * summary: the form CI tooling reads to tell a run that tested something from one that did not.
 * Before it, the same per project (vitest.config.ts: `sqlite`, `postgres`).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const total: Counts = { passed: 0, failed: 0, skipped: 0 };
    const byProject = new Map<string, Counts>();
    for (const module of testModules) {
      const name = module.project.name;
      const counts = byProject.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      byProject.set(name, counts);
      const count = (outcome: keyof Counts) => {
        counts[outcome]++;
        total[outcome]++;
      };
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        count(state === 'passed' ? 'passed' : state === 'failed' ? 'failed' : 'skipped');
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) count('failed');
    }
    const projects = [...byProject].filter(([name]) => name !== '').sort(([a], [b]) => a.localeCompare(b));
    process.stdout.write(`\n${projects.map(([name, counts]) => line(`Tests (${name})`, counts)).join('')}${line('Tests', total)}`);
  }
}
