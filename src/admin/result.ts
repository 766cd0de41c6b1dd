/**
 * What one run of the operator's tool produces: text for stdout and stderr, an exit code, and the
 * stable code of the mistake (null on success). The core never prints or exits; `cli.ts` does.
 */

/**
 * 0: done. 2: the command was wrong (unknown command or community, a bad amount, period or date):
 * nothing was changed. 1: the tool could not work (configuration, database, writing --out).
 */
export type ExitCode = 0 | 1 | 2;

export interface AdminResult {
  readonly exitCode: ExitCode;
  readonly stdout: string;
  readonly stderr: string;
  /** A stable machine code for the mistake (`admin.unknown_community`…); null when the command succeeded. */
  readonly code: string | null;
  /** `export --out`: what to write and where; the CLI writes it (the core does no file I/O). */
  readonly file?: { readonly path: string; readonly contents: string };
}

/** A mistake the operator can fix, with its stable code and the one line that says how. */
export interface AdminProblem {
  readonly code: string;
  readonly message: string;
}

/** A successful run printing `stdout` (a trailing newline is added when missing). */
export function succeeded(stdout: string, file?: AdminResult['file']): AdminResult {
  return { exitCode: 0, stdout: withNewline(stdout), stderr: '', code: null, ...(file ? { file } : {}) };
}

/** A refused command: its one-line explanation on stderr, exit code 2, nothing changed. */
export function refused(problem: AdminProblem): AdminResult {
  return { exitCode: 2, stdout: '', stderr: withNewline(problem.message), code: problem.code };
}

/** The tool could not do its work (database, file system): exit code 1. */
export function failed(problem: AdminProblem): AdminResult {
  return { exitCode: 1, stdout: '', stderr: withNewline(problem.message), code: problem.code };
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}
