import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { consumeStep, createTotpFactor } from './totp.js';
import { accountTag } from './account-tag.js';

describe('the TOTP factor', () => {
  const factor = createTotpFactor(randomBytes(32));
  const t0 = Date.UTC(2026, 2, 2, 1, 0, 0);

  it('gives the time step a code belongs to, one step either side, and null otherwise', () => {
    const f = factor.create('c1');
    const totp = new TOTP({ secret: Secret.fromBase32(f.base32), digits: 6, period: 30 });
    const step = Math.floor(t0 / 30_000);
    expect(factor.stepOf('c1', f.sealed, totp.generate({ timestamp: t0 }), t0)).toBe(step);
    expect(factor.stepOf('c1', f.sealed, totp.generate({ timestamp: t0 - 30_000 }), t0)).toBe(step - 1);
    expect(factor.stepOf('c1', f.sealed, totp.generate({ timestamp: t0 + 30_000 }), t0)).toBe(step + 1);
    expect(factor.stepOf('c1', f.sealed, totp.generate({ timestamp: t0 - 90_000 }), t0)).toBeNull();
  });

  it('binds the sealed secret to its account', () => {
    const f = factor.create('c1');
    expect(() => factor.stepOf('c2', f.sealed, '123456', t0)).toThrow();
  });
});

describe('the failed-login account tag', () => {
  it('is keyed, deterministic and never the typed text', () => {
    const k = randomBytes(32);
    expect(accountTag(k, 'Hunter2!')).toMatch(/^unknown:[0-9a-f]{16}$/);
    expect(accountTag(k, 'Hunter2!')).toBe(accountTag(k, 'Hunter2!'));
    expect(accountTag(k, 'Hunter2!')).not.toBe(accountTag(k, 'hunter2!'));
    expect(accountTag(k, 'Hunter2!')).not.toBe(accountTag(randomBytes(32), 'Hunter2!'));
  });
});

describe.each(testBackends())('consuming a time step on %s', (backend) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await createTestStore(backend);
    await t.store.db.insertInto('sites').values({ code: 'S', kind: 'outlet', city: 'x' }).execute();
    await t.store.db
      .insertInto('accounts')
      .values({ id: 'c1', role: 'courier', site: 'S', password_hash: null, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null, pending_role: null, pending_site: null, requested_by: null, requested_at: null, created_by: null, approved_by: null, mfa_last_step: null })
      .execute();
  });
  afterAll(() => t.dispose());

  const consume = (step: number) => t.store.db.transaction().execute((tx) => consumeStep(tx, 'c1', step));

  it('moves only forward: the same or an older step is a replay', async () => {
    expect(await consume(100)).toBe(true);
    expect(await consume(100)).toBe(false);
    expect(await consume(99)).toBe(false);
    expect(await consume(101)).toBe(true);
  });

  it('lets exactly one of several concurrent transactions take a step', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => consume(200)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
