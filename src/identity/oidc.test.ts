import { describe, expect, it } from 'vitest';
import { mapClaims, parseOidcMapping } from './oidc.js';

describe('OIDC claim mapping', () => {
  const m = parseOidcMapping(JSON.stringify({ groups: { couriers: { role: 'courier', site: 'BJ01' }, analysts: { role: 'security_analyst' } }, site_claim: 'site' }));

  it('maps the first mapped group, with its site', () => {
    expect(mapClaims(m, { preferred_username: 'c1', groups: ['other', 'couriers', 'analysts'] })).toEqual({ ok: true, account: 'c1', role: 'courier', site: 'BJ01' });
    expect(mapClaims(m, { preferred_username: 'a1', groups: 'analysts', site: 'X' })).toEqual({ ok: true, account: 'a1', role: 'security_analyst', site: 'X' });
  });

  it('refuses an unmapped group and a missing or odd account claim', () => {
    expect(mapClaims(m, { preferred_username: 'c1', groups: ['marketing'] })).toMatchObject({ ok: false, reason: 'sso_unmapped' });
    expect(mapClaims(m, { groups: ['couriers'] })).toMatchObject({ ok: false, reason: 'sso_no_account_claim' });
    expect(mapClaims(m, { preferred_username: 'a b', groups: ['couriers'] })).toMatchObject({ ok: false, reason: 'sso_no_account_claim' });
  });

  it('takes a role claim only when it names a Warden role', () => {
    const r = parseOidcMapping(JSON.stringify({ role_claim: 'warden_role', site_claim: 'site' }));
    expect(mapClaims(r, { preferred_username: 'o1', warden_role: 'outlet_staff', site: 'S1' })).toEqual({ ok: true, account: 'o1', role: 'outlet_staff', site: 'S1' });
    expect(mapClaims(r, { preferred_username: 'o1', warden_role: 'root' })).toMatchObject({ ok: false, reason: 'sso_unmapped' });
  });

  it('rejects a bad mapping with the path named', () => {
    expect(() => parseOidcMapping('{"groups":{"g":{"role":"king"}}}')).toThrow(/WARDEN_OIDC_MAPPING: \/groups\/g\/role/);
    expect(() => parseOidcMapping('{')).toThrow(/not valid JSON/);
    expect(() => parseOidcMapping('{"extra":1}')).toThrow(/WARDEN_OIDC_MAPPING/);
  });
});
