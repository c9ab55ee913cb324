/**
 * The shared quota ledger on every backend: exact under concurrency, also between two ledgers on
 * two connections (as two processes), the same windows and retry-after as the in-memory ledger,
 * release, and the login throttle shared the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTestStore, testBackends, type TestStore } from '../../test/support/stores.js';
import { openStore, type Store } from '../store/db.js';
import { createQuotaLedger, type QuotaLimits, type QuotaSubject } from './quota.js';
import { createSharedQuotaLedger, seedSharedQuotas } from './shared-quota.js';
import { createSharedLoginThrottle, DEFAULT_THROTTLE } from '../identity/login-throttle.js';

const T0 = Date.parse('2026-11-11T08:00:00Z');
const LIMITS: QuotaLimits = {
  quotas: { courier: { account: { per_minute: 10, per_hour: 25, per_day: 40 }, device: { per_minute: 8 }, site: { per_minute: 1000 } } } as QuotaLimits['quotas'],
};
const subject = (account: string, device: string | null = `${account}-pda`): QuotaSubject => ({ role: 'courier', account, device, site: 'OUT-1' });

describe.each(testBackends())('shared quota ledger on %s', (backend) => {
  let t: TestStore;
  let second: Store | null = null;
  beforeAll(async () => {
    t = await createTestStore(backend);
    // A second connection pool on the same database: what another process would have.
    if (backend === 'postgres') second = await openStore({ databaseUrl: t.options.databaseUrl!, migrate: false, poolSize: 4 });
  });
  afterAll(async () => {
    await second?.close();
    await t?.dispose();
  });

  it('admits exactly the limit of 40 concurrent asks, split over two ledgers', async () => {
    const a = createSharedQuotaLedger({ db: t.store.db, limits: LIMITS, namespace: 'r' });
    const b = createSharedQuotaLedger({ db: (second ?? t.store).db, limits: LIMITS, namespace: 'r' });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).tryConsume(subject('race', null), 1, T0)));
    expect(results.filter((r) => r.ok).length).toBe(10);
    const refused = results.find((r) => !r.ok);
    expect(refused).toMatchObject({ ok: false, scope: 'account', window: 'per_minute', limit: 10 });
  });

  it('refuses on the narrowest scope and window, with the same retry-after as the in-memory ledger', async () => {
    const shared = createSharedQuotaLedger({ db: t.store.db, limits: LIMITS, namespace: 'r' });
    const memory = createQuotaLedger(LIMITS);
    for (let i = 0; i < 8; i++) {
      const now = T0 + i * 3_000;
      expect((await shared.tryConsume(subject('c1'), 1, now)).ok).toBe(true);
      expect(memory.tryConsume(subject('c1'), 1, now).ok).toBe(true);
    }
    const now = T0 + 30_000;
    const s = await shared.tryConsume(subject('c1'), 1, now);
    const m = memory.tryConsume(subject('c1'), 1, now);
    expect(s).toEqual(m);
    expect(s).toMatchObject({ ok: false, scope: 'device', window: 'per_minute', limit: 8 });
    // A new device: the account still has 2 left this minute, then the account refuses.
    expect((await shared.tryConsume(subject('c1', 'spare'), 2, now)).ok).toBe(true);
    expect(await shared.tryConsume(subject('c1', 'spare'), 1, now)).toMatchObject({ ok: false, scope: 'account', window: 'per_minute' });
    // Two minutes later the minute window is free again; the hour still counts all ten.
    expect((await shared.tryConsume(subject('c1', 'd3'), 8, T0 + 150_000)).ok).toBe(true);
    expect(await shared.tryConsume(subject('c1', 'd4'), 8, T0 + 300_000)).toMatchObject({ ok: false, scope: 'account', window: 'per_hour', limit: 25 });
  });

  it('decides batches of asks as the in-memory ledger decides them one by one (property)', async () => {
    // Each turn's asks go in one statement (the set-based function of migration 0017): a later ask
    // must see what an earlier ask of the same batch took, on every scope and window, and a refusal
    // must name the same scope, window and retry-after as the in-memory ledger.
    const ask = fc.record({ account: fc.constantFrom('a1', 'a2', 'a3'), device: fc.constantFrom('d1', 'd2', null), records: fc.integer({ min: 1, max: 5 }) });
    const turn = fc.record({ advanceMs: fc.integer({ min: 0, max: 40_000 }), asks: fc.array(ask, { minLength: 1, maxLength: 8 }) });
    let run = 0;
    const view = (r: Awaited<ReturnType<ReturnType<typeof createQuotaLedger>['tryConsume']>>) => (r.ok ? { ok: true } : { ...r });
    await fc.assert(
      fc.asyncProperty(fc.array(turn, { minLength: 1, maxLength: 12 }), async (turns) => {
        const shared = createSharedQuotaLedger({ db: t.store.db, limits: LIMITS, namespace: `p${run++}` });
        const memory = createQuotaLedger(LIMITS);
        let now = T0;
        for (const { advanceMs, asks } of turns) {
          now += advanceMs;
          const at = now;
          const got = await Promise.all(asks.map((a) => shared.tryConsume(subject(a.account, a.device), a.records, at)));
          const want = asks.map((a) => memory.tryConsume(subject(a.account, a.device), a.records, at));
          expect(got.map(view)).toEqual(want.map(view));
        }
      }),
      { numRuns: 30 },
    );
  });

  it('gives records back on release, and keeps ledgers and accounts apart', async () => {
    const reveals = createSharedQuotaLedger({ db: t.store.db, limits: LIMITS, namespace: 'r' });
    const searches = createSharedQuotaLedger({ db: t.store.db, limits: LIMITS, namespace: 'q' });
    const first = await reveals.tryConsume(subject('c2'), 8, T0);
    expect(first.ok).toBe(true);
    expect((await reveals.tryConsume(subject('c2'), 1, T0)).ok).toBe(false);
    expect((await searches.tryConsume(subject('c2'), 8, T0)).ok).toBe(true);
    expect((await reveals.tryConsume(subject('c3'), 8, T0)).ok).toBe(true);
    if (first.ok) first.release();
    await new Promise((r) => setTimeout(r, 100));
    expect((await reveals.tryConsume(subject('c2'), 8, T0)).ok).toBe(true);
  });

  it('seeds itself once from the audit trail of a store that had no shared ledger', async () => {
    const fresh = await createTestStore(backend);
    try {
      const db = fresh.store.db;
      const row = { kind: 'access.reveal', account: 'c9', role: 'courier', site: 'OUT-1', device: 'c9-pda', decision: 'allowed', prev_hash: Buffer.alloc(32), hash: Buffer.alloc(32) };
      const now = Date.now();
      await db.insertInto('audit_log').values([1, 2, 3].map((seq) => ({ ...row, seq, ts: new Date(now - 10_000) })) as never).execute();
      await seedSharedQuotas(db, now);
      await seedSharedQuotas(db, now);
      const ledger = createSharedQuotaLedger({ db, limits: LIMITS, namespace: 'r' });
      expect((await ledger.tryConsume(subject('c9'), 5, now)).ok).toBe(true);
      expect(await ledger.tryConsume(subject('c9'), 1, now)).toMatchObject({ ok: false, scope: 'device', limit: 8 });
    } finally {
      await fresh.dispose();
    }
  });

  it('seeds reveals in people: a reveal of both parties counts two (attack review 10)', async () => {
    const fresh = await createTestStore(backend);
    try {
      const db = fresh.store.db;
      const row = { kind: 'access.reveal', account: 'c8', role: 'courier', site: 'OUT-1', device: 'c8-pda', decision: 'allowed', prev_hash: Buffer.alloc(32), hash: Buffer.alloc(32) };
      const now = Date.now();
      const fields = ['sender.name,sender.phone,recipient.name,recipient.phone', 'recipient.phone,recipient.name', 'sender.phone'];
      await db.insertInto('audit_log').values(fields.map((f, i) => ({ ...row, seq: i + 1, fields: f, ts: new Date(now - 10_000) })) as never).execute();
      await seedSharedQuotas(db, now);
      const ledger = createSharedQuotaLedger({ db, limits: LIMITS, namespace: 'r' });
      // 2 + 1 + 1 = 4 people of the device's 8 a minute: 4 more, then refused (3 records would leave 5).
      expect((await ledger.tryConsume(subject('c8'), 4, now)).ok).toBe(true);
      expect(await ledger.tryConsume(subject('c8'), 1, now)).toMatchObject({ ok: false, scope: 'device', limit: 8 });
    } finally {
      await fresh.dispose();
    }
  });

  it('seeds the search ledger with allowed searches and filed data-subject requests, not refused ones', async () => {
    const fresh = await createTestStore(backend);
    try {
      const db = fresh.store.db;
      const now = Date.now();
      const row = (seq: number, kind: string, decision: string) => ({ seq, kind, account: 's9', role: 'courier', site: null, device: null, decision, ts: new Date(now - 10_000), prev_hash: Buffer.alloc(32), hash: Buffer.alloc(32) });
      const rows = [
        ...[1, 2, 3, 4].map((n) => row(n, 'access.search', 'allowed')),
        ...[5, 6, 7, 8, 9].map((n) => row(n, 'pipl.request_filed', 'ok')),
        ...[10, 11, 12].map((n) => row(n, 'pipl.request_filed', 'denied')),
      ];
      await db.insertInto('audit_log').values(rows as never).execute();
      await seedSharedQuotas(db, now);
      const searches = createSharedQuotaLedger({ db, limits: LIMITS, namespace: 'q' });
      // 4 searches + 5 filed requests = 9 of the account's 10 a minute: one more is allowed, the next refused.
      expect((await searches.tryConsume(subject('s9', null), 1, now)).ok).toBe(true);
      expect(await searches.tryConsume(subject('s9', null), 1, now)).toMatchObject({ ok: false, scope: 'account', limit: 10 });
    } finally {
      await fresh.dispose();
    }
  });

  it('shares login failures between two throttles (as two processes)', async () => {
    const a = createSharedLoginThrottle(t.store.db);
    const b = createSharedLoginThrottle((second ?? t.store).db);
    for (let i = 0; i < DEFAULT_THROTTLE.pairThreshold; i++) await (i % 2 ? a : b).failure('acct', '198.51.100.7', T0 + i);
    expect(await a.check('acct', '198.51.100.9', T0 + 10)).toMatchObject({ ok: false, scope: 'account_network' });
    expect(await b.check('acct', '198.51.100.9', T0 + 10)).toMatchObject({ ok: false, scope: 'account_network' });
    // Another network is not locked (the account lock needs more failures); success clears.
    expect(await b.check('acct', '10.0.0.1', T0 + 10)).toEqual({ ok: true });
    await a.success('acct', '198.51.100.7', T0 + 20);
    expect(await b.check('acct', '198.51.100.7', T0 + 21)).toEqual({ ok: true });
    // Failures older than the window are forgotten.
    for (let i = 0; i < DEFAULT_THROTTLE.pairThreshold; i++) await a.failure('old', '198.51.100.7', T0);
    expect((await b.check('old', '198.51.100.7', T0 + 1000)).ok).toBe(false);
    expect(await b.check('old', '198.51.100.7', T0 + DEFAULT_THROTTLE.windowMs + 1)).toEqual({ ok: true });
  });
});
