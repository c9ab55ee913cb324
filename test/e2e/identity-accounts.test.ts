/**
 * Issue 7, tried again through the HTTP API on every backend: the holes in account administration.
 *
 * - Hole 9: the bootstrap admin token reached full PII in two calls (create an analyst, reveal by
 *   case). Now privileged accounts take two people, each step is audited and raises an alert, and
 *   the admin token can be switched off for good.
 * - Hole 7: a suspension did not end sessions; lifting it revived every old token.
 * - Hole 10 (accounts): every account and role change is audited with its actor.
 * - Nobody acts on their own account; it_admin runs systems without reveal rights; accounts are
 *   listed and read by analysts, it_admin and the admin token only.
 *
 * Approvals are manual here (the test support would otherwise approve pending accounts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { testBackends, createTestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { approveAccount, passwordFor } from '../support/approve.js';

const password = (id: string) => `pw-${id}-secret`;

describe.each(testBackends())('accounts and dual control on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};

  const login = async (id: string) => {
    const r = await w.api('POST', '/api/v1/sessions', { body: { account: id, password: password(id), device: `${id}-desk` } });
    expect(r.status, r.text).toBe(201);
    tokens[id] = r.body.token;
    return r.body.token as string;
  };
  const create = (token: string | undefined, id: string, role: string, site: string | null) => w.api('POST', '/api/v1/accounts', { token, body: { id, role, site, password: password(id) } });
  const audit = (kind: string, account: string) =>
    w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'role', 'site', 'detail']).where('kind', '=', kind).where('account', '=', account).orderBy('seq').execute();
  const alerts = (account: string) => w.warden.db.selectFrom('alerts').select(['detector', 'severity', 'summary', 'status']).where('account', '=', account).where('detector', '=', 'privileged_account_change').execute();

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual' });
    for (const s of [{ code: 'OUT-1', kind: 'outlet', city: '北京' }, { code: 'HQ-1', kind: 'hq', city: '北京' }, { code: 'HQ-2', kind: 'hq', city: '上海' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: s })).status).toBe(201);
    }
    for (const id of ['c1', 'c2', 'c3', 'c4']) expect((await create(w.adminToken, id, 'courier', 'OUT-1')).status).toBe(201);
    expect((await create(w.adminToken, 'it1', 'it_admin', 'HQ-1')).status).toBe(201);
    for (const id of ['c1', 'c2', 'it1']) await login(id);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('hole 9: privileged accounts take two people', () => {
    it('the admin token may not be disabled while no analyst could approve anything (409)', async () => {
      const r = await w.api('POST', '/api/v1/admin-token/disable', { token: w.adminToken });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('conflict');
    });

    it('the admin token creates the first analyst active: audited with its actor, and an alert', async () => {
      const r = await create(w.adminToken, 'sa1', 'security_analyst', 'HQ-1');
      expect(r.status, r.text).toBe(201);
      expect(r.body).toMatchObject({ id: 'sa1', status: 'active', pending_approval: null, created_by: 'admin', approved_by: 'admin' });
      const [entry] = await audit('admin.account_created', 'sa1');
      expect(entry!.detail).toMatchObject({ actor: 'admin', approval: 'approved', bootstrap: true });
      expect(await alerts('sa1')).toEqual([expect.objectContaining({ severity: 'medium', status: 'open' })]);
      await login('sa1');
    });

    it('after that, every privileged account it creates is pending, and a pending account cannot log in (audited)', async () => {
      for (const [id, role, site] of [['sa2', 'security_analyst', 'HQ-1'], ['m1', 'manager', 'HQ-1']] as const) {
        const r = await create(w.adminToken, id, role, site);
        expect(r.status, r.text).toBe(201);
        expect(r.body.status).toBe('pending');
        expect(r.body.pending_approval).toMatchObject({ role, requested_by: 'admin' });
        expect((await alerts(id)).length).toBe(1);
      }
      const refused = await w.api('POST', '/api/v1/sessions', { body: { account: 'm1', password: password('m1'), device: 'm1-desk' } });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('approval_pending');
      expect((await audit('auth.login', 'm1')).at(-1)).toMatchObject({ decision: 'denied', reason: 'approval_pending' });
    });

    it('couriers and it_admin may not approve; another analyst may (audited, alert), and the account then works', async () => {
      expect((await approveAccount(w, 'sa2', tokens.c1)).status).toBe(403);
      expect((await approveAccount(w, 'sa2', tokens.it1)).status).toBe(403);
      expect((await approveAccount(w, 'sa2', w.adminToken)).status).toBe(403);
      const r = await approveAccount(w, 'sa2', tokens.sa1);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ status: 'active', pending_approval: null, approved_by: 'sa1' });
      expect((await audit('admin.account_approved', 'sa2'))[0]!.detail).toMatchObject({ actor: 'sa1', requested_by: 'admin' });
      expect((await alerts('sa2')).length).toBe(2);
      await login('sa2');
      expect((await approveAccount(w, 'sa2', tokens.sa1)).status).toBe(409);
      expect((await approveAccount(w, 'm1', tokens.sa2)).status).toBe(200);
    });

    it('a promotion is a request: the account keeps its role until another analyst approves; nobody approves their own request', async () => {
      const p = await w.api('PATCH', '/api/v1/accounts/c2', { token: tokens.sa1, body: { role: 'manager', site: 'HQ-1' } });
      expect(p.status, p.text).toBe(200);
      expect(p.body).toMatchObject({ role: 'courier', site: 'OUT-1', status: 'active', pending_approval: { role: 'manager', site: 'HQ-1', requested_by: 'sa1' } });
      expect((await audit('admin.account_changed', 'c2')).at(-1)!.detail).toMatchObject({ actor: 'sa1', from_role: 'courier', to_role: 'manager', outcome: 'pending_approval' });
      expect((await w.api('GET', '/api/v1/accounts/c2', { token: tokens.it1 })).body).toMatchObject({ role: 'courier', site: 'OUT-1' });
      const own = await approveAccount(w, 'c2', tokens.sa1);
      expect(own.status).toBe(403);
      expect(own.body.error.code).toBe('self_action');
      const ok = await approveAccount(w, 'c2', tokens.sa2);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toMatchObject({ role: 'manager', site: 'HQ-1', pending_approval: null, approved_by: 'sa2' });
      // The admin token created c2 (nobody else knows its password): it keeps it (attack review 11 F3 replaces only a password an account chose).
      expect(ok.body.initial_password).toBeUndefined();
    });

    it('a demotion applies at once, by an analyst only; the admin token and it_admin may not change a privileged account', async () => {
      const byAdmin = await w.api('PATCH', '/api/v1/accounts/sa2', { token: w.adminToken, body: { role: 'courier', site: 'OUT-1' } });
      expect(byAdmin.status).toBe(403);
      const byIt = await w.api('PATCH', '/api/v1/accounts/c2', { token: tokens.it1, body: { role: 'courier', site: 'OUT-1' } });
      expect(byIt.status).toBe(403);
      const r = await w.api('PATCH', '/api/v1/accounts/c2', { token: tokens.sa1, body: { role: 'courier', site: 'OUT-1' } });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ role: 'courier', site: 'OUT-1', pending_approval: null });
      expect((await audit('admin.account_changed', 'c2')).at(-1)!.detail).toMatchObject({ actor: 'sa1', from_role: 'manager', to_role: 'courier', outcome: 'applied' });
      const bad = await w.api('PATCH', '/api/v1/accounts/c2', { token: tokens.sa1, body: { role: 'service' } });
      expect(bad.status).toBe(400);
      const badSite = await w.api('PATCH', '/api/v1/accounts/c2', { token: tokens.sa1, body: { site: 'NOPE' } });
      expect(badSite.status).toBe(400);
    });

    it('nobody acts on their own account (403 self_action)', async () => {
      for (const [method, path, body] of [
        ['POST', '/api/v1/accounts/sa1/suspend', { reason: 'x' }],
        ['POST', '/api/v1/accounts/sa1/unsuspend', {}],
        ['PATCH', '/api/v1/accounts/sa1', { role: 'manager', site: 'HQ-1' }],
      ] as const) {
        const r = await w.api(method, path, { token: tokens.sa1, body });
        expect(r.status, `${method} ${path}`).toBe(403);
        expect(r.body.error.code).toBe('self_action');
      }
      const mfa = await w.api('POST', '/api/v1/accounts/it1/mfa', { token: tokens.it1 });
      expect(mfa.body.error.code).toBe('self_action');
    });

    it('it_admin runs systems: sites, ordinary accounts, MFA and service tokens, but privileged accounts only as requests', async () => {
      expect((await w.api('POST', '/api/v1/sites', { token: tokens.it1, body: { code: 'OUT-9', kind: 'outlet', city: '北京' } })).status).toBe(201);
      const c9 = await create(tokens.it1, 'c9', 'courier', 'OUT-9');
      expect(c9.status, c9.text).toBe(201);
      expect(c9.body).toMatchObject({ status: 'active', created_by: 'it1' });
      expect((await w.api('POST', '/api/v1/accounts/c9/mfa', { token: tokens.it1 })).status).toBe(201);
      expect((await create(tokens.it1, 'svc9', 'service', null)).status).toBe(201);
      expect((await w.api('POST', '/api/v1/accounts/svc9/tokens', { token: tokens.it1 })).status).toBe(201);
      const m9 = await create(tokens.it1, 'm9', 'manager', 'HQ-2');
      expect(m9.body.status).toBe('pending');
      expect(m9.body.pending_approval.requested_by).toBe('it1');
      expect((await w.api('POST', '/api/v1/accounts/sa1/mfa', { token: tokens.it1 })).status).toBe(403);
      expect((await w.api('POST', '/api/v1/accounts/c9/suspend', { token: tokens.it1 })).status).toBe(403);
      // Couriers create nothing.
      expect((await create(tokens.c1, 'c10', 'courier', 'OUT-1')).status).toBe(403);
      expect((await w.api('POST', '/api/v1/sites', { token: tokens.c1, body: { code: 'OUT-8', kind: 'outlet', city: '北京' } })).status).toBe(403);
    });

    it('hole (round two): one it_admin cannot grant work alone — a token that sends assignments waits for a second person', async () => {
      // The attack: create a courier, a service account and a token for it, assign a parcel, reveal.
      expect((await create(tokens.it1, 'ghost', 'courier', 'OUT-1')).status).toBe(201);
      expect((await create(tokens.it1, 'itsvc', 'service', null)).status).toBe(201);
      const issued = await w.api('POST', '/api/v1/accounts/itsvc/tokens', { token: tokens.it1, body: { events: ['assign'], sites: ['OUT-1'] } });
      expect(issued.status, issued.text).toBe(201);
      expect(issued.body.approval).toBe('pending');
      const feed = (await w.api('POST', '/api/v1/accounts/itsvc/tokens', { token: w.adminToken, body: { events: ['waybill'] } })).body.token;
      const parcel = { name: '张三', phone: '13800000001', address: '北京市朝阳区建国路1号' };
      expect((await w.api('POST', '/api/v1/waybills', { token: feed, body: { waybill: 'SF9900000000001', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: parcel, recipient: parcel } })).status).toBe(201);
      const assign = () => w.api('POST', '/api/v1/assignments', { token: issued.body.token, body: { waybill: 'SF9900000000001', account: 'ghost', task: 'delivery' } });
      const refused = await assign();
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('approval_pending');
      const approve = (token: string | undefined) => w.api('POST', `/api/v1/accounts/itsvc/tokens/${issued.body.id}/approve`, { token });
      const self = await approve(tokens.it1);
      expect(self.status).toBe(403);
      expect(self.body.error.code).toBe('self_action');
      expect((await approve(tokens.c1)).status).toBe(403);
      expect((await approve(w.adminToken)).status).toBe(403);
      expect((await assign()).status).toBe(403);
      // Tokens that grant no work (scans) and the installation's admin token are not held.
      expect((await w.api('POST', '/api/v1/accounts/itsvc/tokens', { token: tokens.it1, body: { events: ['scan'] } })).body.approval).toBe('approved');
      const ok = await approve(tokens.sa1);
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body).toMatchObject({ approval: 'approved', requested_by: 'it1', approved_by: 'sa1' });
      expect((await approve(tokens.sa2)).status).toBe(409);
      expect((await assign()).status).toBe(201);
      const audited = await w.warden.db.selectFrom('audit_log').select(['kind', 'decision', 'detail']).where('kind', '=', 'admin.service_token_approved').execute();
      expect(audited.map((a) => a.decision).sort()).toEqual(['denied', 'ok']);
    });

    it('suspending every analyst does not reopen the bootstrap path for the admin token', async () => {
      for (const id of ['sa1', 'sa2']) expect((await w.api('POST', `/api/v1/accounts/${id}/suspend`, { token: w.adminToken, body: { reason: 'test' } })).status).toBe(200);
      const r = await create(w.adminToken, 'sa3', 'security_analyst', 'HQ-1');
      expect(r.status).toBe(201);
      expect(r.body.status).toBe('pending');
      for (const id of ['sa1', 'sa2']) {
        expect((await w.api('POST', `/api/v1/accounts/${id}/unsuspend`, { token: w.adminToken })).status).toBe(200);
        await login(id);
      }
    });
  });

  describe('reading accounts', () => {
    it('lists with filters and a cursor, for analysts, it_admin and admin; not for couriers', async () => {
      const pending = await w.api('GET', '/api/v1/accounts?status=pending', { token: tokens.sa1 });
      expect(pending.status, pending.text).toBe(200);
      expect(pending.body.accounts.map((a: { id: string }) => a.id).sort()).toEqual(['m9', 'sa3']);
      const analysts = await w.api('GET', '/api/v1/accounts?role=security_analyst', { token: tokens.it1 });
      expect(analysts.body.accounts.map((a: { id: string }) => a.id)).toEqual(['sa1', 'sa2', 'sa3']);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { accounts: Array<{ id: string }>; next_cursor: string | null } } = await w.api('GET', `/api/v1/accounts?q=c&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: w.adminToken });
        expect(page.body.accounts.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.accounts.map((a) => a.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(['c1', 'c2', 'c3', 'c4', 'c9']);
      expect((await w.api('GET', '/api/v1/accounts', { token: tokens.c1 })).status).toBe(403);
      expect((await w.api('GET', '/api/v1/accounts?limit=0', { token: tokens.sa1 })).status).toBe(400);
    });
    it('reads one account with its devices', async () => {
      const r = await w.api('GET', '/api/v1/accounts/c1', { token: tokens.sa1 });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ id: 'c1', role: 'courier', site: 'OUT-1', status: 'active', mfa_enrolled: false });
      expect(r.body.devices).toEqual([expect.objectContaining({ label: 'c1-desk', enrolled_by: 'c1', revoked_at: null })]);
      expect(JSON.stringify(r.body)).not.toMatch(/password|wdn_d_|credential/);
      expect((await w.api('GET', '/api/v1/accounts/nobody', { token: tokens.sa1 })).status).toBe(404);
      expect((await w.api('GET', '/api/v1/accounts/c2', { token: tokens.c1 })).status).toBe(403);
    });
  });

  describe('hole 7: a suspension ends sessions for good', () => {
    const view = (token: string) => w.api('GET', '/api/v1/search?phone=13900001111', { token });
    it('an analyst\'s suspension ends every live session at once; lifting it revives none', async () => {
      const a = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c3', password: password('c3'), device: 'c3-pda' } })).body.token;
      const b = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c3', password: password('c3'), device: 'c3-desk' } })).body.token;
      expect((await view(a)).status).toBe(200);
      expect((await w.api('POST', '/api/v1/accounts/c3/suspend', { token: tokens.sa1, body: { reason: 'leased account suspected' } })).status).toBe(200);
      for (const t of [a, b]) expect((await view(t)).body.error.code).toBe('account_suspended');
      const ended = await w.warden.db.selectFrom('sessions').select(['revoked_reason']).where('account', '=', 'c3').execute();
      expect(ended.map((s) => s.revoked_reason)).toEqual(['suspended', 'suspended']);
      expect((await w.api('POST', '/api/v1/accounts/c3/unsuspend', { token: tokens.sa2 })).status).toBe(200);
      for (const t of [a, b]) {
        const r = await view(t);
        expect(r.status).toBe(401);
        expect(r.body.error.code).toBe('unauthenticated');
      }
      const fresh = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c3', password: password('c3'), device: 'c3-pda' } })).body.token;
      expect((await view(fresh)).status).toBe(200);
      const trail = await audit('admin.account_suspended', 'c3');
      expect(trail[0]!.detail).toMatchObject({ actor: 'sa1' });
      expect((await audit('admin.account_unsuspended', 'c3'))[0]!.detail).toMatchObject({ actor: 'sa2' });
    });
    it('a suspension by a detection response ends sessions too, and clearing it revives none', async () => {
      const t = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c4', password: password('c4'), device: 'c4-pda' } })).body.token;
      expect((await view(t)).status).toBe(200);
      const set = await w.api('PUT', '/api/v1/accounts/c4/response', { token: tokens.sa1, body: { action: 'suspend', reason: 'harvesting pending review' } });
      expect(set.status, set.text).toBe(200);
      expect((await view(t)).body.error.code).toBe('account_suspended');
      expect((await w.api('DELETE', '/api/v1/accounts/c4/response', { token: tokens.sa2, body: { reason: 'harvesting explained' } })).status).toBe(200);
      expect((await view(t)).status).toBe(401);
      const fresh = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c4', password: password('c4'), device: 'c4-pda' } })).body.token;
      expect((await view(fresh)).status).toBe(200);
    });

    // Attack review 6: the analyst's free text reached the suspended person at login (tipping off an insider).
    it('the suspended person is told only that the account is suspended; the reason stays with the security team', async () => {
      const reason = 'case 7 harvesting: do not tip off';
      const before = (await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: passwordFor(w, 'c2', password('c2')), device: 'c2-desk' } })).body.token;
      expect((await w.api('POST', '/api/v1/accounts/c2/suspend', { token: tokens.sa1, body: { reason } })).status).toBe(200);
      // Nor is it told on a session (or token) that was live before.
      const old = await w.api('GET', '/api/v1/waybills/SF000000000001', { token: before });
      expect(old.status).toBe(403);
      expect(old.body.error.code).toBe('account_suspended');
      expect(old.text).not.toMatch(/case 7|harvesting|tip off/);
      const r = await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: passwordFor(w, 'c2', password('c2')), device: 'c2-desk' } });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('account_suspended');
      expect(r.text).not.toMatch(/case 7|harvesting|tip off/);
      expect((await w.api('GET', '/api/v1/accounts/c2', { token: tokens.sa1 })).body.status_reason).toBe(reason);
      // The reason is free text: on the account (above), only its fingerprint in the trail (attack review 10).
      expect((await audit('admin.account_suspended', 'c2')).at(-1)).toMatchObject({ reason: null, detail: { actor: 'sa1', reason_sha256: createHash('sha256').update(reason).digest('hex'), reason_length: reason.length } });
      expect((await w.api('POST', '/api/v1/accounts/c2/unsuspend', { token: tokens.sa2 })).status).toBe(200);
    });

    // Attack review 6: unsuspend lifted a detection suspension while GET /response still said suspend.
    it('a suspension a response made is lifted with the response only: unsuspend is refused (409, audited) while it stands', async () => {
      expect((await w.api('PUT', '/api/v1/accounts/c4/response', { token: tokens.sa1, body: { action: 'suspend', reason: 'harvesting pending review' } })).status).toBe(200);
      const r = await w.api('POST', '/api/v1/accounts/c4/unsuspend', { token: tokens.sa2 });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('conflict');
      expect(r.body.error.message).toContain('DELETE /api/v1/accounts/c4/response');
      expect((await w.api('GET', '/api/v1/accounts/c4', { token: tokens.sa2 })).body.status).toBe('suspended');
      expect((await w.api('GET', '/api/v1/accounts/c4/response', { token: tokens.sa2 })).body.response.action).toBe('suspend');
      expect((await audit('admin.account_unsuspended', 'c4')).at(-1)).toMatchObject({ decision: 'denied', reason: 'response_standing', detail: { actor: 'sa2', response: 'suspend' } });
      // Lifting the response lifts the suspension (a lower response is no way down: 409 lift_first,
      // attack review 11); then both say so, and a plain suspension lifts as before.
      expect((await w.api('PUT', '/api/v1/accounts/c4/response', { token: tokens.sa2, body: { action: 'throttle', reason: 'explained by the outlet' } })).body.error.code).toBe('lift_first');
      expect((await w.api('DELETE', '/api/v1/accounts/c4/response', { token: tokens.sa2, body: { reason: 'explained by the outlet' } })).status).toBe(200);
      expect((await w.api('GET', '/api/v1/accounts/c4', { token: tokens.sa2 })).body.status).toBe('active');
      expect((await w.api('POST', '/api/v1/accounts/c4/suspend', { token: tokens.sa1, body: { reason: 'check' } })).status).toBe(200);
      expect((await w.api('POST', '/api/v1/accounts/c4/unsuspend', { token: tokens.sa2 })).status).toBe(200);
    });
  });
});

describe.each(testBackends())('switching the admin token off on %s', (backend) => {
  const TOKEN_A = 'admin-token-A-' + randomBytes(12).toString('hex');
  const TOKEN_B = 'admin-token-B-' + randomBytes(12).toString('hex');
  const masterKey = randomBytes(32).toString('base64');
  const site = (w: TestWarden, token: string, code: string) => w.api('POST', '/api/v1/sites', { token, body: { code, kind: 'outlet', city: '北京' } });

  it('is refused from then on, also after a restart; only a different deployed token works, and an analyst can disable that too', async () => {
    const store = await createTestStore(backend);
    try {
      const first = await startTestWarden(backend, { store, approvals: 'manual', config: { adminToken: TOKEN_A, masterKey, detect: false } });
      expect((await first.api('POST', '/api/v1/accounts', { token: TOKEN_A, body: { id: 'sa1', role: 'security_analyst', site: null, password: password('sa1') } })).status).toBe(201);
      const courier = await first.api('POST', '/api/v1/accounts', { token: TOKEN_A, body: { id: 'c1', role: 'courier', site: null, password: password('c1') } });
      expect(courier.status).toBe(400);
      const off = await first.api('POST', '/api/v1/admin-token/disable', { token: TOKEN_A });
      expect(off.status, off.text).toBe(200);
      expect(off.body.disabled_by).toBe('admin');
      const refused = await site(first, TOKEN_A, 'OUT-1');
      expect(refused.status).toBe(401);
      const analyst = (await first.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: password('sa1'), device: 'desk' } })).body.token;
      expect((await first.api('GET', '/api/v1/admin-token', { token: analyst })).body).toMatchObject({ configured: true, disabled: true, disabled_by: 'admin' });
      const entry = await first.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'admin.admin_token_disabled').executeTakeFirstOrThrow();
      expect(entry.detail).toMatchObject({ actor: 'admin' });
      await first.dispose();

      const second = await startTestWarden(backend, { store, approvals: 'manual', config: { adminToken: TOKEN_A, masterKey, detect: false } });
      expect((await site(second, TOKEN_A, 'OUT-1')).status).toBe(401);
      await second.dispose();

      const third = await startTestWarden(backend, { store, approvals: 'manual', config: { adminToken: TOKEN_B, masterKey, detect: false } });
      expect((await site(third, TOKEN_B, 'OUT-1')).status).toBe(201);
      const analyst2 = (await third.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: password('sa1'), device: 'desk-2' } })).body.token;
      expect((await third.api('POST', '/api/v1/admin-token/disable', { token: analyst2 })).status).toBe(200);
      expect((await site(third, TOKEN_B, 'OUT-2')).status).toBe(401);
      expect((await site(third, TOKEN_A, 'OUT-2')).status).toBe(401);
      expect((await third.api('POST', '/api/v1/admin-token/disable', { token: analyst2 })).status).toBe(409);
      await third.dispose();
    } finally {
      await store.dispose();
    }
  });
});
