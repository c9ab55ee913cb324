/**
 * End to end over real HTTP, on every backend: bootstrap, ingest, login, masked view, allowed
 * and denied reveals for every role, quotas, suspension, fail-closed audit, tampering, bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const SENDER = { name: '欧阳小明', phone: '+86 138-1234-5678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室', id_number: '11010519491231002x' };
const RECIPIENT = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const PLAINTEXTS = ['欧阳小明', '13812345678', '世纪大道100号', '11010519491231002X', '王小明', '13900001111', '建国路88号'];

const waybill = (n: string, origin: string, dest: string) => ({ waybill: n, origin_site: origin, dest_site: dest, sender: SENDER, recipient: RECIPIENT });

describe.each(testBackends())('gateway end to end on %s', (backend) => {
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  let service = '';

  const login = async (account: string, device = `${account}-phone`) => {
    const r = await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device } });
    expect(r.status, r.text).toBe(201);
    return r.body.token as string;
  };
  const reveal = (who: string, wb: string, fields: string[], purpose: string, extra: Record<string, string> = {}) =>
    w.api('POST', `/api/v1/waybills/${wb}/reveal`, { token: tokens[who], body: { fields, purpose, ...extra } });

  beforeAll(async () => {
    w = await startTestWarden(backend, { policy: { quotas: { courier: { account: { per_minute: 5, per_hour: 60, per_day: 400 }, device: { per_minute: 5 }, site: { per_minute: 100 } } } } });
    const admin = w.adminToken;
    for (const s of [
      { code: 'OUT-BJ-1', kind: 'outlet', city: '北京' },
      { code: 'OUT-BJ-2', kind: 'outlet', city: '北京' },
      { code: 'OUT-SH-1', kind: 'outlet', city: '上海' },
      { code: 'SORT-BJ', kind: 'sorting', city: '北京' },
      { code: 'CS-SH', kind: 'cs', city: '上海' },
      { code: 'HQ-BJ', kind: 'hq', city: '北京' },
    ]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    const accounts: Array<[string, string, string | null]> = [
      ['c1', 'courier', 'OUT-BJ-1'],
      ['c2', 'courier', 'OUT-BJ-1'],
      ['o1', 'outlet_staff', 'OUT-BJ-1'],
      ['o2', 'outlet_staff', 'OUT-SH-1'],
      ['s1', 'sorting', 'SORT-BJ'],
      ['cs1', 'customer_service', 'CS-SH'],
      ['m1', 'manager', 'HQ-BJ'],
      ['it1', 'it_admin', 'HQ-BJ'],
      ['sa1', 'security_analyst', 'HQ-BJ'],
      ['sa2', 'security_analyst', 'HQ-BJ'],
      ['svc', 'service', null],
    ];
    for (const [id, role, site] of accounts) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    const t = await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin });
    expect(t.status).toBe(201);
    service = t.body.token;
    for (const [id, role] of accounts) if (role !== 'service') tokens[id] = await login(id);
    for (const wb of [waybill('SF100000000001', 'OUT-SH-1', 'OUT-BJ-1'), waybill('SF100000000002', 'OUT-SH-1', 'OUT-SH-1'), waybill('SF100000000003', 'OUT-SH-1', 'OUT-BJ-2')]) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: wb });
      expect(r.status, r.text).toBe(201);
    }
    expect((await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF100000000001', account: 'c1', task: 'delivery' } })).status).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('bootstrap and identity', () => {
    it('refuses the admin API without the admin token', async () => {
      expect((await w.api('POST', '/api/v1/sites', { body: { code: 'X', kind: 'outlet', city: '北京' } })).status).toBe(401);
      const r = await w.api('POST', '/api/v1/sites', { token: tokens.c1, body: { code: 'X', kind: 'outlet', city: '北京' } });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    });
    it('answers a duplicate site with 409', async () => {
      const r = await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: { code: 'OUT-BJ-1', kind: 'outlet', city: '北京' } });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('conflict');
    });
    it('refuses a wrong password with 401 and the same message as an unknown account', async () => {
      const a = await w.api('POST', '/api/v1/sessions', { body: { account: 'c2', password: 'wrong-password', device: 'x' } });
      const b = await w.api('POST', '/api/v1/sessions', { body: { account: 'nobody', password: 'wrong-password', device: 'x' } });
      expect(a.status).toBe(401);
      expect(b.status).toBe(401);
      expect(a.body.error.message).toBe(b.body.error.message);
    });
    it('refuses requests without or with a bad token', async () => {
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001')).status).toBe(401);
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: 'wdn_s_forged' })).status).toBe(401);
    });
    it('lets only service accounts (and admin) push waybills', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: tokens.c1, body: waybill('SF100000000099', 'OUT-SH-1', 'OUT-BJ-1') });
      expect(r.status).toBe(403);
    });
    it('ends a session on logout', async () => {
      const tok = await login('c2', 'c2-desk');
      expect((await w.api('DELETE', '/api/v1/sessions/current', { token: tok })).status).toBe(204);
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: tok })).status).toBe(401);
    });
  });

  describe('privacy waybill', () => {
    it('shows the masked record in the input shape', async () => {
      const r = await w.api('GET', '/api/v1/waybills/SF100000000001', { token: tokens.s1 });
      expect(r.status, r.text).toBe(200);
      expect(r.body.recipient).toMatchObject({ name: '王**', phone: '139****1111' });
      expect(r.body.recipient.address.startsWith('北京市朝阳区')).toBe(true);
      expect(r.body.recipient.address).not.toContain('建国路88号');
      expect(r.body.sender).toMatchObject({ name: '欧阳**', phone: '138****5678', id_number: '1****************X' });
      expect(r.body.origin_site).toBe('OUT-SH-1');
    });
    it('gives 404 for an unknown waybill', async () => {
      const r = await w.api('GET', '/api/v1/waybills/SF199999999999', { token: tokens.s1 });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    });
  });

  describe('reveals by role', () => {
    it('courier: the recipient of an assigned delivery, not the sender, not the ID number', async () => {
      const ok = await reveal('c1', 'SF100000000001', ['recipient.phone', 'recipient.name', 'recipient.address'], 'delivery');
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.values).toEqual({ 'recipient.phone': '13900001111', 'recipient.name': '王小明', 'recipient.address': RECIPIENT.address });
      const sender = await reveal('c1', 'SF100000000001', ['sender.phone'], 'delivery');
      expect(sender.status).toBe(403);
      expect(sender.body.error.code).toBe('field_not_allowed');
      const id = await reveal('c1', 'SF100000000001', ['sender.id_number'], 'delivery');
      expect(id.body.error.code).toBe('field_not_allowed');
    });
    it('courier: no assignment, no data', async () => {
      const r = await reveal('c2', 'SF100000000001', ['recipient.phone'], 'delivery');
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('no_work_context');
    });
    it('courier: an assignment pushed as a contract event counts too', async () => {
      const line = JSON.stringify({ id: 'ev-assign-1', ts: new Date().toISOString(), type: 'assign', account: 'c2', role: 'courier', waybill: 'SF100000000003', task: 'pickup' });
      const ing = await w.api('POST', '/api/v1/events', { token: service, raw: line + '\n', contentType: 'application/x-ndjson' });
      expect(ing.body).toMatchObject({ accepted: 1, rejected: [], rejected_count: 0 });
      const r = await reveal('c2', 'SF100000000003', ['sender.phone'], 'pickup');
      expect(r.status, r.text).toBe(200);
      expect(r.body.values['sender.phone']).toBe('13812345678');
      expect((await reveal('c2', 'SF100000000003', ['recipient.phone'], 'pickup')).body.error.code).toBe('field_not_allowed');
    });
    it('outlet staff: name and phone of parcels of their own site only', async () => {
      const ok = await reveal('o1', 'SF100000000001', ['recipient.name', 'recipient.phone'], 'pickup');
      expect(ok.status, ok.text).toBe(200);
      expect((await reveal('o1', 'SF100000000001', ['recipient.address'], 'pickup')).body.error.code).toBe('field_not_allowed');
      expect((await reveal('o1', 'SF100000000002', ['recipient.phone'], 'pickup')).body.error.code).toBe('no_work_context');
    });
    it('customer service: with an open ticket of their own, or after a full-number search', async () => {
      expect((await reveal('cs1', 'SF100000000002', ['recipient.phone'], 'customer_service')).body.error.code).toBe('no_work_context');
      await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'T-1', waybill: 'SF100000000002', account: 'cs1', status: 'open' } });
      const ok = await reveal('cs1', 'SF100000000002', ['recipient.phone'], 'customer_service', { ticket: 'T-1' });
      expect(ok.status, ok.text).toBe(200);
      await w.api('POST', '/api/v1/tickets', { token: service, body: { ticket: 'T-1', waybill: 'SF100000000002', account: 'cs1', status: 'closed' } });
      expect((await reveal('cs1', 'SF100000000002', ['recipient.phone'], 'customer_service')).body.error.code).toBe('no_work_context');
      const search = await w.api('GET', `/api/v1/search?phone=${encodeURIComponent('139 0000 1111')}`, { token: tokens.cs1 });
      expect(search.status, search.text).toBe(200);
      expect(search.body.matches.map((m: { waybill: string }) => m.waybill).sort()).toEqual(['SF100000000001', 'SF100000000002', 'SF100000000003']);
      expect(search.body.matches[0].recipient.phone).toBe('139****1111');
      const after = await reveal('cs1', 'SF100000000002', ['recipient.phone', 'recipient.address'], 'customer_service');
      expect(after.status, after.text).toBe(200);
    });
    it('customer service: a search scoped to nothing grants nothing', async () => {
      const r = await w.api('GET', '/api/v1/search?phone=13700000000', { token: tokens.cs1 });
      expect(r.body.matches).toEqual([]);
    });
    it('manager: own city with purpose audit only', async () => {
      expect((await reveal('m1', 'SF100000000001', ['recipient.phone'], 'audit')).status).toBe(200);
      expect((await reveal('m1', 'SF100000000001', ['recipient.phone'], 'delivery')).body.error.code).toBe('purpose_not_allowed');
      expect((await reveal('m1', 'SF100000000002', ['recipient.phone'], 'audit')).body.error.code).toBe('no_work_context');
    });
    it('security analyst: only under an open case (approved by a second analyst) that covers the waybill', async () => {
      expect((await reveal('sa1', 'SF100000000002', ['recipient.phone'], 'audit')).body.error.code).toBe('case_required');
      // Hole 3: any well-formed reference used to do.
      expect((await reveal('sa1', 'SF100000000002', ['recipient.phone'], 'audit', { case: 'CASE-2026-11' })).body.error.code).toBe('case_required');
      const opened = await w.api('POST', '/api/v1/cases', { token: tokens.sa1, body: { title: 'leak report', reason: 'customer reported a call', waybills: ['SF100000000002'] } });
      expect(opened.status, opened.text).toBe(201);
      expect((await w.api('POST', `/api/v1/cases/${opened.body.id}/approve`, { token: tokens.sa2 })).status).toBe(200);
      expect((await reveal('sa1', 'SF100000000002', ['recipient.phone'], 'audit', { case: opened.body.id })).status).toBe(200);
      expect((await reveal('sa1', 'SF100000000003', ['recipient.phone'], 'audit', { case: opened.body.id })).body.error.code).toBe('case_out_of_scope');
    });
    it('sorting staff and IT admins never', async () => {
      for (const who of ['s1', 'it1']) {
        const r = await reveal(who, 'SF100000000001', ['recipient.phone'], 'delivery');
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe('role_not_permitted');
      }
    });
    it('service accounts read no PII, not even masked', async () => {
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: service })).status).toBe(403);
      expect((await w.api('POST', '/api/v1/waybills/SF100000000001/reveal', { token: service, body: { fields: ['recipient.phone'], purpose: 'delivery' } })).status).toBe(403);
    });
    it('audits every decision, allowed and denied, without PII', async () => {
      const rows = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'access.reveal').execute();
      expect(rows.some((r) => r.decision === 'allowed')).toBe(true);
      expect(rows.some((r) => r.decision === 'denied' && r.reason === 'no_work_context')).toBe(true);
      const text = JSON.stringify(await w.warden.db.selectFrom('audit_log').selectAll().execute());
      for (const p of PLAINTEXTS) expect(text).not.toContain(p);
    });
  });

  describe('quotas', () => {
    it('counts records, per account, across single and batch reveals', async () => {
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: 'SF100000000002', account: 'c1', task: 'delivery' } });
      // c1 already revealed 1 record this minute (limit 5).
      const batch = await w.api('POST', '/api/v1/reveals', {
        token: tokens.c1,
        body: { items: [{ waybill: 'SF100000000001' }, { waybill: 'SF100000000002' }, { waybill: 'SF100000000001' }, { waybill: 'SF100000000002' }, { waybill: 'SF100000000001' }], fields: ['recipient.phone'], purpose: 'delivery' },
      });
      expect(batch.status, batch.text).toBe(200);
      const codes = batch.body.results.map((r: { values?: unknown; error?: { code: string } }) => (r.values ? 'ok' : r.error!.code));
      expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'quota_exceeded']);
      const next = await reveal('c1', 'SF100000000001', ['recipient.phone'], 'delivery');
      expect(next.status).toBe(403);
      expect(next.body.error.code).toBe('quota_exceeded');
      expect(Number(next.headers.get('retry-after'))).toBeGreaterThan(0);
      const audited = await w.warden.db.selectFrom('audit_log').select(['reason']).where('account', '=', 'c1').where('reason', '=', 'quota_exceeded').execute();
      expect(audited.length).toBe(2);
    });
  });

  describe('suspension', () => {
    it('takes effect on the very next request and ends the session; unsuspend lifts it for new logins only', async () => {
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: tokens.o1 })).status).toBe(200);
      const s = await w.api('POST', '/api/v1/accounts/o1/suspend', { token: tokens.sa1, body: { reason: 'leased account suspected' } });
      expect(s.status, s.text).toBe(200);
      const r = await w.api('GET', '/api/v1/waybills/SF100000000001', { token: tokens.o1 });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('account_suspended');
      const relog = await w.api('POST', '/api/v1/sessions', { body: { account: 'o1', password: 'pw-o1-secret', device: 'o1-phone' } });
      expect(relog.body.error.code).toBe('account_suspended');
      expect((await w.api('POST', '/api/v1/accounts/o1/unsuspend', { token: w.adminToken })).status).toBe(200);
      // The suspension ended the old session for good (issue 7, hole 7); a new login works.
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: tokens.o1 })).status).toBe(401);
      tokens.o1 = await login('o1');
      expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: tokens.o1 })).status).toBe(200);
    });
    it('may not be done by a courier', async () => {
      const r = await w.api('POST', '/api/v1/accounts/o1/suspend', { token: tokens.c1 });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    });
  });

  describe('bad input', () => {
    it('malformed JSON', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, raw: '{"waybill": ' });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_json');
    });
    it('a bad ID check digit, named by field, without echoing the value', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { ...waybill('SF100000000010', 'OUT-SH-1', 'OUT-BJ-1'), sender: { ...SENDER, id_number: '110105194912310021' } } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('validation_failed');
      expect(r.body.error.fields.map((f: { field: string }) => f.field)).toContain('sender.id_number');
      expect(r.text).not.toContain('110105194912310021');
    });
    it('a bad phone', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { ...waybill('SF100000000011', 'OUT-SH-1', 'OUT-BJ-1'), recipient: { ...RECIPIENT, phone: '12345' } } });
      expect(r.status).toBe(400);
      expect(r.body.error.fields.map((f: { field: string }) => f.field)).toContain('recipient.phone');
    });
    it('unknown fields', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { ...waybill('SF100000000012', 'OUT-SH-1', 'OUT-BJ-1'), vip: true } });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('unknown_field');
      expect(r.body.error.message).toContain('vip');
      const f = await reveal('c1', 'SF100000000001', ['recipient.iban'], 'delivery');
      expect(f.status).toBe(400);
    });
    it('an oversize body', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { ...waybill('SF100000000013', 'OUT-SH-1', 'OUT-BJ-1'), pad: 'x'.repeat(2 * 1024 * 1024) } });
      expect(r.status).toBe(413);
      expect(r.body.error.code).toBe('payload_too_large');
    });
    it('NDJSON lines that are broken are reported by number and the rest are kept', async () => {
      const ts = new Date().toISOString();
      const body = [
        JSON.stringify({ id: 'ev-1', ts, type: 'scan', waybill: 'SF100000000002', op: 'arrive', site: 'OUT-SH-1' }),
        '{not json',
        JSON.stringify({ id: 'ev-3', ts, type: 'assign', waybill: 'SF100000000002', task: 'delivery' }),
        '',
        JSON.stringify({ id: 'ev-5', ts, type: 'scan', waybill: 'SF100000000002', op: 'depart', site: 'OUT-SH-1', unknown_extra: 1 }),
      ].join('\n');
      const r = await w.api('POST', '/api/v1/events', { token: service, raw: body, contentType: 'application/x-ndjson' });
      expect(r.status).toBe(200);
      expect(r.body.accepted).toBe(2);
      expect(r.body.rejected.map((x: { line: number }) => x.line)).toEqual([2, 3]);
      expect(r.body.rejected[1].reason).toContain('account');
    });
  });

  describe('operations', () => {
    it('serves health, metrics and OpenAPI docs', async () => {
      expect((await w.api('GET', '/healthz')).body.status).toBe('ok');
      const m = await w.api('GET', '/metrics');
      expect(m.text).toContain('warden_access_decisions_total');
      const docs = await w.api('GET', '/docs/json');
      expect(docs.body.paths['/api/v1/waybills/{waybill}/reveal']).toBeDefined();
    });
    it('never logs or exports PII', async () => {
      const m = await w.api('GET', '/metrics');
      for (const p of PLAINTEXTS) {
        expect(w.logs()).not.toContain(p);
        expect(m.text).not.toContain(p);
      }
      expect(w.logs()).not.toContain(w.adminToken);
    });
  });

  describe('fail closed', () => {
    it('refuses a reveal whose audit entry cannot be written, says so in /healthz, and recovers', async () => {
      await sql.raw(`create or replace function warden_test_block_audit() returns trigger language plpgsql as $$ begin raise exception 'audit disk full'; end $$`).execute(w.warden.db);
      await sql.raw(`create trigger warden_test_block before insert on audit_log for each row execute function warden_test_block_audit()`).execute(w.warden.db);
      try {
        const r = await reveal('m1', 'SF100000000001', ['recipient.phone'], 'audit');
        expect(r.status).toBe(503);
        expect(r.body.error.code).toBe('audit_unavailable');
        expect(r.text).not.toContain('13900001111');
        const h = await w.api('GET', '/healthz');
        expect(h.status).toBe(503);
        expect(h.body.checks.audit).toBe('failing');
        expect(w.logs()).toContain('AUDIT WRITE FAILED');
      } finally {
        await sql.raw(`drop trigger warden_test_block on audit_log`).execute(w.warden.db);
      }
      expect((await reveal('m1', 'SF100000000001', ['recipient.phone'], 'audit')).status).toBe(200);
      expect((await w.api('GET', '/healthz')).status).toBe(200);
    });
  });

  describe('tamper evidence', () => {
    it('verifies clean, then names the first altered seq', async () => {
      const ok = await w.api('GET', '/api/v1/audit/verify', { token: w.adminToken });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.body.ok).toBe(true);
      const mid = Math.floor(ok.body.last_seq / 2);
      await sql`update audit_log set reason = coalesce(reason, '') || '-edited' where seq = ${mid}`.execute(w.warden.db);
      const bad = await w.api('GET', '/api/v1/audit/verify', { token: tokens.sa1 });
      expect(bad.status).toBe(409);
      expect(bad.body.first_bad_seq).toBe(mid);
      expect((await w.api('GET', '/api/v1/audit/verify', { token: tokens.c1 })).status).toBe(403);
    });
  });
});
