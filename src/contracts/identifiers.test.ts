/**
 * Attack review 6: waybill, ticket and case numbers were checked for length only, so a phone, a
 * name or an address typed as one landed in the trail, the bus and the SIEM. The real ids still
 * pass: the simulator's, the demo's, the contract examples' and Warden's own case ids.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { identifierProblem, identifierRule, identifierTag, isIdentifier } from './identifiers.js';
import { waybillNumber } from '../simulate/route.js';


describe('identifiers', () => {
  it('the ids Warden and its simulator use pass', () => {
    for (let block = 3000; block < 3100; block++) {
      for (const seq of [0, 1, 13_812_345, 19_999_999, 99_999_999]) expect(isIdentifier(waybillNumber('WD', block, seq), 64)).toBe(true);
    }
    for (const id of ['SF1', 'W1', 'TK00000001', 'CASE-0042', 'T-1', 'SF1312345678901', 'YT1381234567890', 'JD0012345678901-1-1', 'api-ticket:7', 'a.b_c:d-e']) expect(identifierProblem(id, 64), id).toBeNull();
    // A random UUID holds 11 digits after a hex letter about once in 3,000: never a case id refused for that.
    for (let i = 0; i < 20_000; i++) expect(isIdentifier(`case-${randomUUID()}`, 64)).toBe(true);
    expect(isIdentifier('case-0a1b2c3d-0000-4000-8000-a13812345678', 64)).toBe(true);
  });

  it('refuses free text: spaces, Chinese characters, other punctuation, empty, over-long', () => {
    const cases: Array<[string, string]> = [
      ['Zhang San', 'charset'], ['张三', 'charset'], ['上海市浦东新区1号', 'charset'], ['a+b', 'charset'], ['x@y', 'charset'], ['a/b', 'charset'], ['tab\there', 'charset'],
      ['', 'empty'], ['x'.repeat(65), 'too_long'],
    ];
    for (const [v, problem] of cases) expect(identifierProblem(v, 64), v).toBe(problem);
    expect(identifierProblem('x'.repeat(200), 200)).toBeNull();
  });

  it('refuses a mainland mobile or a resident ID number anywhere in the value, as a whole run of digits', () => {
    for (const v of ['13812345678', 'SF13812345678', 'tel:13812345678', '19912345678-x', '8613812345678', '008613812345678', '138-1234-5678', 'T.139.1234.5678']) {
      expect(identifierProblem(v, 64), v).toBe('phone');
    }
    for (const v of ['11010519491231002X', '11010519491231002x', 'ID:440306199001011236', '110105198005150411-A']) expect(identifierProblem(v, 64), v).toBe('id_number');
    // An 18-digit run that is no ID number (wrong check character, no such region or birth date) is a waybill number.
    for (const v of ['110105194912310021', '123456789012345678', 'SF440306199001011237', '99030619900101123X']) expect(identifierProblem(v, 64), v).toBeNull();
    // Attack review 8: the same numbers written in parts, with any of the separators.
    for (const v of ['138_1234_5678', '138:1234:5678', '1381234-5678', '138-12345678', '0-138-1234-5678', 'W:86_138_1234_5678']) expect(identifierProblem(v, 64), v).toBe('phone');
    for (const v of ['110105-19491231-002X', '110105_19491231_002X', '110105.1949.1231.002X', '440306-199001011236', '110105-491231-002']) expect(identifierProblem(v, 64), v).toBe('id_number');
    // In parts that spell nothing personal: dates, sequences, a plain 15-digit run (a waybill number).
    for (const v of ['TK-20261203-0001', '2026-12-03', 'WD7-0012-00000123', '110105491231002', 'SF1234567890-1-1', '128-1234-5678']) expect(identifierProblem(v, 64), v).toBeNull();
    // Longer or shorter runs are not those numbers (a waybill number is a long run of digits).
    for (const v of ['12812345678', '1381234567', '138123456789', '7138123456789', '1101051949123100211', '11010519491231002X1']) expect(identifierProblem(v, 64), v).toBeNull();
  });

  it('a refusal names the rule, never the value; an audited value is a keyed tag', () => {
    expect(identifierRule('phone', 64)).not.toMatch(/\d{5}/);
    expect(identifierRule('too_long', 64)).toBe('at most 64 characters');
    const k1 = Buffer.alloc(32, 1);
    const k2 = Buffer.alloc(32, 2);
    const tag = identifierTag(k1, '13812345678');
    expect(tag).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(identifierTag(k1, '13812345678')).toBe(tag);
    expect(identifierTag(k2, '13812345678')).not.toBe(tag);
    expect(tag).not.toContain('1381234');
  });
});
