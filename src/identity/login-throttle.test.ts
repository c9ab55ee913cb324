/**
 * Login throttling: guessing is slowed per (account, network) first; the account-wide and
 * network-wide locks apply only where the account has never logged in, so an attacker cannot
 * lock the owner out of their own outlet.
 */
import { describe, expect, it } from 'vitest';
import { createLoginThrottle, DEFAULT_THROTTLE, networkOf, type MemoryLoginThrottle as LoginThrottle, type ThrottleVerdict } from './login-throttle.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const HOME = '10.20.30.41'; // the owner's outlet
const AWAY = '198.51.100.7'; // somewhere the owner has never been

/** What the login route does: ask first, and count a failure only when the attempt was let through. */
function attempt(t: LoginThrottle, account: string, ip: string | null, now: number): ThrottleVerdict {
  const v = t.check(account, ip, now);
  if (v.ok) t.failure(account, ip, now);
  return v;
}
const denied = (v: ThrottleVerdict) => {
  expect(v.ok).toBe(false);
  return v as Extract<ThrottleVerdict, { ok: false }>;
};

describe('per (account, network) lock', () => {
  it('lets four wrong passwords through and locks the pair on the fifth', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 4; i++) t.failure('c1', AWAY, T0 + i);
    expect(t.check('c1', AWAY, T0 + 10)).toEqual({ ok: true });
    t.failure('c1', AWAY, T0 + 10);
    const v = denied(t.check('c1', AWAY, T0 + 11));
    expect(v.scope).toBe('account_network');
    expect(v.retryAfterSeconds).toBe(DEFAULT_THROTTLE.baseLockMs / 1000);
  });

  it('locks only that pair: the same account elsewhere and another account on that network still get in', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 5; i++) t.failure('c1', AWAY, T0);
    expect(t.check('c1', AWAY, T0).ok).toBe(false);
    expect(t.check('c1', HOME, T0)).toEqual({ ok: true });
    expect(t.check('c2', AWAY, T0)).toEqual({ ok: true });
  });

  it('doubles the lock with every failure after it expires, up to the cap', () => {
    const t = createLoginThrottle();
    let now = T0;
    for (let i = 0; i < 5; i++) expect(attempt(t, 'c1', AWAY, now).ok).toBe(true);
    const locks: number[] = [];
    for (let round = 0; round < 8; round++) {
      const v = denied(t.check('c1', AWAY, now));
      locks.push(v.retryAfterSeconds);
      // Attempts while locked are refused and teach nothing.
      expect(attempt(t, 'c1', AWAY, now + 1000).ok).toBe(false);
      now += v.retryAfterSeconds * 1000;
      expect(t.check('c1', AWAY, now)).toEqual({ ok: true });
      attempt(t, 'c1', AWAY, now);
    }
    expect(locks).toEqual([30, 60, 120, 240, 480, 900, 900, 900]);
  });

  it('is forgotten once no failure happened within the window', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 4; i++) t.failure('c1', AWAY, T0);
    t.failure('c1', AWAY, T0 + DEFAULT_THROTTLE.windowMs + 1);
    expect(t.check('c1', AWAY, T0 + DEFAULT_THROTTLE.windowMs + 2)).toEqual({ ok: true });
    // Not forgotten inside the window.
    const u = createLoginThrottle();
    for (let i = 0; i < 4; i++) u.failure('c1', AWAY, T0);
    u.failure('c1', AWAY, T0 + DEFAULT_THROTTLE.windowMs - 1);
    expect(u.check('c1', AWAY, T0 + DEFAULT_THROTTLE.windowMs).ok).toBe(false);
  });
});

describe('success', () => {
  it('resets the pair: four failures, a success, four more failures is still no lock', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 4; i++) t.failure('c1', HOME, T0);
    t.success('c1', HOME, T0 + 1);
    for (let i = 0; i < 4; i++) t.failure('c1', HOME, T0 + 2);
    expect(t.check('c1', HOME, T0 + 3)).toEqual({ ok: true });
  });

  it('without the success the same eight failures lock', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 8; i++) t.failure('c1', HOME, T0);
    expect(denied(t.check('c1', HOME, T0 + 3)).scope).toBe('account_network');
  });

  it('resets the account-wide count too', () => {
    const t = createLoginThrottle();
    // 19 failures spread over networks (no pair reaches 5), then the owner logs in.
    for (let i = 0; i < 19; i++) t.failure('c1', `203.0.${i}.1`, T0);
    t.success('c1', HOME, T0 + 1);
    t.failure('c1', '192.0.2.1', T0 + 2);
    expect(t.check('c1', '192.0.2.1', T0 + 3)).toEqual({ ok: true });
  });
});

describe('account-wide lock (20 failures) applies only to unknown networks', () => {
  function hammered(): LoginThrottle {
    const t = createLoginThrottle();
    t.success('c1', HOME, T0 - 86_400_000); // the owner worked from HOME yesterday
    // An attacker with 25 guesses from five networks, staying under each pair's limit of 5:
    // the first 20 are let through, then the account is closed to unknown networks.
    const outcomes: Array<boolean | string> = [];
    let n = 0;
    for (let net = 0; net < 5; net++) {
      for (let i = 0; i < 5; i++) {
        const v = attempt(t, 'c1', `198.51.${100 + net}.${i + 1}`, T0 + n++);
        outcomes.push(v.ok || v.scope);
      }
    }
    expect(outcomes).toEqual([...Array(20).fill(true), ...Array(5).fill('account')]);
    return t;
  }

  it('keeps the owner working from a network they logged in from before', () => {
    const t = hammered();
    expect(t.check('c1', HOME, T0 + 100)).toEqual({ ok: true });
    // Anywhere in their outlet's /24.
    expect(t.check('c1', '10.20.30.99', T0 + 100)).toEqual({ ok: true });
  });

  it('refuses the account from a network it has never logged in from', () => {
    const t = hammered();
    const v = denied(t.check('c1', '192.0.2.55', T0 + 100));
    expect(v.scope).toBe('account');
    expect(v.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('does not lock at 19 failures', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 19; i++) t.failure('c1', `198.51.${100 + (i % 5)}.1`, T0);
    expect(t.check('c1', '192.0.2.55', T0 + 1)).toEqual({ ok: true });
  });

  it('still applies the pair lock on a known network (the owner guessing at home)', () => {
    const t = createLoginThrottle();
    t.success('c1', HOME, T0 - 1000);
    for (let i = 0; i < 5; i++) t.failure('c1', HOME, T0);
    expect(denied(t.check('c1', HOME, T0 + 1)).scope).toBe('account_network');
  });
});

describe('network-wide lock (50 failures across accounts)', () => {
  const FLOOD_IP = (i: number) => `100.64.7.${i % 250}`;
  function flooded(): LoginThrottle {
    const t = createLoginThrottle();
    t.success('owner', '100.64.7.20', T0 - 3_600_000); // an outlet clerk who works from this NAT
    for (let i = 0; i < 50; i++) expect(attempt(t, `victim${i}`, FLOOD_IP(i), T0 + i).ok).toBe(true);
    return t;
  }

  it('blocks accounts that never logged in from that network', () => {
    const t = flooded();
    const v = denied(t.check('someone-new', '100.64.7.200', T0 + 60));
    expect(v.scope).toBe('network');
    // Including an account that has worked elsewhere, but never here.
    t.success('c9', HOME, T0 - 1000);
    expect(denied(t.check('c9', '100.64.7.201', T0 + 60)).scope).toBe('network');
  });

  it('does not block a known-good account on that network', () => {
    const t = flooded();
    expect(t.check('owner', '100.64.7.21', T0 + 60)).toEqual({ ok: true });
  });

  it('does not block other networks', () => {
    const t = flooded();
    expect(t.check('someone-new', '100.64.8.1', T0 + 60)).toEqual({ ok: true });
  });

  it('does not lock at 49 failures', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 49; i++) t.failure(`victim${i}`, FLOOD_IP(i), T0 + i);
    expect(t.check('someone-new', '100.64.7.200', T0 + 60)).toEqual({ ok: true });
  });
});

describe('networks', () => {
  it('groups IPv4 by /24, mapped IPv4 with it, and IPv6 by /48', () => {
    expect(networkOf('10.20.30.41')).toBe('10.20.30.0/24');
    expect(networkOf('::ffff:10.20.30.41')).toBe('10.20.30.0/24');
    expect(networkOf('2001:db8:1234:5678::1')).toBe('2001:db8:1234::/48');
    expect(networkOf('2001:0DB8:1234:ffff:1:2:3:4')).toBe('2001:db8:1234::/48');
    expect(networkOf('2001:db8:1234::')).toBe('2001:db8:1234::/48');
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(networkOf('2001:db8:1235::1')).not.toBe(networkOf('2001:db8:1234::1'));
    expect(networkOf(null)).toBe('unknown');
  });

  it('counts failures from different addresses of one IPv6 /48 together', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 5; i++) t.failure('c1', `2001:db8:1234:${i + 1}::${i + 9}`, T0);
    expect(denied(t.check('c1', '2001:db8:1234:ffff::1', T0 + 1)).scope).toBe('account_network');
  });

  it('keeps another /48 apart', () => {
    const t = createLoginThrottle();
    for (let i = 0; i < 5; i++) t.failure('c1', `2001:db8:1234:${i + 1}::${i + 9}`, T0);
    expect(t.check('c1', '2001:db8:1235::1', T0 + 1)).toEqual({ ok: true });
  });

  it('treats a known IPv6 /48 as known after a success from any address in it', () => {
    const t = createLoginThrottle();
    t.success('c1', '2001:db8:aaaa:1::1', T0 - 1000);
    for (let i = 0; i < 25; i++) t.failure('c1', `2001:db8:${i}::1`, T0);
    expect(t.check('c1', '2001:db8:aaaa:2::77', T0 + 1)).toEqual({ ok: true });
    expect(denied(t.check('c1', '2001:db8:bbbb::1', T0 + 1)).scope).toBe('account');
  });
});
