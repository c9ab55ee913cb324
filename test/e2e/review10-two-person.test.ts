/**
 * Attack review 10, tried again through the HTTP API on every backend: the database owner passed
 * every two-person rule with one UPDATE, because "who asked" was read from the row.
 * (1) `cases.opened_by`, `detect_exceptions.created_by`, `service_tokens.requested_by`,
 *     `accounts.requested_by`, `pipl_requests.requested_by` and `pipl_pia.created_by` rewritten to
 *     another analyst's name let the requester approve: each approval is now held against the
 *     requester of the trail's filing entry and refused (409 `audit_inconsistent`, audited) when the
 *     row disagrees; `warden audit reconcile` names the row. `accounts.created_by` rewritten erased
 *     a puppet's link: links are read from the trail, and the rewritten row is refused (409).
 * (3) a creator's puppet excepted (or triaged an alert about) the creator's device: the accounts
 *     that enrolled or used a device are held to the rule too; an exception's account must exist.
 * (6) a puppet opened a case naming its creator: refused (self_action).
 * Each hole: refused now (it was 200/201 before), and the legitimate second person still allowed.
 *
 * The people: the admin token creates sa1, sa2, sa3 (analysts; sa1 approves the others) and it1
 * (it_admin); it1 creates sap, an analyst sa1 approves unaware; c1 a courier, svc a service account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { approveAccount } from '../support/approve.js';
import { reconcileState } from '../../src/audit/reconcile/index.js';
import { people } from './puppet-setup.js';

const PERSON = { name: '李小红', phone: '13812345678', address: '上海市浦东新区世纪大道100号8楼' };
const OTHER = { name: '王大明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };

describe.each(testBackends())('attack review 10: two-person rules against a rewritten store on %s', (backend) => {
  let w: TestWarden;
  const { tokens, login, create, refusedThroughPuppet, analystsAndItAdmin, approvedAnalyst } = people(() => w);
  const db = () => w.warden.db;
  const findings = async (table: string, key: string) => (await reconcileState(db())).findings.filter((f) => f.table === table && f.key === key);
  /** A 409 `audit_inconsistent` naming the column, audited as a denied entry of `kind` (no PII in the message). */
  const inconsistent = async (r: { status: number; body: any; text: string }, kind: string, column: string) => {
    expect(r.status, r.text).toBe(409);
    expect(r.body.error.code).toBe('audit_inconsistent');
    expect(r.body.error.message).toContain(column);
    expect(r.text).not.toContain(PERSON.phone);
    const denied = await db().selectFrom('audit_log').select(['detail']).where('kind', '=', kind).where('decision', '=', 'denied').where('reason', '=', 'audit_inconsistent').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(denied.detail).toMatchObject({ inconsistent: column });
  };
  let svcToken = '';

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    await analystsAndItAdmin();
    await approvedAnalyst('sa3');
    await create('it1', 'sap', 'security_analyst');
    expect((await approveAccount(w, 'sap', tokens.sa1)).status).toBe(200);
    await login('sap');
    expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-1', kind: 'outlet', city: '上海' } })).status).toBe(201);
    await create(w.adminToken, 'c1', 'courier', 'OUT-1');
    await create(w.adminToken, 'svc', 'service');
    svcToken = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken })).body.token;
    for (const [waybill, sender, recipient] of [['SF7100000000101', OTHER, PERSON], ['SF7100000000102', PERSON, OTHER]] as const) {
      const r = await w.api('POST', '/api/v1/waybills', { token: svcToken, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender, recipient } });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(() => w?.dispose());

  it('hole 1, case: an opener rewritten to another analyst does not let the opener approve (409, audited, named by reconcile); another analyst approves', async () => {
    const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa2, body: { title: 'c1 reveals', reason: 'volume', accounts: ['c1'] } });
    expect(opened.status, opened.text).toBe(201);
    const id = opened.body.id as string;
    expect((await w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens.sa2 })).status).toBe(403);
    await db().updateTable('cases').set({ opened_by: 'sa3' }).where('id', '=', id).execute();
    await inconsistent(await w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens.sa2 }), 'case.approved', 'cases.opened_by');
    expect((await db().selectFrom('cases').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status).toBe('pending');
    // Not even the analyst the row names: the row is not the trail's.
    await inconsistent(await w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens.sa1 }), 'case.approved', 'cases.opened_by');
    expect((await findings('cases', id))[0]?.problem).toContain('opened_by');
    await db().updateTable('cases').set({ opened_by: 'sa2' }).where('id', '=', id).execute();
    const ok = await w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens.sa1 });
    expect(ok.status, ok.text).toBe(200);
    expect(await findings('cases', id)).toEqual([]);
  });

  it('hole 1, exception: a requester rewritten does not let the requester approve; another analyst approves', async () => {
    const until = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const asked = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa2, body: { kind: 'account', value: 'c1', until, reason: 'field test' } });
    expect(asked.status, asked.text).toBe(201);
    const id = asked.body.id as string;
    await db().updateTable('detect_exceptions').set({ created_by: 'sa3' }).where('id', '=', id).execute();
    await inconsistent(await w.api('POST', `/api/v1/exceptions/${id}/approve`, { token: tokens.sa2 }), 'watch.exception_approved', 'detect_exceptions.created_by');
    expect((await db().selectFrom('detect_exceptions').select('approval').where('id', '=', id).executeTakeFirstOrThrow()).approval).toBe('pending');
    expect((await findings('detect_exceptions', id))[0]?.problem).toContain('created_by');
    await db().updateTable('detect_exceptions').set({ created_by: 'sa2' }).where('id', '=', id).execute();
    const ok = await w.api('POST', `/api/v1/exceptions/${id}/approve`, { token: tokens.sa1 });
    expect(ok.status, ok.text).toBe(200);
  });

  it('hole 1, service token: a requester rewritten does not let one it_admin approve a work-granting token; a second person does', async () => {
    const issued = await w.api('POST', '/api/v1/accounts/svc/tokens', { token: tokens.it1, body: { events: ['assign'] } });
    expect(issued.status, issued.text).toBe(201);
    expect(issued.body.approval).toBe('pending');
    const id = issued.body.id as string;
    await db().updateTable('service_tokens').set({ requested_by: 'sa3' }).where('id', '=', id).execute();
    await inconsistent(await w.api('POST', `/api/v1/accounts/svc/tokens/${id}/approve`, { token: tokens.it1 }), 'admin.service_token_approved', 'service_tokens.requested_by');
    expect((await findings('service_tokens', id))[0]?.problem).toContain('requested_by');
    await db().updateTable('service_tokens').set({ requested_by: 'it1' }).where('id', '=', id).execute();
    const ok = await w.api('POST', `/api/v1/accounts/svc/tokens/${id}/approve`, { token: tokens.sa1 });
    expect(ok.status, ok.text).toBe(200);
  });

  it('hole 1, role change: a requester rewritten does not let the requester approve; another analyst does', async () => {
    const asked = await w.api('PATCH', '/api/v1/accounts/c1', { token: tokens.sa2, body: { role: 'outlet_staff' } });
    expect(asked.status, asked.text).toBe(200);
    expect(asked.body.pending_approval).toMatchObject({ role: 'outlet_staff' });
    await db().updateTable('accounts').set({ requested_by: 'sa3' }).where('id', '=', 'c1').execute();
    await inconsistent(await approveAccount(w, 'c1', tokens.sa2), 'admin.account_approved', 'accounts.requested_by');
    expect((await db().selectFrom('accounts').select('role').where('id', '=', 'c1').executeTakeFirstOrThrow()).role).toBe('courier');
    expect((await findings('accounts', 'c1'))[0]?.problem).toContain('requested_by');
    await db().updateTable('accounts').set({ requested_by: 'sa2' }).where('id', '=', 'c1').execute();
    const ok = await approveAccount(w, 'c1', tokens.sa1);
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.role).toBe('outlet_staff');
    expect(await findings('accounts', 'c1')).toEqual([]);
  });

  it('hole 1, puppet link erased: sap\'s creator rewritten to the admin token is refused (409), the trail\'s link still holds (403); an independent analyst approves', async () => {
    const issued = await w.api('POST', '/api/v1/accounts/svc/tokens', { token: tokens.it1, body: { events: ['ticket'] } });
    expect(issued.status, issued.text).toBe(201);
    const approve = (who: string) => w.api('POST', `/api/v1/accounts/svc/tokens/${issued.body.id}/approve`, { token: tokens[who] });
    await db().updateTable('accounts').set({ created_by: 'admin' }).where('id', '=', 'sap').execute();
    await inconsistent(await approve('sap'), 'admin.service_token_approved', 'accounts.created_by');
    expect((await findings('accounts', 'sap'))[0]?.problem).toContain('created_by');
    // Nulled (as an account from before creators were kept): the trail's link decides.
    await db().updateTable('accounts').set({ created_by: null }).where('id', '=', 'sap').execute();
    await refusedThroughPuppet(await approve('sap'), 'admin.service_token_approved', 'sap');
    await db().updateTable('accounts').set({ created_by: 'it1' }).where('id', '=', 'sap').execute();
    await refusedThroughPuppet(await approve('sap'), 'admin.service_token_approved', 'sap');
    const ok = await approve('sa1');
    expect(ok.status, ok.text).toBe(200);
  });

  it('hole 1, PIPL request: a filer rewritten gets no review and no approval or rejection (409); another analyst approves', async () => {
    const filed = await w.api('POST', '/api/v1/subjects/requests', { token: tokens.sa2, body: { identity_verified: true, kind: 'access', phone: PERSON.phone } });
    expect(filed.status, filed.text).toBe(201);
    const id = filed.body.id as string;
    await db().updateTable('pipl_requests').set({ requested_by: 'sa3' }).where('id', '=', id).execute();
    await inconsistent(await w.api('GET', `/api/v1/subjects/requests/${id}`, { token: tokens.sa2 }), 'pipl.request_viewed', 'pipl_requests.requested_by');
    await inconsistent(await w.api('POST', `/api/v1/subjects/requests/${id}/approve`, { token: tokens.sa2, body: { reviewed: 'x' } }), 'pipl.request_approved', 'pipl_requests.requested_by');
    await inconsistent(await w.api('POST', `/api/v1/subjects/requests/${id}/reject`, { token: tokens.sa2, body: { reason: 'duplicate' } }), 'pipl.request_rejected', 'pipl_requests.requested_by');
    expect((await findings('pipl_requests', id))[0]?.problem).toContain('requested_by');
    await db().updateTable('pipl_requests').set({ requested_by: 'sa2' }).where('id', '=', id).execute();
    const view = await w.api('GET', `/api/v1/subjects/requests/${id}`, { token: tokens.sa1 });
    expect(view.status, view.text).toBe(200);
    const ok = await w.api('POST', `/api/v1/subjects/requests/${id}/approve`, { token: tokens.sa1, body: { reviewed: view.body.review.version } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.state).toBe('completed');
    expect(await findings('pipl_requests', id)).toEqual([]);
  });

  it('hole 1, PIA: an author rewritten does not let the author review it (409); another person reviews', async () => {
    const made = await w.api('POST', '/api/v1/pia', { token: tokens.sa2, body: { title: 'courier app', scope: 'phones', risk: 'medium', measures: 'masking' } });
    expect(made.status, made.text).toBe(201);
    const id = made.body.id as string;
    await db().updateTable('pipl_pia').set({ created_by: 'sa3' }).where('id', '=', id).execute();
    await inconsistent(await w.api('POST', `/api/v1/pia/${id}/review`, { token: tokens.sa2 }), 'pipl.pia_recorded', 'pipl_pia.created_by');
    expect((await findings('pipl_pia', id))[0]?.problem).toContain('created_by');
    await db().updateTable('pipl_pia').set({ created_by: 'sa2' }).where('id', '=', id).execute();
    const ok = await w.api('POST', `/api/v1/pia/${id}/review`, { token: tokens.sa1 });
    expect(ok.status, ok.text).toBe(200);
    expect(await findings('pipl_pia', id)).toEqual([]);
  });

  it('hole 3: a puppet neither asks for nor approves an exception on its creator\'s device, nor triages an alert about it; independent analysts do', async () => {
    const device = (await db().selectFrom('account_devices').select('device').where('account', '=', 'it1').executeTakeFirstOrThrow()).device;
    const until = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const body = { kind: 'device', value: device, until, reason: 'laptop re-imaged' };
    await refusedThroughPuppet(await w.api('POST', '/api/v1/exceptions', { token: tokens.sap, body }), 'watch.exception_added', 'sap');
    const asked = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa3, body });
    expect(asked.status, asked.text).toBe(201);
    await refusedThroughPuppet(await w.api('POST', `/api/v1/exceptions/${asked.body.id}/approve`, { token: tokens.sap }), 'watch.exception_approved', 'sap');
    const ok = await w.api('POST', `/api/v1/exceptions/${asked.body.id}/approve`, { token: tokens.sa1 });
    expect(ok.status, ok.text).toBe(200);

    const ts = new Date();
    await db().insertInto('alerts').values({
      id: 'alert-it1-device', ts, account: null, device, detector: 'device_posture', severity: 'high', score: 80, summary: 'odd build', incident: null, response: null,
      body: JSON.stringify({}) as never, status: 'open', verdict: null, note: null, updated_by: null, created_at: ts, updated_at: ts, assignee: null, site: null, city: null,
    }).execute();
    const resolve = (who: string) => w.api('PATCH', '/api/v1/alerts/alert-it1-device', { token: tokens[who], body: { verdict: 'false_positive' } });
    await refusedThroughPuppet(await resolve('sap'), 'watch.alert_updated', 'sap');
    const triaged = await resolve('sa1');
    expect(triaged.status, triaged.text).toBe(200);
  });

  it('hole 3: an exception\'s account names an account Warden holds, never a phone number (400, the value not echoed)', async () => {
    const until = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const ask = (account: string) => w.api('POST', '/api/v1/exceptions', { token: tokens.sa2, body: { kind: 'device', account, value: 'c1-spare-pda', until, reason: 'spare device' } });
    const phone = await ask('13900000003');
    expect(phone.status, phone.text).toBe(400);
    expect(phone.text).not.toContain('13900000003');
    const unknown = await ask('nobody-here');
    expect(unknown.status, unknown.text).toBe(400);
    expect(unknown.body.error.code).toBe('validation_failed');
    const asPhone = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa2, body: { kind: 'account', value: '13900000003', until, reason: 'typed a phone' } });
    expect(asPhone.status, asPhone.text).toBe(400);
    const added = await db().selectFrom('audit_log').select('seq').where('kind', '=', 'watch.exception_added').where('account', '=', '13900000003').execute();
    expect(added).toEqual([]);
    const ok = await ask('c1');
    expect(ok.status, ok.text).toBe(201);
  });

  it('hole 6: a puppet does not open a case naming its creator (self_action, audited); an independent analyst does', async () => {
    const body = { title: 'it1 activity', reason: 'review', accounts: ['it1'] };
    await refusedThroughPuppet(await w.api('POST', '/api/v1/cases', { token: tokens.sap, body }), 'case.opened', 'sap');
    const ok = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body });
    expect(ok.status, ok.text).toBe(201);
  });

  it('reconcile is clean again once every row says what the trail does', async () => {
    const r = await reconcileState(db());
    expect(r.findings).toEqual([]);
    expect(r.checked.pipl_requests).toBeGreaterThan(0);
    expect(r.checked.pipl_pia).toBeGreaterThan(0);
  });
});
