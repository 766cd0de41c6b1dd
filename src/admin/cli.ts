/**
 * `npm run admin -- <command>`: argv → config → database → command → print → exit. Everything it
 * decides is in commands.ts; this file only does the process's I/O. See USAGE in args.ts.
 */
import { writeFileSync } from 'node:fs';
import { systemClock } from '../clock.ts';
import { ConfigError, loadConfig, loadDotEnvFile, type Config } from '../config.ts';
import type { CreditDefaults } from '../credits/types.ts';
import { parseAdminArgs, USAGE } from './args.ts';
import { runBackup } from './backup.ts';
import { adminContext, runCommand } from './commands.ts';
import { runCopyToPostgres } from './copy.ts';
import { openAdminPostgres, openAdminSqlite } from './open.ts';
import { failed, refused, succeeded, type AdminResult } from './result.ts';

/** Run the tool for `argv` (without node and the script) and return what to print and the exit code. */
async function main(argv: readonly string[]): Promise<AdminResult> {
  // A mistake in the command (or `help`) needs neither the configuration nor the database.
  const parsed = parseAdminArgs(argv);
  if (!parsed.ok) return refused(parsed.problem);
  if (parsed.command.name === 'help') return succeeded(USAGE);

  let config: Config;
  try {
    loadDotEnvFile();
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) return failed({ code: error.code, message: `${error.message}\nSee .env.example for every variable.` });
    throw error;
  }
  if (parsed.command.name === 'copy-to-postgres') return runCopyToPostgres(config.databasePath, parsed.command, systemClock);
  if (parsed.command.name === 'backup') {
    if (config.databaseUrl !== undefined) {
      return refused({ code: 'admin.backup_postgres', message: "backup copies the SQLite file; on PostgreSQL (DATABASE_URL) use PostgreSQL's own pg_dump." });
    }
    return runBackup(config.databasePath, parsed.command, systemClock);
  }
  const opened = config.databaseUrl !== undefined ? await openAdminPostgres(config.databaseUrl) : openAdminSqlite(config.databasePath);
  if (!opened.ok) return failed(opened.problem);
  const { db } = opened;
  try {
    const result = await runCommand(adminContext(db, systemClock, creditDefaults(config)), parsed.command);
    return result.file ? writeOut(result, result.file) : result;
  } catch (error) {
    return failed(databaseProblem(error, config.databaseUrl !== undefined ? db.description : config.databasePath));
  } finally {
    await db.close();
  }
}

/** The bot's credit defaults as its configuration gives them. */
function creditDefaults(config: Config): CreditDefaults {
  const { defaultAllowance, defaultPeriod, communityBudget, operatorBudget } = config.credits;
  return { allowance: defaultAllowance, period: defaultPeriod, communityBudget, operatorBudget };
}

function writeOut(result: AdminResult, file: { path: string; contents: string }): AdminResult {
  try {
    writeFileSync(file.path, file.contents);
    return succeeded(result.stdout);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return failed({ code: 'admin.cannot_write', message: `Cannot write ${file.path} (${reason}): check the directory exists and is writable.` });
  }
}

function databaseProblem(error: unknown, path: string): { code: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_BUSY') return { code: 'admin.database_busy', message: `The database at ${path} stayed locked for 5 s: try again in a moment.` };
  const reason = error instanceof Error ? error.message : String(error);
  return { code: 'admin.database_error', message: `The database at ${path} could not be used (${reason}). Nothing was changed.` };
}

const result = await main(process.argv.slice(2));
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.exitCode;
