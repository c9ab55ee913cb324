/**
 * Review 3, hole 2: the database owner writes around Warden — promotes an it_admin to manager,
 * gives a courier a parcel of another city, approves a pending account — and `audit verify` stays
 * OK because the trail itself is intact. `warden audit reconcile` replays the trail's account and
 * work entries and names every row they cannot explain; on the rows Warden itself wrote (creation,
 * pending and applied changes, approvals, ingest assignments) it finds nothing. On every backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { releaseForCli, runWarden } from '../support/cli.js';
import { reconcileState } from '../../src/audit/reconcile.js';
import { people } from './puppet-setup.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '上海市浦东新区世纪大道100号5楼' };

describe.each(testBackends())('the state rows against the trail on %s', (backend) => {
  let store: TestStore;
  let w: TestWarden;
  const { tokens, create, analystsAndItAdmin } = people(() => w);

  beforeAll(async () => {
    store = await createTestStore(backend);
    w = await startTestWarden(backend, { store, approvals: 'manual' });
    for (const [code, city] of [['OUT-BJ', '北京'], ['OUT-SH', '上海']] as const) {
      expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code, kind: 'outlet', city } })).status).toBe(201);
    }
    await analystsAndItAdmin();
    // Every path Warden writes accounts by: created active, created pending and approved, a pending
    // move (not yet approved), an applied change, a promotion approved.
    await create('it1', 'bj.courier', 'courier', 'OUT-BJ');
    await create('it1', 'sh.clerk', 'outlet_staff', 'OUT-SH');
    expect((await w.api('POST', '/api/v1/accounts/sh.clerk/approve', { token: tokens.sa1 })).status).toBe(200);
    await create(w.adminToken, 'bj.clerk', 'outlet_staff', 'OUT-BJ');
    expect((await w.api('PATCH', '/api/v1/accounts/bj.clerk', { token: tokens.sa1, body: { site: 'OUT-SH' } })).status).toBe(200);
    expect((await w.api('PATCH', '/api/v1/accounts/bj.courier', { token: tokens.it1, body: { site: 'OUT-SH' } })).status).toBe(200);
    await create('it1', 'm1', 'manager', 'OUT-BJ');
    expect((await w.api('POST', '/api/v1/accounts/m1/approve', { token: tokens.sa2 })).status).toBe(200);
    await create('it1', 'm2', 'manager', 'OUT-BJ');
    await create(w.adminToken, 'sus', 'courier', 'OUT-BJ');
    expect((await w.api('POST', '/api/v1/accounts/sus/suspend', { token: tokens.sa2, body: { reason: 'sold records' } })).status).toBe(200);
    await create(w.adminToken, 'svc', 'service');
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken })).body.token;
    for (const waybill of ['SF400000000001', 'SF400000000002']) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-SH', dest_site: 'OUT-SH', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    }
    expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF400000000001', account: 'bj.courier', task: 'delivery' } })).status).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
    await store?.dispose();
  });

  it('finds nothing on the rows Warden wrote', async () => {
    const r = await reconcileState(w.warden.db);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ ok: true, truncated: false });
    expect(r.checked.accounts).toBeGreaterThanOrEqual(9);
    expect(r.checked.assignments).toBe(1);
  });

  it('names each row written around Warden; the CLI exits 1 naming them', async () => {
    const db = w.warden.db;
    await db.updateTable('accounts').set({ role: 'manager', site: 'OUT-SH' }).where('id', '=', 'it1').execute();
    await db.updateTable('accounts').set({ approval: 'approved' }).where('id', '=', 'm2').execute();
    await db.insertInto('assignments').values({ waybill: 'SF400000000002', account: 'bj.courier', task: 'delivery', assigned_at: new Date(), completed_at: null, ended_at: null }).execute();
    await db.insertInto('accounts').values({ id: 'ghost', role: 'manager', site: 'OUT-SH', password_hash: null, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null, pending_role: null, pending_site: null, requested_by: null, requested_at: null, created_by: null, approved_by: null, mfa_last_step: null }).execute();
    const r = await reconcileState(db);
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => `${f.table}:${f.key}`).sort()).toEqual(['accounts:ghost', 'accounts:it1', 'accounts:m2', 'assignments:SF400000000002/bj.courier/delivery']);
    expect(r.findings.find((f) => f.key === 'it1')!.problem).toContain('role: trail it_admin, row manager');
    // Lifting a suspension around Warden shows too.
    await db.updateTable('accounts').set({ status: 'active' }).where('id', '=', 'sus').execute();
    const lifted = await reconcileState(db);
    expect(lifted.findings.find((f) => f.key === 'sus')?.problem).toContain('status: trail suspended, row active');

    await w.warden.close();
    await releaseForCli(store);
    const cli = runWarden(store, ['audit', 'reconcile'], {});
    expect(cli.code, cli.err).toBe(1);
    expect(cli.out).toContain('MISMATCH');
    for (const key of ['ghost', 'it1', 'm2', 'SF400000000002/bj.courier/delivery']) expect(cli.out).toContain(key);
    expect(cli.out).not.toContain(PARTY.phone);
  });
});
