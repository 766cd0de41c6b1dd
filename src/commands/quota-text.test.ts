import { describe, expect, it } from 'vitest';
import { parseQuotaText, quotaHelpText, type ResolveUser } from './quota-text.ts';

/** Slack mentions (`<@U123|ana>`) and sandbox plain names, as the adapters would resolve them. */
const resolve: ResolveUser = (token) => {
  const slack = /^<@([A-Z0-9]+)(?:\|([^>]+))?>$/.exec(token);
  if (slack?.[1]) return { userId: slack[1], userName: slack[2] ?? slack[1] };
  return token === 'bo' ? { userId: 'sandbox-bo', userName: 'bo' } : null;
};

describe('parseQuotaText', () => {
  it('reads each sub-command', () => {
    expect(parseQuotaText('grant <@U123|ana> 20', resolve)).toEqual({
      ok: true, command: { action: 'grant', userId: 'U123', userName: 'ana', amount: '20' },
    });
    expect(parseQuotaText('  SET   bo 0 ', resolve)).toEqual({
      ok: true, command: { action: 'set', userId: 'sandbox-bo', userName: 'bo', amount: '0' },
    });
    expect(parseQuotaText('allowance 50 week', resolve)).toEqual({ ok: true, command: { action: 'allowance', amount: '50', period: 'week' } });
    expect(parseQuotaText('allowance 50', resolve)).toEqual({ ok: true, command: { action: 'allowance', amount: '50', period: undefined } });
    expect(parseQuotaText('cap off', resolve)).toEqual({ ok: true, command: { action: 'cap', amount: 'off', period: undefined } });
    expect(parseQuotaText('cap 500 month', resolve)).toEqual({ ok: true, command: { action: 'cap', amount: '500', period: 'month' } });
    expect(parseQuotaText('report', resolve)).toEqual({ ok: true, command: { action: 'report' } });
  });

  it('keeps bad amounts raw so /quota can explain them', () => {
    expect(parseQuotaText('grant bo -5', resolve)).toMatchObject({ ok: true, command: { amount: '-5' } });
  });

  it('answers help and an empty /quota with the help text', () => {
    for (const text of ['', '   ', 'help', 'HELP']) {
      expect(parseQuotaText(text, resolve)).toEqual({ ok: false, failure: { code: 'quota.help', userMessage: quotaHelpText() } });
    }
    expect(quotaHelpText()).toContain('/quota grant <user> <amount>');
  });

  it('lists the sub-commands for an unknown one', () => {
    const result = parseQuotaText('give bo 5', resolve);
    expect(result).toMatchObject({ ok: false, failure: { code: 'quota.unknown_subcommand' } });
    if (!result.ok) for (const sub of ['set', 'grant', 'allowance', 'cap', 'report']) expect(result.failure.userMessage).toContain(`\`${sub}\``);
  });

  it('says who it could not find, and how to use a sub-command given the wrong arguments', () => {
    expect(parseQuotaText('grant nobody 5', resolve)).toMatchObject({ ok: false, failure: { code: 'quota.unknown_user' } });
    expect(parseQuotaText('grant bo', resolve)).toMatchObject({ ok: false, failure: { code: 'quota.usage', userMessage: expect.stringContaining('/quota grant <user> <amount>') } });
    expect(parseQuotaText('allowance', resolve)).toMatchObject({ ok: false, failure: { code: 'quota.usage' } });
    expect(parseQuotaText('cap 5 week extra', resolve)).toMatchObject({ ok: false, failure: { code: 'quota.usage' } });
    expect(parseQuotaText('report now', resolve)).toMatchObject({ ok: false, failure: { code: 'quota.usage' } });
  });
});
