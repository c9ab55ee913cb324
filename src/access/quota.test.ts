/**
 * The quota ledger: records revealed (not requests) over minute/hour/day sliding windows at
 * once, per account, per device and per site (by role); released when the audit write fails;
 * rebuilt from the audit trail at start.
 */
import { describe, expect, it } from 'vitest';
import { createQuotaLedger, createSearchQuotaLedger, type QuotaResult, type QuotaSubject } from './quota.js';
import { DEFAULT_POLICY, mergePolicy, type Policy, type RoleQuota } from './policy.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const courier = (account = 'c1', device: string | null = `${account}-pda`, site: string | null = 'OUT-1'): QuotaSubject => ({ role: 'courier', account, device, site });

function ledger(courierQuota: RoleQuota): ReturnType<typeof createQuotaLedger> {
  const quotas: Policy['quotas'] = { ...DEFAULT_POLICY.quotas, courier: courierQuota };
  return createQuotaLedger({ quotas });
}
const WIDE = { per_minute: 1000, per_hour: 10_000, per_day: 100_000 };
const refused = (r: QuotaResult) => {
  expect(r.ok).toBe(false);
  return r as Extract<QuotaResult, { ok: false }>;
};

describe('windows', () => {
  it('counts records, not calls: a batch of 3 uses 3 of the minute', () => {
    const q = ledger({ account: { per_minute: 5 }, device: WIDE, site: WIDE });
    expect(q.tryConsume(courier(), 3, T0).ok).toBe(true);
    expect(q.usage(courier(), T0).account.per_minute).toBe(3);
    const r = refused(q.tryConsume(courier(), 3, T0 + 1000));
    expect(r).toMatchObject({ scope: 'account', window: 'per_minute', limit: 5 });
    expect(q.tryConsume(courier(), 2, T0 + 1000).ok).toBe(true);
    expect(refused(q.tryConsume(courier(), 1, T0 + 2000)).window).toBe('per_minute');
  });

  it('a refusal counts nothing', () => {
    const q = ledger({ account: { per_minute: 2 }, device: WIDE, site: WIDE });
    q.tryConsume(courier(), 2, T0);
    for (let i = 0; i < 5; i++) q.tryConsume(courier(), 1, T0 + i);
    expect(q.usage(courier(), T0 + 10).account.per_minute).toBe(2);
  });

  it('slides: the minute frees up after a minute, the hour keeps counting', () => {
    const q = ledger({ account: { per_minute: 5, per_hour: 8 }, device: WIDE, site: WIDE });
    expect(q.tryConsume(courier(), 5, T0).ok).toBe(true);
    expect(refused(q.tryConsume(courier(), 1, T0 + 30_000)).window).toBe('per_minute');
    expect(q.tryConsume(courier(), 3, T0 + 2 * MIN).ok).toBe(true);
    const r = refused(q.tryConsume(courier(), 1, T0 + 3 * MIN));
    expect(r).toMatchObject({ window: 'per_hour', limit: 8 });
    expect(r.retryAfterSeconds).toBeGreaterThan(50 * 60);
    expect(r.retryAfterSeconds).toBeLessThanOrEqual(62 * 60);
    expect(q.tryConsume(courier(), 1, T0 + HOUR + 2 * MIN).ok).toBe(true);
  });

  it('enforces the day across hours', () => {
    const q = ledger({ account: { per_hour: 100, per_day: 150 }, device: WIDE, site: WIDE });
    for (let h = 0; h < 3; h++) q.tryConsume(courier(), 50, T0 + h * HOUR);
    expect(refused(q.tryConsume(courier(), 1, T0 + 5 * HOUR)).window).toBe('per_day');
    expect(q.tryConsume(courier(), 1, T0 + DAY + HOUR).ok).toBe(true);
  });

  it('refuses everything for a role whose limit is 0 (sorting, it_admin, service)', () => {
    const q = createQuotaLedger(DEFAULT_POLICY);
    expect(refused(q.tryConsume({ role: 'sorting', account: 's1', device: null, site: 'SORT-1' }, 1, T0)).limit).toBe(0);
    expect(q.tryConsume(courier(), 1, T0).ok).toBe(true);
  });

  it('gives a Retry-After that, when waited, is enough', () => {
    const q = ledger({ account: { per_minute: 4 }, device: WIDE, site: WIDE });
    for (let i = 0; i < 4; i++) q.tryConsume(courier(), 1, T0 + i * 7000);
    const r = refused(q.tryConsume(courier(), 1, T0 + 30_000));
    expect(r.retryAfterSeconds).toBeGreaterThan(0);
    expect(q.tryConsume(courier(), 1, T0 + 30_000 + r.retryAfterSeconds * 1000).ok).toBe(true);
  });

  // Regression, fixed (src/access/quota.ts, SlidingCount.sum): a bucket is counted only while its *start* is
  // inside the window (`starts[i] > now - spanMs`), so records leave up to one bucket early
  // (5 s of a minute, 1 min of an hour, 15 min of a day). Here 10 records pass a 5/minute
  // limit within 55 s. retryAfter() already assumes a bucket leaves at start + bucketMs + span;
  // sum() should agree: `starts[i] + bucketMs > now - spanMs`.
  it('never lets more than the limit through within any one window length', () => {
    const q = ledger({ account: { per_minute: 5 }, device: WIDE, site: WIDE });
    expect(q.tryConsume(courier(), 5, T0 + 4_999).ok).toBe(true);
    // 55.001 s later: still inside the minute that began with those five records.
    expect(q.tryConsume(courier(), 5, T0 + 60_000).ok).toBe(false);
  });
});

describe('per device and per site', () => {
  it('limits a device shared by two accounts', () => {
    const q = ledger({ account: WIDE, device: { per_minute: 5 }, site: WIDE });
    expect(q.tryConsume(courier('c1', 'shared-pda'), 3, T0).ok).toBe(true);
    const r = refused(q.tryConsume(courier('c2', 'shared-pda'), 3, T0));
    expect(r).toMatchObject({ scope: 'device', window: 'per_minute' });
    // The same account on its own device is fine.
    expect(q.tryConsume(courier('c2', 'c2-pda'), 3, T0).ok).toBe(true);
  });

  it('limits a site across accounts and devices, per role', () => {
    const q = ledger({ account: WIDE, device: WIDE, site: { per_hour: 10 } });
    for (let i = 0; i < 5; i++) expect(q.tryConsume(courier(`c${i}`), 2, T0 + i).ok).toBe(true);
    expect(refused(q.tryConsume(courier('c9'), 1, T0 + 10))).toMatchObject({ scope: 'site', window: 'per_hour', limit: 10 });
    // Another site, and another role at the same site, have their own counters.
    expect(q.tryConsume(courier('c9', 'c9-pda', 'OUT-2'), 1, T0 + 10).ok).toBe(true);
    expect(q.tryConsume({ role: 'outlet_staff', account: 'o1', device: 'o1-pc', site: 'OUT-1' }, 1, T0 + 10).ok).toBe(true);
  });

  it('a refusal in one scope takes nothing from the others', () => {
    const q = ledger({ account: WIDE, device: { per_minute: 2 }, site: WIDE });
    q.tryConsume(courier('c1', 'pda'), 2, T0);
    refused(q.tryConsume(courier('c1', 'pda'), 1, T0));
    expect(q.usage(courier('c1', 'pda'), T0)).toMatchObject({ account: { per_minute: 2 }, site: { per_minute: 2 } });
  });

  it('without a device or site only the account counts', () => {
    const q = ledger({ account: { per_minute: 3 }, device: { per_minute: 0 }, site: { per_minute: 0 } });
    expect(q.tryConsume(courier('c1', null, null), 3, T0).ok).toBe(true);
    expect(refused(q.tryConsume(courier('c1', null, null), 1, T0)).scope).toBe('account');
  });
});

describe('release', () => {
  it('gives the records back to every scope (an audit write failed)', () => {
    const q = ledger({ account: { per_minute: 3 }, device: { per_minute: 3 }, site: { per_minute: 3 } });
    const r = q.tryConsume(courier(), 3, T0);
    if (!r.ok) throw new Error('expected ok');
    expect(refused(q.tryConsume(courier(), 1, T0 + 1)).window).toBe('per_minute');
    r.release();
    expect(q.usage(courier(), T0 + 2)).toMatchObject({ account: { per_minute: 0, per_day: 0 }, device: { per_minute: 0 }, site: { per_minute: 0 } });
    expect(q.tryConsume(courier(), 3, T0 + 2).ok).toBe(true);
  });

  it('is idempotent', () => {
    const q = ledger({ account: { per_minute: 3 }, device: WIDE, site: WIDE });
    q.tryConsume(courier(), 2, T0);
    const r = q.tryConsume(courier(), 1, T0);
    if (!r.ok) throw new Error('expected ok');
    r.release();
    r.release();
    expect(q.usage(courier(), T0).account.per_minute).toBe(2);
    expect(refused(q.tryConsume(courier(), 2, T0)).window).toBe('per_minute');
  });

  // Regression, fixed (src/access/quota.ts, SlidingCount.add with a negative n): a release whose bucket has
  // been reused since (the audit write took longer than one window cycle, e.g. 60 s for the
  // minute) resets that reused bucket, wiping records made since. Fix: in add(), when
  // `starts[i] !== start` and start is older than starts[i], do nothing (those records have
  // already left the window).
  it('a late release never wipes records made since', () => {
    const q = ledger({ account: { per_minute: 5 }, device: WIDE, site: WIDE });
    const slow = q.tryConsume(courier(), 1, T0);
    if (!slow.ok) throw new Error('expected ok');
    expect(q.tryConsume(courier(), 4, T0 + MIN).ok).toBe(true);
    slow.release(); // its audit write finally failed
    expect(q.usage(courier(), T0 + MIN + 1).account.per_minute).toBe(4);
  });
});

describe('record (rebuild from the audit trail)', () => {
  it('counts past reveals against the windows they fall in', () => {
    const q = ledger({ account: { per_minute: 30, per_hour: 60, per_day: 200 }, device: WIDE, site: WIDE });
    const now = T0 + 10 * HOUR;
    for (let i = 49; i >= 0; i--) q.record(courier(), 1, now - 2 * HOUR - i * MIN); // earlier today
    for (let i = 39; i >= 0; i--) q.record(courier(), 1, now - 30 * MIN - i * 10_000); // this hour
    expect(q.usage(courier(), now).account).toEqual({ per_minute: 0, per_hour: 40, per_day: 90 });
    expect(q.tryConsume(courier(), 20, now).ok).toBe(true);
    expect(refused(q.tryConsume(courier(), 1, now + 1000)).window).toBe('per_hour');
  });

  it('ignores reveals older than a day', () => {
    const q = ledger({ account: { per_day: 10 }, device: WIDE, site: WIDE });
    for (let i = 0; i < 10; i++) q.record(courier(), 1, T0 - DAY - HOUR - i * MIN);
    expect(q.tryConsume(courier(), 10, T0).ok).toBe(true);
  });

  it('rebuilds device and site counters too', () => {
    const q = ledger({ account: WIDE, device: { per_hour: 5 }, site: { per_hour: 8 } });
    q.record(courier('c1', 'pda-1'), 5, T0 - 10 * MIN);
    expect(refused(q.tryConsume(courier('c2', 'pda-1'), 1, T0)).scope).toBe('device');
    q.record(courier('c3', 'pda-3'), 3, T0 - 10 * MIN);
    expect(refused(q.tryConsume(courier('c4', 'pda-4'), 1, T0)).scope).toBe('site');
  });

  // Regression, fixed (src/access/quota.ts, SlidingCount.add): a record older than the one already in the
  // ring slot it maps to resets the slot, erasing the newer count. record() is fed by
  // rebuildQuotas (src/warden.ts) from a query with no ORDER BY, so a restart can forget the
  // last minute's / hour's reveals. Fix: skip (or ignore) an add whose bucket start is older
  // than starts[i]; and order rebuildQuotas by seq.
  it('does not depend on the order reveals are replayed in', () => {
    // Either order gives the same count; a reveal whose bucket is partly inside the window still
    // counts (records never leave early), one a whole bucket further back does not, and it never
    // wipes the newer one that took its ring slot.
    for (const [first, second, want] of [[T0 + MIN, T0, 2], [T0, T0 + MIN, 2], [T0 + MIN, T0 - 5_000, 1], [T0 - 5_000, T0 + MIN, 1]] as const) {
      const q = ledger({ account: WIDE, device: WIDE, site: WIDE });
      q.record(courier(), 1, first);
      q.record(courier(), 1, second);
      expect(q.usage(courier(), T0 + MIN + 1).account.per_minute).toBe(want);
    }
  });
});

describe('memory', () => {
  it('keeps one counter per account, device and site', () => {
    const q = ledger({ account: WIDE, device: WIDE, site: WIDE });
    for (let i = 0; i < 10; i++) q.tryConsume(courier(`c${i}`), 1, T0);
    expect(q.size()).toBe(21);
  });
});

describe('search quotas (policy search_quotas: per account only)', () => {
  it('counts searches per account against the role\'s windows; devices and sites are not limited', () => {
    const ledger = createSearchQuotaLedger(mergePolicy({ search_quotas: { customer_service: { per_hour: 2 } } }));
    const agent = (account: string) => ({ role: 'customer_service' as const, account, device: 'shared-desk', site: 'CS-1' });
    expect(ledger.tryConsume(agent('cs1'), 1, T0).ok).toBe(true);
    expect(ledger.tryConsume(agent('cs1'), 1, T0 + 1000).ok).toBe(true);
    const over = ledger.tryConsume(agent('cs1'), 1, T0 + 2000);
    expect(over).toMatchObject({ ok: false, scope: 'account', window: 'per_hour', limit: 2 });
    expect(ledger.tryConsume(agent('cs2'), 1, T0 + 2000).ok).toBe(true);
    expect(ledger.tryConsume(agent('cs1'), 1, T0 + 3_600_000 + 60_000).ok).toBe(true);
    expect(ledger.size()).toBe(2);
  });

  it('refuses every search to a role whose quota is 0', () => {
    const ledger = createSearchQuotaLedger(DEFAULT_POLICY);
    expect(ledger.tryConsume({ role: 'sorting', account: 's1', device: null, site: null }, 1, T0).ok).toBe(false);
    expect(ledger.tryConsume({ role: 'customer_service', account: 'cs1', device: null, site: null }, 1, T0).ok).toBe(true);
  });
});
