/**
 * Attack review 9, over real HTTP on a real server:
 * (A) one analyst's false-positive verdict on a device_posture alert made the trojaned build known
 *     fleet-wide (no second analyst, no end date): a verdict now only closes the alert; the build is
 *     left out of detection by an app_hash exception a second analyst approves. The admin token
 *     sets no verdict (403, audited).
 * (B) the approver of a privileged change (or the admin token, about its own act) closed the alert
 *     reporting it: an alert naming the actor as who made, asked for or approved the change is
 *     refused to it (self_action), in a bulk change too; another analyst triages it.
 * (C) a suspected analyst read the covert reason of the response on him, and his own alerts: an
 *     analyst's list leaves out the alerts about himself, and the response (and risk page) on his
 *     own account answers 404, audited; other analysts read both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { analystChain } from '../support/approve.js';
import type { AuditEntryInput } from '../../src/audit/kinds.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const WAYBILL = 'SF100000000031';
const TROJAN = 'sha256-trojan-9';

const gatewayLogins = (prefix: string, n: number, hash: string): AuditEntryInput[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'auth.login',
    ts: new Date(Date.now() - 60_000 + i),
    decision: 'allowed',
    account: `${prefix}${i}`,
    role: 'courier',
    site: 'OUT-1',
    device: `${prefix}-pda-${i}`,
    ip: '10.9.0.1',
    detail: { mfa: false, app_hash: hash },
  }));

type AlertView = { id: string; account: string | null; detector: string; status: string; verdict: string | null; evidence: Record<string, unknown> };

describe.each(testBackends())('attack review 9 (verdicts, named actors, reading about yourself) on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const devices: Record<string, string> = {};

  async function settled(before: number, n: number): Promise<void> {
    while (w.warden.bus.stats().published < before + n) await new Promise((r) => setImmediate(r));
    await w.warden.watch!.idle();
  }
  /**
   * A courier logs in on `hash` and tries 4 reveals of a parcel it was never given (refused: no
   * work; once detection suspends it, refused before the reveal is tried, and not on the bus).
   */
  async function courierOn(account: string, hash: string): Promise<void> {
    const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: account, role: 'courier', site: 'OUT-1', password: `pw-${account}-secret` } });
    expect(r.status, r.text).toBe(201);
    const before = w.warden.bus.stats().published;
    const s = await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-pda`, app_hash: hash } });
    expect(s.status, s.text).toBe(201);
    for (let i = 0; i < 4; i++) {
      const rv = await w.api('POST', `/api/v1/waybills/${WAYBILL}/reveal`, { token: s.body.token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
      expect([401, 403]).toContain(rv.status);
    }
    const onBus = await w.warden.db.selectFrom('audit_log').select('seq').where('account', '=', account).where('kind', 'in', ['auth.login', 'access.reveal']).execute();
    await settled(before, onBus.length);
  }
  const alerts = async (query: string, who = 'sa3') => {
    const r = await w.api('GET', `/api/v1/alerts${query}`, { token: tokens[who] });
    expect(r.status, r.text).toBe(200);
    return r.body.alerts as AlertView[];
  };
  const patch = (who: string, id: string, body: Record<string, unknown>) => w.api('PATCH', `/api/v1/alerts/${id}`, { token: tokens[who], body });
  const bulk = (who: string, ids: string[], change: Record<string, unknown>) => w.api('POST', '/api/v1/alerts/bulk', { token: tokens[who], body: { ids, ...change } });
  const audits = (kind: string) => w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'account', 'detail']).where('kind', '=', kind).orderBy('seq').execute();
  const detail = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d) as Record<string, unknown>;

  beforeAll(async () => {
    w = await startTestWarden(backend, { approvals: 'manual', detectConfig: { time: { reorder_window_seconds: 0 } } });
    const admin = w.adminToken;
    tokens.admin = admin;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    // sa1 is the bootstrap analyst; sa1 approves sa2, sa2 approves sa3 (each approval an alert naming its approver).
    const chain = await analystChain(w, ['sa1', 'sa2', 'sa3']);
    Object.assign(tokens, chain.tokens);
    Object.assign(devices, chain.devices);
    expect((await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill: WAYBILL, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    const before = w.warden.bus.stats().published;
    // A mature fleet of 100 gateway devices on the normal build: a new build is a fleet update once 5 devices run it.
    await w.warden.audit.append(gatewayLogins('fleet', 100, 'fleet-build-v1'));
    await settled(before, 100);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('(A) a verdict closes an alert and teaches nothing', () => {
    it('denied: a false positive on the trojaned build leaves it detected fleet-wide; the admin token sets no verdict', async () => {
      await courierOn('clerk1', TROJAN);
      const hit = (await alerts('?detector=device_posture&account=clerk1'))[0]!;
      expect(hit.evidence).toMatchObject({ app_hash: TROJAN });
      const fp = await patch('sa1', hit.id, { verdict: 'false_positive', note: 'new build rollout' });
      expect(fp.status, fp.text).toBe(200);
      expect(fp.body).toMatchObject({ status: 'resolved', verdict: 'false_positive', updated_by: 'sa1' });
      expect(w.warden.watch!.stats().engine.verdicts.false_positive).toBe(1); // counted, nothing learnt
      await courierOn('fc5', TROJAN);
      const again = await alerts('?detector=device_posture&account=fc5');
      expect(again.length).toBeGreaterThan(0);
      expect(again[0]!.evidence).toMatchObject({ app_hash: TROJAN });

      // The admin token: no verdict, single or bulk (403, audited as denied); nothing changed.
      const single = await patch('admin', again[0]!.id, { verdict: 'false_positive', note: 'new build rollout' });
      expect(single.status, single.text).toBe(403);
      expect(single.body.error.code).toBe('forbidden');
      const many = await bulk('admin', [again[0]!.id], { verdict: 'true_positive' });
      expect(many.status, many.text).toBe(403);
      expect((await alerts('?detector=device_posture&account=fc5'))[0]).toMatchObject({ status: 'open', verdict: null });
      const denied = (await audits('watch.alert_updated')).filter((a) => a.decision === 'denied' && a.reason === 'forbidden');
      expect(denied.length).toBe(2);
      expect(denied.every((a) => detail(a.detail).actor === 'admin')).toBe(true);
    }, 120_000);

    it('allowed: an app_hash exception a second analyst approves leaves the build out; the admin token still acknowledges', async () => {
      const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
      const x = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'app_hash', value: TROJAN, until, reason: 'new build rollout, ticket 88' } });
      expect(x.status, x.text).toBe(201);
      expect(x.body.approval).toBe('pending');
      await courierOn('fc6', TROJAN); // pending: still detected
      expect((await alerts('?detector=device_posture&account=fc6')).length).toBeGreaterThan(0);
      expect((await w.api('POST', `/api/v1/exceptions/${x.body.id}/approve`, { token: tokens.sa2 })).status).toBe(200);
      await courierOn('fc7', TROJAN);
      expect(await alerts('?detector=device_posture&account=fc7')).toEqual([]);
      const open = (await alerts('?detector=device_posture&account=fc5'))[0]!;
      const ack = await patch('admin', open.id, { status: 'acknowledged' });
      expect(ack.status, ack.text).toBe(200);
      const tp = await patch('sa2', open.id, { verdict: 'true_positive', note: 'confirmed' });
      expect(tp.status, tp.text).toBe(200);
      expect(tp.body).toMatchObject({ status: 'resolved', verdict: 'true_positive', updated_by: 'sa2' });
    }, 120_000);
  });

  describe('(B) not an alert naming you as who made, asked for or approved the change', () => {
    const privileged = async (account: string, change: string) => (await alerts(`?detector=privileged_account_change&account=${account}`, 'admin')).find((a) => a.evidence.change === change)!;

    it('denied: the approver (verdict, acknowledge, assign, bulk) and the admin token about its own act', async () => {
      const approved = await privileged('sa2', 'approved');
      expect(approved.evidence).toMatchObject({ actor: 'sa1', requested_by: 'admin' });
      for (const body of [{ verdict: 'false_positive' }, { status: 'acknowledged' }, { assignee: 'sa3' }]) {
        const r = await patch('sa1', approved.id, body);
        expect(r.status, JSON.stringify(body)).toBe(403);
        expect(r.body.error.code).toBe('self_action');
      }
      const b = await bulk('sa1', [approved.id], { status: 'resolved' });
      expect(b.status, b.text).toBe(200);
      expect(b.body.results[0]).toMatchObject({ id: approved.id, ok: false, error: { code: 'self_action' } });
      const pending = await privileged('sa3', 'created_pending');
      expect(pending.evidence.actor).toBe('admin');
      const byAdmin = await patch('admin', pending.id, { status: 'resolved' });
      expect(byAdmin.status, byAdmin.text).toBe(403);
      expect(byAdmin.body.error.code).toBe('self_action');
      const adminBulk = await bulk('admin', [pending.id, approved.id], { status: 'acknowledged' });
      expect(adminBulk.body.results.map((r: { ok: boolean; error?: { code: string } }) => r.error?.code)).toEqual(['self_action', 'self_action']); // the approval it asked for too
      expect((await privileged('sa2', 'approved')).status).toBe('open');
      expect((await privileged('sa3', 'created_pending')).status).toBe('open');
      const refused = (await audits('watch.alert_updated')).filter((a) => a.reason === 'self_action' && [approved.id, pending.id].includes(detail(a.detail).alert as string));
      expect(refused.length).toBe(7);
    });

    it('allowed: another analyst triages it, and the approver one about a change it did not make, ask for nor approve', async () => {
      const approved = await privileged('sa2', 'approved');
      const ack = await patch('sa2', (await privileged('sa3', 'approved')).id, { status: 'acknowledged' }); // sa2 approved sa3: refused
      expect(ack.body.error.code).toBe('self_action');
      const other = await patch('sa1', (await privileged('sa3', 'approved')).id, { status: 'acknowledged' });
      expect(other.status, other.text).toBe(200);
      const r = await patch('sa3', approved.id, { verdict: 'true_positive', note: 'checked with HR' });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ status: 'resolved', verdict: 'true_positive', updated_by: 'sa3' });
      const pending = await privileged('sa3', 'created_pending');
      const b = await bulk('sa1', [pending.id], { status: 'resolved' });
      expect(b.body.results[0]).toMatchObject({ id: pending.id, ok: true });
    });
  });

  describe('(C) an analyst does not read the alerts and responses about himself', () => {
    beforeAll(async () => {
      const now = new Date();
      const row = (id: string, account: string | null, device: string | null) => {
        const body = { id, ts: now.toISOString(), detector: 'off_hours', severity: 'high', score: 70, summary: 'fixture', evidence: {}, risk: 50, ...(account ? { account } : {}), ...(device ? { device } : {}) };
        return { id, ts: now, account, device, detector: 'off_hours', severity: 'high' as const, score: 70, summary: 'fixture', incident: null, response: null, body: JSON.stringify(body), status: 'open' as const, verdict: null, note: null, updated_by: null, created_at: now, updated_at: now, assignee: null, site: null, city: null };
      };
      await w.warden.db.insertInto('alerts').values([row('r9-sa1', 'sa1', null), row('r9-sa1-dev', null, devices.sa1!), row('r9-sa2', 'sa2', null)]).execute();
      const put = await w.api('PUT', '/api/v1/accounts/sa1/response', { token: tokens.sa2, body: { action: 'throttle', reason: 'covert: leak case 17, sa1 suspected' } });
      expect(put.status, put.text).toBe(200);
    });

    it('denied: his list leaves out alerts about him (account, device); his response and risk page are 404, audited', async () => {
      const mine = (await alerts('?account=sa1', 'sa1')).map((a) => a.id);
      expect(mine).toEqual([]);
      const all = (await alerts('?limit=1000', 'sa1')).map((a) => a.id);
      expect(all).not.toContain('r9-sa1');
      expect(all).not.toContain('r9-sa1-dev');
      expect(all).toContain('r9-sa2');
      for (const path of ['/api/v1/accounts/sa1/response', '/api/v1/accounts/sa1/risk']) {
        const r = await w.api('GET', path, { token: tokens.sa1 });
        expect(r.status, path).toBe(404);
        expect(r.text).not.toContain('covert');
      }
      const seen = (await audits('watch.viewed')).map((a) => ({ decision: a.decision, reason: a.reason, account: a.account, viewed: detail(a.detail).viewed }));
      expect(seen).toEqual([
        { decision: 'denied', reason: 'self_action', account: 'sa1', viewed: 'response' },
        { decision: 'denied', reason: 'self_action', account: 'sa1', viewed: 'risk' },
      ]);
    });

    it('allowed: another analyst (and the admin token) reads them; he reads about others', async () => {
      const ids = (await alerts('?limit=1000', 'sa3')).map((a) => a.id);
      expect(ids).toEqual(expect.arrayContaining(['r9-sa1', 'r9-sa1-dev', 'r9-sa2']));
      expect((await alerts('?account=sa1', 'admin')).map((a) => a.id)).toContain('r9-sa1');
      const r = await w.api('GET', '/api/v1/accounts/sa1/response', { token: tokens.sa3 });
      expect(r.status, r.text).toBe(200);
      expect(r.body.response).toMatchObject({ action: 'throttle', reason: 'covert: leak case 17, sa1 suspected' });
      const risk = await w.api('GET', '/api/v1/accounts/sa1/risk', { token: tokens.sa3 });
      expect(risk.status, risk.text).toBe(200);
      expect(risk.body.response).toMatchObject({ action: 'throttle' });
      expect((await w.api('GET', '/api/v1/accounts/sa2/response', { token: tokens.sa1 })).status).toBe(200);
      expect((await w.api('GET', '/api/v1/accounts/sa2/risk', { token: tokens.sa1 })).status).toBe(200);
      expect((await audits('watch.viewed')).length).toBe(2);
    });
  });
});
