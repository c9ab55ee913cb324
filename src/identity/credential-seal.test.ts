import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCredentialSeal, CREDENTIAL_SEAL_BYTES } from './credential-seal.js';
import { masterKeyFrom } from '../vault/keyring.js';

const older = masterKeyFrom(randomBytes(32));
const newer = masterKeyFrom(randomBytes(32));
const account = { id: 'ana1', password_hash: 'scrypt$32768$8$1$c2FsdA$aGFzaA', mfa_secret: Buffer.from('0102', 'hex') };
const session = { id: 's-1', token_hash: randomBytes(32), account: 'ana1', device: 'dev-1', mfa: true, expires_at: new Date('2026-12-03T20:00:00.000Z') };
const token = { id: 't-1', token_hash: randomBytes(32), account: 'dispatch', registration: { events: ['assign'], sites: ['OUT-1'] } };

describe('credential seal', () => {
  const seal = createCredentialSeal([older]);

  it('verifies what it sealed, names the master key, and is fixed-size', () => {
    const s = seal.seal('account', account);
    expect(s).toHaveLength(CREDENTIAL_SEAL_BYTES);
    expect(seal.keyIdOf(s)).toBe(older.id);
    expect(seal.check('account', account, s)).toBe(true);
    expect(seal.check('session', session, seal.seal('session', session))).toBe(true);
    expect(seal.check('service_token', token, seal.seal('service_token', token))).toBe(true);
  });

  it('refuses any covered column changed, a missing seal, and a seal of another row or kind', () => {
    const s = seal.seal('account', account);
    expect(seal.check('account', { ...account, password_hash: 'scrypt$32768$8$1$x$y' }, s)).toBe(false);
    expect(seal.check('account', { ...account, mfa_secret: null }, s)).toBe(false);
    expect(seal.check('account', { ...account, id: 'ana2' }, s)).toBe(false);
    expect(seal.check('account', account, null)).toBe(false);
    expect(seal.check('account', account, s.subarray(1))).toBe(false);
    const ss = seal.seal('session', session);
    for (const changed of [{ mfa: false }, { account: 'clerk' }, { device: 'dev-2' }, { expires_at: new Date('2027-01-01T00:00:00Z') }, { token_hash: randomBytes(32) }, { id: 's-2' }]) {
      expect(seal.check('session', { ...session, ...changed }, ss)).toBe(false);
    }
    const ts = seal.seal('service_token', token);
    expect(seal.check('service_token', { ...token, registration: { events: ['assign', 'ticket'], sites: ['OUT-1'] } }, ts)).toBe(false);
    expect(seal.check('service_token', { ...token, account: 'other' }, ts)).toBe(false);
  });

  it('a registration read back from jsonb (string, keys reordered) seals the same', () => {
    const ts = seal.seal('service_token', { ...token, registration: JSON.stringify(token.registration) });
    expect(seal.check('service_token', { ...token, registration: { sites: ['OUT-1'], events: ['assign'] } }, ts)).toBe(true);
  });

  it('a seal made under the previous master key verifies while it is loaded; a key outside Warden seals nothing', () => {
    const s = seal.seal('account', account);
    const both = createCredentialSeal([newer, older]);
    expect(both.check('account', account, s)).toBe(true);
    expect(both.keyIdOf(both.seal('account', account))).toBe(newer.id);
    expect(createCredentialSeal([newer]).check('account', account, s)).toBe(false);
  });
});
