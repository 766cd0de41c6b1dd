import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * A clone of this repository alone must pass its tests: no tracked source file may read a path
 * outside it (a sibling `../shared`, or an absolute path on one machine).
 */
const OUTSIDE = /(\.\.\/)+shared\/|['"`]\/(work|home|root|tmp|Users)\//;

function trackedSources(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).split('\0');
  return listed.filter((path) => /\.(ts|mts|js|mjs|cjs|json)$/.test(path) && !path.endsWith('package-lock.json'));
}

describe('the repository stands alone', () => {
  it('no tracked source file names a path outside the repository', () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((path) => OUTSIDE.test(readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the pattern catches the forms that broke a fresh clone', () => {
    // Assembled, so that this file does not itself hold the forms it looks for.
    const up = '../';
    expect(OUTSIDE.test(`new URL('${up.repeat(4)}shared/specs/discord-openapi.json', import.meta.url)`)).toBe(true);
    const slash = '/';
    expect(OUTSIDE.test(`const FULL_SPEC = '${slash}work${slash}shared${slash}specs${slash}slack-web-openapi-v2.json';`)).toBe(true);
    expect(OUTSIDE.test("new URL('./spec/openapi-subset.json', import.meta.url)")).toBe(false);
  });
});
