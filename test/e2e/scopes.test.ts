/**
 * Scopes over real HTTP, on every backend: what each role finds by a phone search (GET and
 * POST), the printed-label profile, and the work-bound reveal rules that depend on time or on
 * whose work it is — the courier's grace period after the delivered scan (manual clock), a
 * ticket assigned to another agent, a manager outside their city.
 *
 * Detection is off: denied reveals here are on purpose, and the engine's responses (tested in
 * watch.test.ts) would otherwise decide some of the answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';

const SENDER = { name: '欧阳小明', phone: '+86 138-1234-5678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室', id_number: '11010519491231002X' };
const P1 = '13900001111';
const RECIPIENT = { name: '王小明', phone: P1, address: '北京市朝阳区建国路88号3号楼2单元501室' };
const P2 = '13700002222';
const HOUR = 3_600_000;

// Every waybill but W6 has P1 as the recipient's phone.
const WAYBILLS: Record<string, [origin: string, dest: string]> = {
  SF400000000001: ['OUT-SH-1', 'OUT-BJ-1'],
  SF400000000002: ['OUT-SH-1', 'OUT-SH-1'],
  SF400000000003: ['OUT-BJ-2', 'OUT-BJ-2'],
  SF400000000004: ['OUT-GZ-1', 'OUT-GZ-1'],
  SF400000000005: ['OUT-BJ-1', 'OUT-SH-1'],
};
const W = (n: number) => `SF40000000000${n}`;
const W6 = 'SF400000000006';
const ALL_P1 = Object.keys(WAYBILLS).sort();

describe.each(testBackends())('scopes end to end on %s', (backend) => {
  const clock = manualClock('2026-03-02T01:00:00Z');
  let w: TestWarden;
  let service = '';
  const tokens: Record<string, string> = {};

  const reveal = (who: string, wb: string, fields: string[], purpose: string, extra: Record<string, string> = {}) =>
    w.api('POST', `/api/v1/waybills/${wb}/reveal`, { token: tokens[who], body: { fields, purpose, ...extra } });
  const searchGet = (who: string, phone = P1) => w.api('GET', `/api/v1/search?phone=${encodeURIComponent(phone)}`, { token: tokens[who] });
  const searchPost = (who: string, phone = P1) => w.api('POST', '/api/v1/search', { token: tokens[who], body: { phone } });
  const found = (r: { status: number; text: string; body: any }) => {
    expect(r.status, r.text).toBe(200);
    return (r.body.matches as Array<{ waybill: string }>).map((m) => m.waybill).sort();
  };

  beforeAll(async () => {
    // Sessions outlive the grace-period tests, which move the clock by a day.
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false, sessionTtlMinutes: 7 * 24 * 60 } });
    const admin = w.adminToken;
    for (const s of [
      { code: 'OUT-BJ-1', kind: 'outlet', city: '北京' },
      { code: 'OUT-BJ-2', kind: 'outlet', city: '北京' },
      { code: 'OUT-SH-1', kind: 'outlet', city: '上海' },
      { code: 'OUT-GZ-1', kind: 'outlet', city: '广州' },
      { code: 'SORT-BJ', kind: 'sorting', city: '北京' },
      { code: 'CS-SH', kind: 'cs', city: '上海' },
      { code: 'HQ-BJ', kind: 'hq', city: '北京' },
      { code: 'HQ-SH', kind: 'hq', city: '上海' },
    ]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    const accounts: Array<[string, string, string | null]> = [
      ['c1', 'courier', 'OUT-BJ-1'],
      ['c2', 'courier', 'OUT-BJ-2'],
      ['o1', 'outlet_staff', 'OUT-BJ-1'],
      ['o2', 'outlet_staff', 'OUT-SH-1'],
      ['m1', 'manager', 'HQ-BJ'],
      ['m2', 'manager', 'HQ-SH'],
      ['cs1', 'customer_service', 'CS-SH'],
      ['cs2', 'customer_service', 'CS-SH'],
      ['sa1', 'security_analyst', null],
      ['s1', 'sorting', 'SORT-BJ'],
      ['it1', 'it_admin', 'HQ-BJ'],
      ['svc', 'service', null],
    ];
    for (const [id, role, site] of accounts) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    tokens.svc = service;
    for (const [id, role] of accounts) {
      if (role === 'service') continue;
      const r = await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } });
      expect(r.status, r.text).toBe(201);
      tokens[id] = r.body.token;
    }
    for (const [waybill, [origin_site, dest_site]] of Object.entries(WAYBILLS)) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site, dest_site, sender: SENDER, recipient: RECIPIENT } });
      expect(r.status, r.text).toBe(201);
    }
    const w6 = { waybill: W6, origin_site: 'OUT-SH-1', dest_site: 'OUT-SH-1', sender: { ...SENDER, phone: '13600003333' }, recipient: { ...RECIPIENT, phone: P2 } };
    expect((await w.api('POST', '/api/v1/waybills', { token: service, body: w6 })).status).toBe(201);
    for (const [waybill, account, task] of [
      [W(1), 'c1', 'delivery'],
      [W(5), 'c1', 'delivery'],
      [W(3), 'c2', 'pickup'],
    ]) {
      expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill, account, task } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('masked search by phone, per role', () => {
    it('courier: only waybills assigned to them', async () => {
      expect(found(await searchGet('c1'))).toEqual([W(1), W(5)]);
      expect(found(await searchPost('c2'))).toEqual([W(3)]);
    });
    it('outlet staff: only their site\'s (origin or destination)', async () => {
      expect(found(await searchGet('o1'))).toEqual([W(1), W(5)]);
      expect(found(await searchPost('o2'))).toEqual([W(1), W(2), W(5)]);
    });
    it('manager: only their city\'s', async () => {
      expect(found(await searchGet('m1'))).toEqual([W(1), W(3), W(5)]);
      expect(found(await searchPost('m2'))).toEqual([W(1), W(2), W(5)]);
    });
    it('customer service: everything, masked', async () => {
      const r = await searchGet('cs1');
      expect(found(r)).toEqual(ALL_P1);
      expect(found(await searchPost('cs2'))).toEqual(ALL_P1);
      for (const m of r.body.matches) {
        expect(m.recipient.phone).toBe('139****1111');
        expect(m.sender.id_number).toBe('1****************X');
      }
      expect(r.text).not.toContain(P1);
      expect(r.text).not.toContain('建国路88号');
    });
    it('GET and POST agree, and both accept the number as people type it', async () => {
      expect(found(await searchPost('m1', '+86 139-0000-1111'))).toEqual(found(await searchGet('m1', '139 0000 1111')));
    });
    it.each(['s1', 'it1'])('%s (sorting / IT admin): refused, and audited', async (who) => {
      for (const r of [await searchGet(who), await searchPost(who)]) {
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe('role_not_permitted');
        expect(r.text).not.toContain('SF4000');
      }
      const rows = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason']).where('kind', '=', 'access.search').where('account', '=', who).execute();
      expect(rows).toEqual([{ decision: 'denied', reason: 'role_not_permitted' }, { decision: 'denied', reason: 'role_not_permitted' }]);
    });
    it('service: refused', async () => {
      for (const r of [await searchGet('svc'), await searchPost('svc')]) {
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe('forbidden');
      }
    });
    it('the admin token: refused (not a staff account)', async () => {
      const r = await w.api('POST', '/api/v1/search', { token: w.adminToken, body: { phone: P1 } });
      expect(r.status).toBe(403);
    });
    it('records what each search returned, and never the number', async () => {
      const rows = await w.warden.db.selectFrom('audit_log').select(['account', 'detail']).where('kind', '=', 'access.search').where('account', '=', 'o2').execute();
      expect(rows.length).toBeGreaterThan(0);
      const detail = (typeof rows[0]!.detail === 'string' ? JSON.parse(rows[0]!.detail) : rows[0]!.detail) as { matches: number; waybills: string[] };
      expect(detail.matches).toBe(3);
      expect(detail.waybills.sort()).toEqual([W(1), W(2), W(5)]);
      expect(JSON.stringify(await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'access.search').execute())).not.toContain(P1);
    });
  });

  describe('printed-label profile', () => {
    it('sorting prints a label: phone last 4 only, no ID number, unit and room hidden', async () => {
      const r = await w.api('GET', `/api/v1/waybills/${W(1)}?profile=label`, { token: tokens.s1 });
      expect(r.status, r.text).toBe(200);
      expect(r.body.sender.phone).toBe('*******5678');
      expect(r.body.recipient.phone).toBe('*******1111');
      expect(r.body.sender.name).toBe('欧阳**');
      expect(r.body.recipient.name).toBe('王**');
      expect('id_number' in r.body.sender).toBe(false);
      expect(r.text).not.toContain('1****************X');
      for (const [party, prefix] of [['sender', '上海市浦东新区'], ['recipient', '北京市朝阳区']] as const) {
        const address: string = r.body[party].address;
        expect(address.startsWith(prefix)).toBe(true);
        expect(address).toMatch(/\*{4}$/);
        expect(address).not.toMatch(/\d|号|楼|单元|室/);
      }
      // The screen profile of the same waybill still shows the masked ID number.
      const screen = await w.api('GET', `/api/v1/waybills/${W(1)}`, { token: tokens.s1 });
      expect(screen.body.sender.id_number).toBe('1****************X');
      expect(screen.body.sender.phone).toBe('138****5678');
    });
    it('is audited as a print', async () => {
      const rows = await w.warden.db.selectFrom('audit_log').select(['decision']).where('kind', '=', 'access.print').where('account', '=', 's1').execute();
      expect(rows).toEqual([{ decision: 'allowed' }]);
    });
    it('is refused to a service token and to an unknown profile', async () => {
      expect((await w.api('GET', `/api/v1/waybills/${W(1)}?profile=label`, { token: service })).status).toBe(403);
      const bad = await w.api('GET', `/api/v1/waybills/${W(1)}?profile=raw`, { token: tokens.s1 });
      expect(bad.status).toBe(400);
      expect(bad.text).not.toContain('5678');
    });
  });

  describe('customer-service tickets', () => {
    beforeAll(async () => {
      expect((await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'T-9', waybill: W6, account: 'cs2', status: 'open' } })).status).toBe(201);
    });
    it('the agent the ticket is assigned to may reveal', async () => {
      const r = await reveal('cs2', W6, ['recipient.phone'], 'customer_service', { ticket: 'T-9' });
      expect(r.status, r.text).toBe(200);
      expect(r.body.values['recipient.phone']).toBe(P2);
    });
    it('another agent naming that ticket is refused', async () => {
      const r = await reveal('cs1', W6, ['recipient.phone'], 'customer_service', { ticket: 'T-9' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('no_work_context');
      expect(r.text).not.toContain(P2);
      expect((await reveal('cs1', W6, ['recipient.phone'], 'customer_service')).body.error.code).toBe('no_work_context');
    });
    it('a reassigned ticket moves the right with it', async () => {
      expect((await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'T-9', waybill: W6, account: 'cs1', status: 'open' } })).status).toBe(201);
      expect((await reveal('cs1', W6, ['recipient.phone'], 'customer_service', { ticket: 'T-9' })).status).toBe(200);
      expect((await reveal('cs2', W6, ['recipient.phone'], 'customer_service', { ticket: 'T-9' })).body.error.code).toBe('no_work_context');
    });
  });

  describe('managers', () => {
    it('reveal in their own city with purpose audit', async () => {
      const r = await reveal('m1', W(3), ['recipient.phone'], 'audit');
      expect(r.status, r.text).toBe(200);
      expect(r.body.values['recipient.phone']).toBe(P1);
      expect((await reveal('m2', W(2), ['recipient.name'], 'audit')).status).toBe(200);
    });
    it('are refused in another city, even with purpose audit', async () => {
      const r = await reveal('m1', W(2), ['recipient.phone'], 'audit');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('no_work_context');
      expect((await reveal('m2', W(3), ['recipient.phone'], 'audit')).body.error.code).toBe('no_work_context');
      expect((await reveal('m1', W(4), ['recipient.phone'], 'audit')).body.error.code).toBe('no_work_context');
    });
  });

  describe('customer service after a full-number search (moves the clock 16 min)', () => {
    it('a POST search backs a reveal for 15 minutes, not after; without a search there is none', async () => {
      // cs2's ticket on W6 was reassigned above: only a search can back this reveal.
      expect((await reveal('cs2', W6, ['recipient.address'], 'customer_service')).body.error.code).toBe('no_work_context');
      expect(found(await searchPost('cs2', P2))).toEqual([W6]);
      clock.advance(14 * 60_000);
      const r = await reveal('cs2', W6, ['recipient.address'], 'returns');
      expect(r.status, r.text).toBe(200);
      expect(r.body.values['recipient.address']).toBe(RECIPIENT.address);
      clock.advance(2 * 60_000);
      const late = await reveal('cs2', W6, ['recipient.address'], 'customer_service');
      expect(late.status).toBe(403);
      expect(late.body.error.code).toBe('no_work_context');
      expect(late.text).not.toContain('建国路');
    });
  });

  describe('courier grace period after the delivered scan (moves the clock; keep last)', () => {
    it('before the scan the courier reveals their own delivery, not someone else\'s', async () => {
      expect((await reveal('c1', W(5), ['recipient.phone'], 'delivery')).status).toBe(200);
      expect((await reveal('c1', W(3), ['sender.phone'], 'pickup')).body.error.code).toBe('no_work_context');
      expect((await reveal('c2', W(3), ['sender.phone'], 'pickup')).status).toBe(200);
    });
    it('is allowed within 24 h of the delivered scan', async () => {
      expect((await w.api('POST', '/api/v1/scans', { token: service, body: { waybill: W(5), op: 'delivered', site: 'OUT-SH-1' } })).status).toBe(201);
      expect((await w.api('POST', '/api/v1/scans', { token: service, body: { waybill: W(3), op: 'pickup', site: 'OUT-BJ-2' } })).status).toBe(201);
      clock.advance(23 * HOUR);
      const r = await reveal('c1', W(5), ['recipient.phone'], 'returns');
      expect(r.status, r.text).toBe(200);
      expect(r.body.values['recipient.phone']).toBe(P1);
      expect((await reveal('c2', W(3), ['sender.phone'], 'pickup')).status).toBe(200);
    });
    it('is refused 24 h after the delivered scan; an undelivered assignment still counts', async () => {
      clock.advance(HOUR + 60_000);
      const r = await reveal('c1', W(5), ['recipient.phone'], 'returns');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('no_work_context');
      expect(r.text).not.toContain(P1);
      expect((await reveal('c2', W(3), ['sender.phone'], 'pickup')).body.error.code).toBe('no_work_context');
      expect((await reveal('c1', W(1), ['recipient.phone'], 'delivery')).status).toBe(200);
    });
    it('a new assignment of the same parcel opens it again', async () => {
      expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(5), account: 'c1', task: 'delivery' } })).status).toBe(201);
      expect((await reveal('c1', W(5), ['recipient.phone'], 'delivery')).status).toBe(200);
    });
  });
});

describe.each(testBackends())('search scope with many parcels on one number on %s', (backend) => {
  // search_limit 1: the gateway looks at 10 × 1 candidates. A merchant's number sits on far
  // more parcels than that in real life; here eleven do.
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const wb = (i: number) => `SF5000000000${String(i).padStart(2, '0')}`;
  beforeAll(async () => {
    w = await startTestWarden(backend, { policy: { search_limit: 1 }, config: { detect: false } });
    const admin = w.adminToken;
    for (const code of ['OUT-A', 'OUT-B']) await w.api('POST', '/api/v1/sites', { token: admin, body: { code, kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-A'], ['c11', 'courier', 'OUT-A'], ['ob', 'outlet_staff', 'OUT-B'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: 'd' } })).body.token;
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (let i = 1; i <= 11; i++) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: wb(i), origin_site: 'OUT-A', dest_site: i === 11 ? 'OUT-B' : 'OUT-A', sender: SENDER, recipient: RECIPIENT } });
      expect(r.status, r.text).toBe(201);
    }
    await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: wb(1), account: 'c1', task: 'delivery' } });
    await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: wb(11), account: 'c11', task: 'delivery' } });
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('a courier finds the assigned parcel among the first candidates', async () => {
    const r = await w.api('POST', '/api/v1/search', { token: tokens.c1, body: { phone: P1 } });
    expect(r.status).toBe(200);
    expect(r.body.matches.map((m: { waybill: string }) => m.waybill)).toEqual([wb(1)]);
  });

  // Regression, fixed (src/access/access.ts, search(): `vault.waybillsByPhone(normalised, limit * 10)` and
  // the scope filter applied afterwards): the candidates are cut to 10 × search_limit (500 by
  // default) in waybill order *before* the caller's scope is applied, so a courier, outlet
  // clerk or manager searching a number with more parcels than that (a merchant sender) is
  // told "no match" for a parcel that is theirs. Fix: apply the scope in the query (join
  // assignments for couriers, waybills.origin_site/dest_site or *_city for outlet staff and
  // managers) and limit afterwards, or keep fetching candidate pages until `limit` in-scope
  // matches are found or the candidates run out.
  it('a courier finds the assigned parcel beyond the first 10 × search_limit candidates; so does the outlet', async () => {
    const r = await w.api('POST', '/api/v1/search', { token: tokens.c11, body: { phone: P1 } });
    expect(r.body.matches.map((m: { waybill: string }) => m.waybill)).toEqual([wb(11)]);
    const o = await w.api('POST', '/api/v1/search', { token: tokens.ob, body: { phone: P1 } });
    expect(o.body.matches.map((m: { waybill: string }) => m.waybill)).toEqual([wb(11)]);
  });
});
