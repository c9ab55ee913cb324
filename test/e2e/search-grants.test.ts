/**
 * Attack review 9, over real HTTP on every backend.
 *
 * 1. One phone search opened up to 50 people: 45 parcels whose recipient phone is one shared
 *    number (an office switchboard), each a different person, were all revealed on one search.
 *    A search now grants the newest `search_grant_limit` (10) of its matches and says so.
 * 3. Made-up ticket and case references rode on reveals another basis allowed, and the audit
 *    entry recorded them: a ticket or case named must now be one the caller holds (400
 *    ticket_not_held / case_not_held), and a case lists only the reveals it backed.
 *
 * Detection is off: the refusals here are on purpose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const SWITCHBOARD = '010-85559999';
const SENDER = { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室' };
const SHARED = (n: number) => `SF7${String(n).padStart(11, '0')}`;
const OWN = (n: number) => `SF8${String(n).padStart(11, '0')}`;
const GIVEN = '赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭';
const nameOf = (n: number) => `${GIVEN[n % GIVEN.length]}小${'一二三四五六七八九'[n % 9]}`;

describe.each(testBackends())('search grants and work references (attack review 9) on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  let service = '';
  const code = (r: { body: any }) => r.body?.error?.code ?? 'ok';
  const search = (who: string, phone: string) => w.api('POST', '/api/v1/search', { token: tokens[who], body: { phone } });
  const reveal = (who: string, wb: string, body: Record<string, unknown>) => w.api('POST', `/api/v1/waybills/${wb}/reveal`, { token: tokens[who], body });
  const lastEntry = async (account: string, kind = 'access.reveal') =>
    w.warden.db.selectFrom('audit_log').select(['decision', 'reason', 'waybill', 'ticket', 'detail']).where('kind', '=', kind).where('account', '=', account).orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();

  beforeAll(async () => {
    w = await startTestWarden(backend, {
      config: { detect: false },
      // Room for a 45-item batch: the grant decides here, not the quota.
      policy: { quotas: { customer_service: { account: { per_minute: 200, per_day: 2000 }, device: { per_minute: 200, per_day: 2000 }, site: { per_minute: 2000, per_day: 20000 } } } },
    });
    const admin = w.adminToken;
    for (const s of [{ code: 'OUT-BJ-1', kind: 'outlet', city: '北京' }, { code: 'CS-SH', kind: 'cs', city: '上海' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    for (const [id, role, site] of [['cs3', 'customer_service', 'CS-SH'], ['c1', 'courier', 'OUT-BJ-1'], ['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    const ingest = async (wb: string, recipient: Record<string, string>) => {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: wb, origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1', sender: SENDER, recipient } });
      expect(r.status, r.text).toBe(201);
    };
    // Ascending numbers, so the newest are the highest: the vault answers in number order.
    for (let n = 1; n <= 45; n++) await ingest(SHARED(n), { name: nameOf(n), phone: SWITCHBOARD, address: `北京市朝阳区建国路${n}号` });
    for (let n = 1; n <= 3; n++) await ingest(OWN(n), { name: '李小红', phone: '13900002222', address: `北京市海淀区中关村大街${n}号` });
    expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: OWN(3), account: 'c1', task: 'delivery' } })).status).toBe(201);
    expect((await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'TK00000001', waybill: OWN(1), account: 'cs3', status: 'open' } })).status).toBe(201);
  });
  afterAll(() => w?.dispose());

  describe('1. a search grants the newest of its matches, up to search_grant_limit', () => {
    it('a shared number: 45 masked matches, the newest 10 granted and said so; a reveal of the other 35 is refused', async () => {
      const s = await search('cs3', SWITCHBOARD);
      expect(s.status, s.text).toBe(200);
      expect(s.body.matches).toHaveLength(45);
      expect(s.body).toMatchObject({ truncated: false, grant_limited: true, granted: 10 });
      const newest = Array.from({ length: 10 }, (_, i) => SHARED(45 - i));
      expect([...s.body.granted_waybills].sort()).toEqual([...newest].sort());
      const entry = await lastEntry('cs3', 'access.search');
      expect(entry.detail).toMatchObject({ matches: 45, granted: 10, grant_limited: true });

      const all = Array.from({ length: 45 }, (_, i) => SHARED(i + 1));
      const b = await w.api('POST', '/api/v1/reveals', { token: tokens.cs3, body: { items: all.map((waybill) => ({ waybill })), fields: ['recipient.name', 'recipient.address'], purpose: 'customer_service' } });
      expect(b.status, b.text).toBe(200);
      const ok = b.body.results.filter((r: { values?: unknown }) => r.values).map((r: { waybill: string }) => r.waybill);
      expect(ok.sort()).toEqual([...newest].sort());
      const refused = b.body.results.filter((r: { error?: { code: string } }) => r.error);
      expect(refused).toHaveLength(35);
      expect(new Set(refused.map((r: { error: { code: string } }) => r.error.code))).toEqual(new Set(['no_work_context']));
      expect(b.text).not.toContain(nameOf(1));
    });

    it('searching the same number again grants the same 10, no others', async () => {
      const again = await search('cs3', SWITCHBOARD);
      expect([...again.body.granted_waybills].sort()).toEqual(Array.from({ length: 10 }, (_, i) => SHARED(36 + i)));
      expect(code(await reveal('cs3', SHARED(1), { fields: ['recipient.name'], purpose: 'customer_service' }))).toBe('no_work_context');
    });

    it("one customer's own number: every match granted, grant_limited false, reveals allowed on phone_search", async () => {
      const s = await search('cs3', '13900002222');
      expect(s.body).toMatchObject({ truncated: false, grant_limited: false, granted: 3 });
      expect(s.body.matches).toHaveLength(3);
      const r = await reveal('cs3', OWN(2), { fields: ['recipient.name', 'recipient.address'], purpose: 'customer_service' });
      expect(r.status, r.text).toBe(200);
      expect((await lastEntry('cs3')).detail).toMatchObject({ basis: 'phone_search' });
    });
  });

  describe('3. a ticket or case named must be one the caller holds', () => {
    it('a made-up ticket on a search-backed reveal is refused 400 ticket_not_held (audited as denied), not recorded as work', async () => {
      await search('cs3', '13900002222');
      const r = await reveal('cs3', OWN(2), { fields: ['recipient.name'], purpose: 'customer_service', ticket: 'TK-000123' });
      expect(r.status, r.text).toBe(400);
      expect(code(r)).toBe('ticket_not_held');
      expect(r.text).not.toContain('李小红');
      expect(await lastEntry('cs3')).toMatchObject({ decision: 'denied', reason: 'ticket_not_held', waybill: OWN(2) });
      // Another waybill's real ticket is no basis here either.
      expect(code(await reveal('cs3', OWN(2), { fields: ['recipient.name'], purpose: 'customer_service', ticket: 'TK00000001' }))).toBe('ticket_not_held');
    });

    it('the open ticket of the caller on that waybill is allowed and recorded, with the ticket in the basis', async () => {
      const r = await reveal('cs3', OWN(1), { fields: ['recipient.name'], purpose: 'customer_service', ticket: 'TK00000001' });
      expect(r.status, r.text).toBe(200);
      const e = await lastEntry('cs3');
      expect(e).toMatchObject({ decision: 'allowed', ticket: 'TK00000001' });
      expect(String((e.detail as Record<string, unknown>).basis).split(',')).toContain('ticket');
    });

    it("a courier's made-up case and ticket on an assigned reveal are refused; without them it is allowed and records none", async () => {
      const both = await reveal('c1', OWN(3), { fields: ['recipient.name'], purpose: 'delivery', case: 'case-7f3a', ticket: 'TK-55' });
      expect(both.status, both.text).toBe(400);
      expect(code(both)).toBe('ticket_not_held');
      const caseOnly = await reveal('c1', OWN(3), { fields: ['recipient.name'], purpose: 'delivery', case: 'case-7f3a' });
      expect(caseOnly.status).toBe(400);
      expect(code(caseOnly)).toBe('case_not_held');
      const plain = await reveal('c1', OWN(3), { fields: ['recipient.name'], purpose: 'delivery' });
      expect(plain.status, plain.text).toBe(200);
      const e = await lastEntry('c1');
      expect(e).toMatchObject({ decision: 'allowed', ticket: null });
      expect(e.detail).not.toHaveProperty('case');
    });

    it("a real open case backs an analyst's reveal and lists it; a courier naming it is refused; the case lists only reveals it backed", async () => {
      const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'complaint', reason: 'number leaked to a scam caller', waybills: [OWN(3)] } });
      expect(opened.status, opened.text).toBe(201);
      const id = opened.body.id as string;
      expect((await w.api('POST', `/api/v1/cases/${id}/approve`, { token: tokens.sa2 })).status).toBe(200);
      const courier = await reveal('c1', OWN(3), { fields: ['recipient.name'], purpose: 'delivery', case: id });
      expect(code(courier)).toBe('case_not_held');
      const analyst = await reveal('sa1', OWN(3), { fields: ['recipient.phone'], purpose: 'audit', case: id });
      expect(analyst.status, analyst.text).toBe(200);
      // An entry written before this fix: an assignment-backed reveal that carried the case.
      await w.warden.audit.append([{ kind: 'access.reveal', ts: new Date(), decision: 'allowed', account: 'c1', role: 'courier', waybill: OWN(3), fields: ['recipient.name'], purpose: 'delivery', ticket: null, detail: { case: id, basis: 'assignment' } }]);
      const got = await w.api('GET', `/api/v1/cases/${id}`, { token: tokens.sa2 });
      expect(got.status, got.text).toBe(200);
      expect(got.body.reveals.map((r: { account: string }) => r.account)).toEqual(['sa1']);
    });
  });
});
