/**
 * The compliance audit report and impact assessments over real HTTP, on every backend (issue
 * 12): reveal volumes by role and basis, the manager's city-scope reveal with no ticket or case
 * counted as unexplained, quota refusals, the audit chain verified; PIA records kept 3 years and
 * reviewed by someone other than their author; only the privacy roles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const W = (n: number) => `SF90000000000${n}`;

describe.each(testBackends())('PIPL compliance report on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const from = new Date(Date.now() - 3_600_000).toISOString();

  beforeAll(async () => {
    w = await startTestWarden(backend, { config: { detect: false, retentionEveryMinutes: 0 }, policy: { quotas: { manager: { account: { per_minute: 1, per_day: 50 }, device: { per_minute: 1, per_day: 50 }, site: { per_minute: 20, per_day: 1000 } } } } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['m1', 'manager', 'OUT-1'], ['it1', 'it_admin', null], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (const n of [1, 2]) expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(n), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    const first = await w.api('POST', `/api/v1/waybills/${W(1)}/reveal`, { token: tokens.m1, body: { fields: ['recipient.phone'], purpose: 'audit' } });
    expect(first.status, first.text).toBe(200);
    const second = await w.api('POST', `/api/v1/waybills/${W(2)}/reveal`, { token: tokens.m1, body: { fields: ['recipient.phone'], purpose: 'audit' } });
    expect(second.body.error?.code).toBe('quota_exceeded');
  });
  afterAll(() => w?.dispose());

  it('only the privacy roles read it', async () => {
    for (const t of [tokens.it1, tokens.m1, w.adminToken]) expect((await w.api('GET', `/api/v1/reports/compliance?from=${from}&to=${new Date().toISOString()}`, { token: t })).status).toBe(403);
    expect((await w.api('POST', '/api/v1/pia', { token: tokens.it1, body: { title: 't', scope: 's', risk: 'low', measures: 'm' } })).status).toBe(403);
  });

  it('impact assessments are kept three years and reviewed by someone else', async () => {
    const pia = await w.api('POST', '/api/v1/pia', { token: tokens.sa1, body: { title: '运单数据访问策略调整', scope: '客服按工单查看收件人电话', risk: 'medium', measures: '工单关闭即失效；每日配额' } });
    expect(pia.status, pia.text).toBe(201);
    const years = (new Date(pia.body.keep_until).getTime() - new Date(pia.body.created_at).getTime()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(2.99);
    const self = await w.api('POST', `/api/v1/pia/${pia.body.id}/review`, { token: tokens.sa1 });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('self_action');
    const reviewed = await w.api('POST', `/api/v1/pia/${pia.body.id}/review`, { token: tokens.sa2 });
    expect(reviewed.status).toBe(200);
    expect(reviewed.body.reviewed_by).toBe('sa2');
  });

  it('counts reveals by role and basis, the unexplained one, quota refusals; the chain verifies; renders in Chinese', async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const r = await w.api('GET', `/api/v1/reports/compliance?from=${from}&to=${to}`, { token: tokens.sa1 });
    expect(r.status, r.text).toBe(200);
    expect(r.body.reveals).toEqual({ total: 1, by_role_basis: [{ role: 'manager', basis: 'city', count: 1 }] });
    expect(r.body.unexplained).toMatchObject({ total: 1, by_account: [{ account: 'm1', role: 'manager', count: 1 }] });
    expect(r.body.refusals.quota).toBe(1);
    expect(r.body.audit.ok).toBe(true);
    expect(r.body.policy.in_force_since).not.toBeNull();
    expect(r.body.privileged_changes.some((p: any) => p.account === 'm1')).toBe(true);
    expect(r.body.pia).toHaveLength(1);
    expect(r.body.retention.policy.audit_days).toBeGreaterThanOrEqual(184);
    const md = await w.api('GET', `/api/v1/reports/compliance?from=${from}&to=${to}&format=md`, { token: tokens.sa1 });
    expect(md.text).toContain('# 个人信息保护合规审计报告');
    expect(md.text).toContain('校验结果：通过');
    const pdf = await fetch(`${w.url}/api/v1/reports/compliance?from=${from}&to=${to}&format=pdf`, { headers: { authorization: `Bearer ${tokens.sa1}` } });
    const doc = await getDocument({ data: new Uint8Array(await pdf.arrayBuffer()) }).promise;
    let text = '';
    for (let p = 1; p <= doc.numPages; p++) text += (await (await doc.getPage(p)).getTextContent()).items.map((i: any) => i.str).join('');
    expect(text).toContain('无业务依据的查看');
    expect(text).toContain('个人信息保护合规审计报告');
    const bad = await w.api('GET', `/api/v1/reports/compliance?from=${to}&to=${from}`, { token: tokens.sa1 });
    expect(bad.status).toBe(400);
  });

  it('the breach report also starts from a case or an alert naming the account', async () => {
    const c = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'manager looked up a customer', reason: 'complaint', accounts: ['m1'] } });
    expect((await w.api('POST', `/api/v1/cases/${c.body.id}/approve`, { token: tokens.sa2 })).status).toBe(200);
    const byCase = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { case: c.body.id } });
    expect(byCase.status, byCase.text).toBe(200);
    expect(byCase.body).toMatchObject({ records: 1, people: 1, fields: { 'recipient.phone': 1 }, accounts: [{ account: 'm1', role: 'manager', records: 1 }] });
    expect(byCase.body.actions.some((a: any) => a.what === '立案调查')).toBe(true);
    const now = new Date();
    await w.warden.db.insertInto('alerts').values({ id: 'alert-pipl-1', ts: now, account: 'm1', device: null, detector: 'test', severity: 'high', score: 80, summary: 'test', incident: null, response: null, body: JSON.stringify({}), status: 'open', verdict: null, note: null, updated_by: null, created_at: now, updated_at: now, assignee: null, site: null, city: null }).execute();
    const byAlert = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { alert: 'alert-pipl-1' } });
    expect(byAlert.body).toMatchObject({ records: 1, accounts: [{ account: 'm1' }] });
    expect((await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { alert: 'nope' } })).status).toBe(404);
  });
});
