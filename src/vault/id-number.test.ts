import { describe, expect, it } from 'vitest';
import { idNumberCheckChar } from './id-number.js';

describe('idNumberCheckChar', () => {
  it.each(['11010519491231002X', '310118199003071238', '110101200002290018'])(
    'gives the check character of the brief test vector %s',
    (id) => expect(idNumberCheckChar(id.slice(0, 17))).toBe(id[17]),
  );
  it('refuses a body that is not 17 digits', () => {
    expect(() => idNumberCheckChar('1101051949123100')).toThrow(/17 digits/);
  });
});
