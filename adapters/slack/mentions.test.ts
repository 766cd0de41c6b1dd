import { describe, expect, it } from 'vitest';
import { stripBotMention } from './mentions.ts';

describe('stripBotMention', () => {
  it('removes every mention of the bot, with or without its name, and keeps other people', () => {
    expect(stripBotMention('<@UBOT1|imagine-bot> a cat with <@UANA|ana> <@UBOT1>', 'UBOT1')).toBe('a cat with <@UANA|ana>');
  });

  it("without the bot's id, removes the first mention only (the one that summoned it)", () => {
    expect(stripBotMention('<@UBOT1> a cat with <@UANA>', undefined)).toBe('a cat with <@UANA>');
  });
});
