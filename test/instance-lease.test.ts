/**
 * One bot per database, as an operator meets it: a second bot started on the same DATABASE_PATH
 * exits at once naming the first; after a clean stop, or a SIGKILL (same host, pid gone), the next
 * bot starts at once instead of waiting for the lease to expire.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot, type BotExit, type BotProcess } from './support/bot-process.ts';
import { waitFor } from './support/wait-for.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface LeaseRow {
  holder: string;
  hostname: string;
  pid: number;
}

function readLease(path: string): LeaseRow | undefined {
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("select 1 from sqlite_master where name = 'instance_lease'").get();
    return table ? (db.prepare('select holder, hostname, pid from instance_lease').get() as LeaseRow | undefined) : undefined;
  } finally {
    db.close();
  }
}

function arrange(): { databasePath: string; start: (input: 'open' | 'closed') => BotProcess } {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-lease-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const databasePath = join(dir, 'bot.sqlite');
  // No Runway key: the sandbox with its built-in simulator, as an operator would first try it.
  const env = { DATABASE_PATH: databasePath, OUTPUT_DIR: join(dir, 'output'), LOG_LEVEL: 'warn' };
  return {
    databasePath,
    start: (input) => {
      const bot = startBot({ env, input });
      cleanups.push(async () => void (await bot.kill()));
      return bot;
    },
  };
}

async function exitOf(bot: BotProcess): Promise<BotExit> {
  let exit: BotExit | undefined;
  void bot.exited.then((value) => (exit = value));
  return waitFor('the bot to exit', () => exit, { timeoutMs: 20_000 });
}

describe('one bot per database', () => {
  it('a second bot on the same DATABASE_PATH exits with a message naming the first; after a clean stop the next starts', async () => {
    const scene = arrange();
    const first = scene.start('open');
    const lease = await waitFor('the first bot to take the lease', () => (first.assertAlive(), readLease(scene.databasePath)));
    expect(lease.hostname).toBe(hostname());

    const second = scene.start('closed');
    expect(await exitOf(second)).toEqual({ code: 1, signal: null });
    expect(second.stderr()).toContain(
      `imagine-bot cannot start. Another imagine-bot is already using the database ${scene.databasePath}: process ${lease.pid} on host ${lease.hostname} (instance ${lease.holder}), running since `,
    );
    expect(second.stderr()).toContain('Stop that bot first, or give this one another DATABASE_PATH.');
    first.assertAlive();
    expect(readLease(scene.databasePath)).toEqual(lease);

    expect(await first.terminate()).toEqual({ code: 0, signal: null });
    expect(readLease(scene.databasePath)).toBeUndefined();
    const third = scene.start('closed');
    expect(await exitOf(third), third.stderr()).toEqual({ code: 0, signal: null });
  });

  it('after a SIGKILL the next bot on the same host takes over at once: the holder’s pid is gone', async () => {
    const scene = arrange();
    const first = scene.start('open');
    const lease = await waitFor('the first bot to take the lease', () => (first.assertAlive(), readLease(scene.databasePath)));
    await first.kill();
    expect(readLease(scene.databasePath)).toEqual(lease); // nothing ran to release it

    const next = scene.start('open');
    const taken = await waitFor('the next bot to take the lease', () => {
      next.assertAlive();
      const now = readLease(scene.databasePath);
      return now && now.holder !== lease.holder ? now : undefined;
    });
    expect(taken.hostname).toBe(lease.hostname);
    expect(taken.pid).not.toBe(lease.pid);
  });
});
