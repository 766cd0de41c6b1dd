import { describe, expect, it } from 'vitest';
import { MODELS } from '../models.ts';
import { imagineHelpText } from './help.ts';

describe('imagineHelpText', () => {
  it('lists every catalogue model with its id, price and reference needs', () => {
    const text = imagineHelpText();
    for (const model of MODELS) expect(text).toContain(`\`${model.id}\``);
    expect(text).toContain('5–8 credits');
    expect(text).toContain('needs 1–3 reference images');
    expect(text).toContain('no seed');
    expect(text).toContain('`landscape` = 1920:1080');
  });
});
