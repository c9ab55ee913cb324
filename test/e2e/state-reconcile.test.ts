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
import { reconcileState } from '../../src/audit/reconcile/index.js';
import { scheduleReconcile } from '../../src/audit/reconcile/schedule.js';
import { createMetrics } from '../../src/ops/metrics.js';
import type { Logger } from '../../src/ops/logger.js';
import { people } from './puppet-setup.js';
import { approveAccount } from '../support/approve.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '上海市浦东新区世纪大道100号5楼' };

describe.each(testBackends())('the state rows against the trail on %s', (backend) => {
  let store: TestStore;
  let w: TestWarden;
  const { tokens, create, login, analystsAndItAdmin } = people(() => w);
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    store = await createTestStore(backend);
    w = await startTestWarden(backend, { store, approvals: 'manual' });
    for (const [code, kind, city] of [['OUT-BJ', 'outlet', '北京'], ['OUT-SH', 'outlet', '上海'], ['CS-SH', 'cs', '上海']] as const) {
      expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code, kind, city } })).status).toBe(201);
    }
    await analystsAndItAdmin();
    // Every path Warden writes accounts by: created active, created pending and approved, a pending
    // move (not yet approved), an applied change, a promotion approved.
    await create('it1', 'bj.courier', 'courier', 'OUT-BJ');
    await create('it1', 'sh.clerk', 'outlet_staff', 'OUT-SH');
    expect((await approveAccount(w, 'sh.clerk', tokens.sa1)).status).toBe(200);
    await create(w.adminToken, 'bj.clerk', 'outlet_staff', 'OUT-BJ');
    expect((await w.api('PATCH', '/api/v1/accounts/bj.clerk', { token: tokens.sa1, body: { site: 'OUT-SH' } })).status).toBe(200);
    expect((await w.api('PATCH', '/api/v1/accounts/bj.courier', { token: tokens.it1, body: { site: 'OUT-SH' } })).status).toBe(200);
    await create('it1', 'm1', 'manager', 'OUT-BJ');
    expect((await approveAccount(w, 'm1', tokens.sa2)).status).toBe(200);
    await create('it1', 'm2', 'manager', 'OUT-BJ');
    await create(w.adminToken, 'sus', 'courier', 'OUT-BJ');
    expect((await w.api('POST', '/api/v1/accounts/sus/suspend', { token: tokens.sa2, body: { reason: 'sold records' } })).status).toBe(200);
    await create(w.adminToken, 'svc', 'service');
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken })).body.token;
    for (const waybill of ['SF400000000001', 'SF400000000002']) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-SH', dest_site: 'OUT-SH', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    }
    expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF400000000001', account: 'bj.courier', task: 'delivery' } })).status).toBe(201);
    // Reassigned to c2 (bj.courier's basis ends), who delivers it (completed).
    await create(w.adminToken, 'c2', 'courier', 'OUT-SH');
    await new Promise((r) => setTimeout(r, 5));
    expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF400000000001', account: 'c2', task: 'delivery' } })).status).toBe(201);
    const delivered = await w.api('POST', '/api/v1/scans', { token: service, body: { waybill: 'SF400000000001', op: 'delivered', site: 'OUT-SH' } });
    expect(delivered.status, delivered.text).toBe(201);
    ids.token = (await w.warden.db.selectFrom('service_tokens').select('id').executeTakeFirstOrThrow()).id;
    await writeTheRest(service);
  });

  /** Every other table the reconcile covers, written by Warden's own paths: tickets, a search, cases, an exception, a response, detector settings. */
  async function writeTheRest(service: string): Promise<void> {
    await create(w.adminToken, 'cs1', 'customer_service', 'CS-SH');
    await login('cs1');
    for (const [ticket, status] of [['T-1', 'open'], ['T-2', 'open'], ['T-2', 'closed']] as const) {
      expect((await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket, waybill: 'SF400000000001', account: 'cs1', status } })).status).toBe(201);
    }
    const search = await w.api('GET', `/api/v1/search?phone=${PARTY.phone}`, { token: tokens.cs1 });
    expect(search.status, search.text).toBe(200);
    const opened = [];
    for (const accounts of [['bj.courier'], ['sh.clerk']]) {
      const r = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'complaint', reason: 'number leaked to a scam caller', waybills: ['SF400000000001'], accounts } });
      expect(r.status, r.text).toBe(201);
      opened.push(r.body.id as string);
    }
    ids.openCase = opened[0]!;
    ids.pendingCase = opened[1]!;
    expect((await w.api('POST', `/api/v1/cases/${ids.openCase}/approve`, { token: tokens.sa2 })).status).toBe(200);
    const until = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const x = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'account', value: 'bj.courier', until, reason: 'field audit, ticket 77' } });
    expect(x.status, x.text).toBe(201);
    ids.exception = x.body.id;
    expect((await w.api('POST', `/api/v1/exceptions/${ids.exception}/approve`, { token: tokens.sa2 })).status).toBe(200);
    expect((await w.api('PUT', '/api/v1/accounts/bj.courier/response', { token: tokens.sa1, body: { action: 'throttle', reason: 'reveals above peers' } })).status).toBe(200);
    expect((await w.api('PUT', '/api/v1/accounts/sh.clerk/response', { token: tokens.sa1, body: { action: 'step_up', reason: 'new device' } })).status).toBe(200);
    expect((await w.api('DELETE', '/api/v1/accounts/sh.clerk/response', { token: tokens.sa2, body: { reason: 'new device explained' } })).status).toBe(200);
    const asked = await w.api('PUT', '/api/v1/detectors/harvesting', { token: tokens.sa1, body: { settings: { burst_min_records: 55 }, reason: 'fewer bursts at the hub' } });
    expect(asked.status, asked.text).toBe(200);
    expect((await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: tokens.sa2, body: { requested_at: asked.body.requested_at } })).status).toBe(200);
  }
  const tokenRegistration = async () => {
    const row = await w.warden.db.selectFrom('service_tokens').select('registration').where('id', '=', ids.token!).executeTakeFirstOrThrow();
    return (typeof row.registration === 'string' ? JSON.parse(row.registration) : row.registration) as Record<string, unknown>;
  };
  afterAll(async () => {
    await w?.dispose();
    await store?.dispose();
  });

  it('finds nothing on the rows Warden wrote', async () => {
    const r = await reconcileState(w.warden.db);
    expect(r.findings).toEqual([]);
    expect(r).toMatchObject({ ok: true, truncated: false });
    expect(r.checked.accounts).toBeGreaterThanOrEqual(10);
    expect(r.checked).toMatchObject({ assignments: 2, tickets: 2, cases: 2, service_tokens: 1, detect_exceptions: 1, account_responses: 1, detector_settings: 1 });
    expect(r.checked.search_grants).toBeGreaterThanOrEqual(2);
  });

  it('names each row written around Warden; the CLI exits 1 naming them', async () => {
    const db = w.warden.db;
    await db.updateTable('accounts').set({ role: 'manager', site: 'OUT-SH' }).where('id', '=', 'it1').execute();
    await db.updateTable('accounts').set({ approval: 'approved' }).where('id', '=', 'm2').execute();
    await db.insertInto('assignments').values({ waybill: 'SF400000000002', account: 'bj.courier', task: 'delivery', assigned_at: new Date(), completed_at: null, ended_at: null }).execute();
    await db.insertInto('accounts').values({ id: 'ghost', role: 'manager', site: 'OUT-SH', password_hash: null, status: 'active', status_reason: null, status_changed_at: null, mfa_secret: null, pending_role: null, pending_site: null, requested_by: null, requested_at: null, created_by: null, approved_by: null, mfa_last_step: null }).execute();
    // Work, scope and detection written around Warden: a ticket and a search grant no entry made, a
    // pending case opened and an open one widened, a token's registration widened, an exception
    // stretched, a throttle lifted by deleting it, a detector's approved settings swapped.
    // Review 5: a reassigned-away basis revived, a completed one reopened.
    await db.updateTable('assignments').set({ ended_at: null }).where('account', '=', 'bj.courier').where('waybill', '=', 'SF400000000001').execute();
    await db.updateTable('assignments').set({ completed_at: null }).where('account', '=', 'c2').execute();
    await db.insertInto('tickets').values({ ticket: 'T-ghost', waybill: 'SF400000000002', account: 'cs1', status: 'open', updated_at: new Date() }).execute();
    await db.updateTable('tickets').set({ status: 'open' }).where('ticket', '=', 'T-2').execute();
    await db.insertInto('search_grants').values({ account: 'bj.courier', waybill: 'SF400000000002', party: 'recipient', granted_at: new Date() }).execute();
    await db.updateTable('cases').set({ status: 'open', approved_by: 'sa2' }).where('id', '=', ids.pendingCase!).execute();
    await db.insertInto('case_accounts').values({ case_id: ids.openCase!, account: 'm1' }).execute();
    await db.updateTable('service_tokens').set({ registration: JSON.stringify({ ...(await tokenRegistration()), backfill: true }) }).where('id', '=', ids.token!).execute();
    await db.updateTable('detect_exceptions').set({ until: new Date('2099-01-01T00:00:00Z') }).where('id', '=', ids.exception!).execute();
    await db.deleteFrom('account_responses').where('account', '=', 'bj.courier').execute();
    await db.updateTable('detector_settings').set({ settings: JSON.stringify({ burst_min_records: 100000 }) }).where('detector', '=', 'harvesting').execute();
    const r = await reconcileState(db);
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => `${f.table}:${f.key}`).sort()).toEqual([
      'account_responses:bj.courier',
      'accounts:ghost',
      'accounts:it1',
      'accounts:m2',
      'assignments:SF400000000001/bj.courier/delivery',
      'assignments:SF400000000001/c2/delivery',
      'assignments:SF400000000002/bj.courier/delivery',
      `cases:${ids.openCase}`,
      `cases:${ids.pendingCase}`,
      'detect_exceptions:' + ids.exception,
      'detector_settings:harvesting',
      'search_grants:bj.courier/SF400000000002/recipient',
      'service_tokens:' + ids.token,
      'tickets:T-2',
      'tickets:T-ghost',
    ].sort());
    expect(r.findings.find((f) => f.key === 'it1')!.problem).toContain('role: trail it_admin, row manager');
    expect(r.findings.find((f) => f.key === 'SF400000000001/bj.courier/delivery')!.problem).toContain('another account later');
    expect(r.findings.find((f) => f.key === 'SF400000000001/c2/delivery')!.problem).toContain('work.completed');
    expect(r.findings.find((f) => f.table === 'account_responses')!.problem).toContain('lifted around Warden');
    expect(r.findings.find((f) => f.table === 'detector_settings')!.problem).toContain('not the ones approved');
    expect(r.findings.find((f) => f.key === ids.openCase)!.problem).toContain('accounts: trail bj.courier, row bj.courier,m1');
    // `warden serve`'s schedule: the metric per table and one log line per row, ids only.
    const metrics = createMetrics();
    const logged: Array<Record<string, unknown>> = [];
    const logger = { error: (o: Record<string, unknown>) => logged.push(o) } as unknown as Logger;
    expect((await scheduleReconcile(db, 0, { logger, metrics }).runOnce())?.ok).toBe(false);
    const exported = await metrics.registry.metrics();
    expect(exported).toContain('warden_state_reconcile_findings{table="accounts"} 3');
    expect(exported).toContain('warden_state_reconcile_findings{table="tickets"} 2');
    expect(exported).toContain('warden_state_reconcile_findings{table="assignments"} 3');
    expect(JSON.stringify(logged)).not.toContain('SF4000000000');
    expect(logged.map((o) => `${o.table}:${o.key}`)).toContain('account_responses:bj.courier');
    expect(JSON.stringify(logged)).not.toContain(PARTY.phone);
    // Lifting a suspension around Warden shows too.
    await db.updateTable('accounts').set({ status: 'active' }).where('id', '=', 'sus').execute();
    const lifted = await reconcileState(db);
    expect(lifted.findings.find((f) => f.key === 'sus')?.problem).toContain('status: trail suspended, row active');

    await w.warden.close();
    await releaseForCli(store);
    const cli = runWarden(store, ['audit', 'reconcile'], {});
    expect(cli.code, cli.err).toBe(1);
    expect(cli.out).toContain('MISMATCH');
    for (const key of ['ghost', 'it1', 'm2', 'SF400000000002/bj.courier/delivery', 'T-ghost', 'harvesting', ids.exception!]) expect(cli.out).toContain(key);
    expect(cli.out).not.toContain(PARTY.phone);
  });
});
