/**
 * `toPositional` turns the SQLite spelling of parameters (`@name`, `?`) into PostgreSQL's `$n`. A
 * parameter sign inside a literal, a quoted name or a comment is text, and must stay text.
 */
import { describe, expect, it } from 'vitest';
import { toPositional } from './postgres-sql.ts';

describe('toPositional', () => {
  it('numbers named parameters in order of first use', () => {
    expect(toPositional('select * from jobs where community_id = @communityId and user_id = @userId')).toEqual({
      text: 'select * from jobs where community_id = $1 and user_id = $2',
      names: ['communityId', 'userId'],
    });
  });

  it('gives a name used twice one number', () => {
    expect(toPositional('update jobs set updated_at = @now, finished_at = @now where id = @id and run_at <= @now')).toEqual({
      text: 'update jobs set updated_at = $1, finished_at = $1 where id = $2 and run_at <= $1',
      names: ['now', 'id'],
    });
  });

  it('numbers ? parameters left to right and reports no names', () => {
    expect(toPositional('insert into blocked_words (community_id, word, added_by, added_at) values (?, ?, ?, ?)')).toEqual({
      text: 'insert into blocked_words (community_id, word, added_by, added_at) values ($1, $2, $3, $4)',
      names: null,
    });
  });

  it('leaves @ and ? inside string literals alone, doubled quotes included', () => {
    expect(toPositional("select 'who@where?', 'it''s @not ? a parameter', @real")).toEqual({
      text: "select 'who@where?', 'it''s @not ? a parameter', $1",
      names: ['real'],
    });
  });

  it('leaves @ and ? inside quoted identifiers alone', () => {
    expect(toPositional('select "odd@name?" from jobs where id = ?')).toEqual({ text: 'select "odd@name?" from jobs where id = $1', names: null });
  });

  it('leaves @ and ? inside line comments alone', () => {
    expect(toPositional('select id -- the @id? no: the row\nfrom jobs where id = @id')).toEqual({
      text: 'select id -- the @id? no: the row\nfrom jobs where id = $1',
      names: ['id'],
    });
  });

  it('leaves @ and ? inside block comments alone', () => {
    expect(toPositional('select /* @skip ? */ id from jobs where id = @id /* trailing ? */')).toEqual({
      text: 'select /* @skip ? */ id from jobs where id = $1 /* trailing ? */',
      names: ['id'],
    });
  });

  it('stops a name at a cast and leaves a bare @ operator alone', () => {
    expect(toPositional('select @amount::bigint, a @> b from t')).toEqual({ text: 'select $1::bigint, a @> b from t', names: ['amount'] });
  });

  it('reports an empty list of names for a statement without parameters', () => {
    expect(toPositional('select count(*) from ledger')).toEqual({ text: 'select count(*) from ledger', names: [] });
  });

  it('refuses a statement that mixes ? and @name', () => {
    expect(() => toPositional('select * from jobs where id = ? and state = @state')).toThrow('a statement mixes ? and @name parameters');
  });
});
