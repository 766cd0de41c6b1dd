/** DATABASE_URL is checked where it arrives, and its password never reaches a message or a log. */
import { describe, expect, it } from 'vitest';
import { DatabaseUrlInvalidError, parseDatabaseUrl } from './postgres-url.ts';

const SHAPE = 'it should look like postgres://user:password@db.example.com:5432/imagine_bot.';

describe('parseDatabaseUrl', () => {
  it.each([
    { url: 'hunter2', problem: 'is not a URL' },
    { url: 'db.example.com:5432/imagine_bot', problem: 'must start with postgres:// or postgresql://' },
    { url: 'mysql://bot:hunter2@db.example.com/imagine_bot', problem: 'must start with postgres:// or postgresql://' },
    { url: 'postgres:///imagine_bot', problem: 'names no host' },
  ])('refuses $url: DATABASE_URL $problem', ({ url, problem }) => {
    let thrown: unknown;
    try {
      parseDatabaseUrl(url);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DatabaseUrlInvalidError);
    expect(thrown).toMatchObject({ code: 'database.url_invalid', problem, message: `DATABASE_URL ${problem}: ${SHAPE}` });
    expect((thrown as Error).message).not.toContain('hunter2');
  });

  it('describes the database without its password, in the userinfo or the query', () => {
    const target = parseDatabaseUrl('postgresql://bot:s3cr%40t@db.example.com:6543/imagine?sslmode=require&password=other');
    expect(target.description).toBe('postgresql://bot@db.example.com:6543/imagine?sslmode=require');
    expect(target.server).toBe('db.example.com:6543');
  });

  it('names the default port when the URL has none', () => {
    expect(parseDatabaseUrl('postgres://bot@db.internal/imagine').server).toBe('db.internal:5432');
  });

  it('redacts the password in either spelling from a foreign message', () => {
    const target = parseDatabaseUrl('postgres://bot:s3cr%40t@db.internal/imagine');
    expect(target.redact('auth failed for s3cr@t (s3cr%40t)')).toBe('auth failed for *** (***)');
  });

  it('keeps the URL as given for the pool', () => {
    expect(parseDatabaseUrl('  postgres://bot:pw@db.internal/imagine ').connectionString).toBe('postgres://bot:pw@db.internal/imagine');
  });
});
