import { describe, expect, it } from 'vitest';
import { expandPool } from './privacy.js';
import { mergePolicy, policyHash, DEFAULT_POLICY } from '../access/policy.js';

const section = { roles: ['courier'], pool: ['17100000000-17100000009', '17200000000'], expiry_hours_after_delivery: 24, max_hours: 72, cooldown_hours: 48, low_water: 2, telephony_accounts: ['tel'] };

describe('privacy-number settings', () => {
  it('expands ranges and single numbers, once each', () => {
    expect(expandPool(section.pool)).toHaveLength(11);
    expect(expandPool(['17100000000', '17100000000-17100000001'])).toEqual(['17100000000', '17100000001']);
    expect(() => expandPool(['17100000009-17100000000'])).toThrow(/backwards/);
    expect(() => expandPool(['13000000000-13000200000'])).toThrow(/more than/);
  });

  it('the policy file takes a privacy_numbers section; without one nothing changes (same hash as before)', () => {
    expect(mergePolicy({ privacy_numbers: section }).privacy_numbers).toEqual(section);
    expect(mergePolicy({})).not.toHaveProperty('privacy_numbers');
    expect(policyHash(mergePolicy({}))).toBe(policyHash(DEFAULT_POLICY));
  });

  it('refuses a malformed section naming the key', () => {
    expect(() => mergePolicy({ privacy_numbers: { ...section, roles: ['couriers'] } })).toThrow(/privacy_numbers/);
    expect(() => mergePolicy({ privacy_numbers: { ...section, pool: ['12345'] } })).toThrow(/privacy_numbers/);
    expect(() => mergePolicy({ privacy_numbers: { ...section, extra: 1 } })).toThrow(/privacy_numbers/);
  });
});
