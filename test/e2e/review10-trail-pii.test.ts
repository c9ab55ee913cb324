/**
 * Attack review 10, over real HTTP on a real server:
 * (A, finding 4) a customer's name and phone typed into free text — a suspension's reason, a
 *     detector change's reason — landed verbatim in the permanent trail (and the SIEM); a phone
 *     taken as an "account" of a breach report or an exception, as a token's upstream account or
 *     as a new account's id, too. Free text now stays on its row (the API still shows it to the
 *     analysts) and the entry keeps its SHA-256 and length; identifiers follow the identifier rule
 *     (400 naming the field) and a breach report's accounts must exist.
 * (B, finding 5) accounts could take Warden's own names (`warden`, `warden:start`, `token:…`):
 *     reserved, 400.
 * (C, finding 2) the database owner rewrote `trace_exports` and leak attribution named an innocent
 *     manager: attribution takes who received an export from its `access.export` entry, leaves out
 *     rows and canary links the trail does not back (`audit_inconsistent`), and reconcile names them.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { reconcileState } from '../../src/audit/reconcile/index.js';

const NAME = '王小三';
const PHONE = '13900000003';
const PII = `${NAME} ${PHONE}`;
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const party = (i: number) => ({ name: `李${'一二三四五六七八九十'[i % 10]}${'甲乙丙丁戊己庚辛壬癸'[Math.floor(i / 10) % 10]}`, phone: `13700${String(i).padStart(6, '0')}`, address: `北京市海淀区中关村大街${100 + i}号${(i % 9) + 1}栋${(i % 7) + 1}单元${200 + i}室` });

describe.each(testBackends())('attack review 10 (free text and names in the trail, exports the trail does not back) on %s', (backend) => {
  let w: TestWarden;
  let service = '';
  const tokens: Record<string, string> = {};
  const login = async (id: string) => (tokens[id] = await loginAs(w, id));
  const entries = (kind: string) => w.warden.db.selectFrom('audit_log').select(['seq', 'decision', 'reason', 'account', 'detail']).where('kind', '=', kind).orderBy('seq').execute();
  const detail = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d) as Record<string, unknown>;
  const noPii = (x: unknown) => {
    expect(JSON.stringify(x)).not.toContain(PHONE);
    expect(JSON.stringify(x)).not.toContain(NAME);
  };

  beforeAll(async () => {
    w = await startTestWarden(backend);
    service = (await staff(w, [{ code: 'OUT-1', city: '北京' }], [
      ['sa1', 'security_analyst', null], ['sa2', 'security_analyst', null], ['it1', 'it_admin', null],
      ['m1', 'manager', 'OUT-1'], ['m2', 'manager', 'OUT-1'], ['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['svc', 'service', null], ['feed', 'service', null],
    ])).svc!;
    for (const id of ['sa1', 'sa2', 'it1', 'm1', 'm2']) await login(id);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('(A) free text stays on its row; the trail keeps its fingerprint', () => {
    it('a suspension reason naming a customer: on the account for analysts, only its SHA-256 and length in the trail', async () => {
      const reason = `harvesting, see ${PII}`;
      const r = await w.api('POST', '/api/v1/accounts/c1/suspend', { token: tokens.sa1, body: { reason } });
      expect(r.status, r.text).toBe(200);
      // Allowed: analysts still read it (account page and investigation).
      expect((await w.api('GET', '/api/v1/accounts/c1', { token: tokens.sa2 })).body.status_reason).toBe(reason);
      const e = (await entries('admin.account_suspended')).at(-1)!;
      expect(e).toMatchObject({ decision: 'ok', account: 'c1', reason: null });
      expect(detail(e.detail)).toMatchObject({ actor: 'sa1', reason_sha256: sha(reason), reason_length: [...reason].length });
      noPii(e);
      const lifted = await w.api('POST', '/api/v1/accounts/c1/unsuspend', { token: tokens.sa2, body: { reason: `cleared ${PII}` } });
      expect(lifted.status, lifted.text).toBe(200);
      noPii((await entries('admin.account_unsuspended')).at(-1));
    });

    it('a detector change whose reason names a customer: the approver reads it on the request, the saved change keeps it; the trail has neither', async () => {
      const reason = `complaint by ${PII}`;
      const asked = await w.api('PUT', '/api/v1/detectors/harvesting', { token: tokens.sa1, body: { settings: { burst_min_records: 55 }, reason } });
      expect(asked.status, asked.text).toBeLessThan(300);
      const listed = (await w.api('GET', '/api/v1/detectors', { token: tokens.sa2 })).body.detectors as Array<{ name: string; request: { reason: string } | null; saved: { reason?: string | null } | null }>;
      expect(listed.find((d) => d.name === 'harvesting')!.request!.reason).toBe(reason);
      const ok = await w.api('POST', '/api/v1/detectors/harvesting/approve', { token: tokens.sa2, body: { requested_at: asked.body.requested_at } });
      expect(ok.status, ok.text).toBe(200);
      const after = (await w.api('GET', '/api/v1/detectors', { token: tokens.sa1 })).body.detectors as typeof listed;
      expect(after.find((d) => d.name === 'harvesting')!.saved!.reason).toBe(reason);
      for (const kind of ['detect.settings_requested', 'detect.settings_changed']) {
        const e = (await entries(kind)).at(-1)!;
        expect(e.reason).toBeNull();
        expect(detail(e.detail)).toMatchObject({ detector: 'harvesting', reason_sha256: sha(reason), reason_length: [...reason].length });
        noPii(e);
      }
      // The review-9 check still holds: the approval compared the request with its entry.
      expect((await reconcileState(w.warden.db)).findings.filter((f) => f.table === 'detector_settings')).toEqual([]);
    });

    it('a breach report over accounts takes Warden-known account ids only: a phone or an unknown id is 400 naming the field, and nothing is audited', async () => {
      const window = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() };
      const before = (await entries('pipl.breach_report')).length;
      const phone = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { accounts: ['c2', PHONE], ...window } });
      expect(phone.status, phone.text).toBe(400);
      expect(phone.body.error).toMatchObject({ code: 'bad_identifier' });
      expect(phone.body.error.message).toContain('accounts.1');
      expect(phone.text).not.toContain(PHONE);
      const split = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { accounts: ['139-0000-0003'], ...window } });
      expect(split.status).toBe(400);
      const unknown = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { accounts: ['nobody-here'], ...window } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error).toMatchObject({ code: 'validation_failed' });
      expect(unknown.body.error.message).toContain('accounts.0');
      expect((await entries('pipl.breach_report')).length).toBe(before);
      // Allowed: a Warden account, recorded by its id.
      const ok = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { accounts: ['c2'], ...window } });
      expect(ok.status, ok.text).toBe(200);
      expect(detail((await entries('pipl.breach_report')).at(-1)!.detail)).toMatchObject({ source: 'accounts', ref: 'c2' });
    });

    it('an exception naming a phone as its account is 400 naming the field; one naming an account is taken', async () => {
      const until = new Date(Date.now() + 86_400_000).toISOString();
      const before = (await entries('watch.exception_added')).length;
      const device = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'device', account: PHONE, value: 'dev-1', until, reason: 'shared scanner' } });
      expect(device.status, device.text).toBe(400);
      expect(device.body.error).toMatchObject({ code: 'bad_identifier' });
      expect(device.body.error.message).toMatch(/^account /);
      const account = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'account', value: PHONE, until, reason: 'shared scanner' } });
      expect(account.status).toBe(400);
      expect(account.body.error.message).toMatch(/^value /);
      expect((await entries('watch.exception_added')).length).toBe(before);
      noPii(await entries('watch.exception_added'));
      const ok = await w.api('POST', '/api/v1/exceptions', { token: tokens.sa1, body: { kind: 'device', account: 'c2', value: 'dev-1', until, reason: 'shared scanner' } });
      expect(ok.status, ok.text).toBe(201);
    });

    it("a token's upstream accounts, a new account's id and a site's code are identifiers: a phone is 400 naming the field", async () => {
      const bad = await w.api('POST', '/api/v1/accounts/feed/tokens', { token: w.adminToken, body: { events: ['access'], accounts: ['legacy-1', PHONE] } });
      expect(bad.status, bad.text).toBe(400);
      expect(JSON.stringify(bad.body.error.fields)).toContain('accounts.1');
      const prefix = await w.api('POST', '/api/v1/accounts/feed/tokens', { token: w.adminToken, body: { events: ['access'], accounts_prefix: PHONE } });
      expect(prefix.status).toBe(400);
      const ok = await w.api('POST', '/api/v1/accounts/feed/tokens', { token: w.adminToken, body: { events: ['access'], accounts: ['legacy-1'] } });
      expect(ok.status, ok.text).toBe(201);
      noPii(await entries('admin.service_token_created'));

      for (const id of [PHONE, '139_0000_0003', `${PHONE}@corp.example`]) {
        const r = await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id, role: 'courier', site: 'OUT-1', password: 'pw-x-secret-long' } });
        expect(r.status, id).toBe(400);
        expect(r.body.error).toMatchObject({ code: 'bad_identifier' });
        expect(r.text).not.toContain(PHONE);
      }
      const fine = await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id: 'c-1390', role: 'courier', site: 'OUT-1', password: 'pw-x-secret-long' } });
      expect(fine.status, fine.text).toBe(201);
      noPii(await entries('admin.account_created'));
      // A site's code is every entry's `site`: the same rule.
      const site = await w.api('POST', '/api/v1/sites', { token: tokens.it1, body: { code: PHONE, kind: 'outlet', city: '北京' } });
      expect(site.status, site.text).toBe(400);
      expect(site.body.error).toMatchObject({ code: 'bad_identifier' });
      expect((await w.api('POST', '/api/v1/sites', { token: tokens.it1, body: { code: 'OUT-1390', kind: 'outlet', city: '北京' } })).status).toBe(201);
      noPii(await entries('admin.site_created'));
    });
  });

  describe("(B) Warden's own names are no account ids", () => {
    it('warden, warden:*, token:*, account:*, unknown:*, system:* … are refused (400 reserved); look-alikes are taken', async () => {
      for (const id of ['warden', 'WARDEN', 'warden:start', 'warden:retention-schedule', 'warden-trace', 'token:abc', 'account:sa1', 'unknown:0123456789abcdef', 'system:x', 'hmac:0123', 'os:root', 'admin', 'unrecorded']) {
        const r = await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id, role: 'it_admin', password: 'pw-x-secret-long' } });
        expect(r.status, id).toBe(400);
        expect(r.body.error.code).toBe('validation_failed');
        expect(r.body.error.fields).toEqual([expect.objectContaining({ field: 'id', code: 'reserved' })]);
      }
      expect(await w.warden.db.selectFrom('accounts').select('id').where('id', 'like', 'warden%').execute()).toEqual([]);
      for (const id of ['wardens', 'warden2', 'tokenholder', 'administrator']) {
        const r = await w.api('POST', '/api/v1/accounts', { token: tokens.it1, body: { id, role: 'courier', site: 'OUT-1', password: 'pw-x-secret-long' } });
        expect(r.status, `${id}: ${r.text}`).toBe(201);
      }
    });
  });

  describe('(C) leak attribution reads who received an export from the trail', () => {
    let csv = '';
    let exportId = '';
    let other = '';
    const attribute = async (who = 'sa2') => {
      const r = await fetch(`${w.url}/api/v1/attributions`, { method: 'POST', headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'text/csv' }, body: csv });
      expect(r.status).toBe(200);
      return (await r.json()) as { sources: string[]; suspects: Array<{ account: string; matched: number; links: number }>; exports: Array<{ id: string; account: string }>; audit_inconsistent: number };
    };
    const waybill = (i: number) => `SF20000001${String(1000 + i * 9)}`;
    const exportFindings = async () => (await reconcileState(w.warden.db)).findings.filter((f) => f.table === 'trace_exports');

    beforeAll(async () => {
      // Thirty parcels, numbers spaced as a busy outlet's are (canaries are drawn from the gaps).
      for (let i = 0; i < 30; i++) {
        const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: waybill(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party(0), recipient: party(i + 10) } });
        expect(r.status, r.text).toBe(201);
      }
      const window = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
      const exp = await w.api('POST', '/api/v1/exports', { token: tokens.m1, body: { filter: { ...window, site: 'OUT-1' } } });
      expect(exp.status, exp.text).toBe(201);
      exportId = exp.body.id;
      csv = ['运单号,收件人,电话,地址', ...exp.body.rows.map((x: any) => [x.waybill, x.recipient.name, x.recipient.phone, x.recipient.address].join(','))].join('\n');
      // m2 takes an export of its own (one row, no canary): a row the trail backs, to point canaries at.
      const mine = await w.api('POST', '/api/v1/exports', { token: tokens.m2, body: { waybills: [waybill(0)] } });
      expect(mine.status, mine.text).toBe(201);
      other = mine.body.id;
    });

    it('honest: the recipient is named, outright by the export canaries, and reconcile is clean', async () => {
      const out = await attribute();
      expect(out.sources).toEqual(['m1']);
      // Its 30 rows and the export's own canary rows.
      expect(out.suspects[0]).toMatchObject({ account: 'm1', matched: 33 });
      expect(out.suspects.find((s) => s.account === 'm2')).toMatchObject({ matched: 1, links: 0 });
      expect(out.exports).toEqual([expect.objectContaining({ id: exportId, account: 'm1' })]);
      expect(out.audit_inconsistent).toBe(0);
      expect(await exportFindings()).toEqual([]);
    });

    it('a row rewritten to another manager frames nobody: the trail still names m1, the row is counted and named by reconcile', async () => {
      await sql`update trace_exports set account = 'm2' where id = ${exportId}`.execute(w.warden.db);
      try {
        const out = await attribute();
        // m1 still saw every row (its entry says so); m2 saw one (its own export), and no canary links to it.
        expect(out.suspects[0]).toMatchObject({ account: 'm1', matched: 30 });
        expect(out.suspects.find((s) => s.account === 'm2')).toMatchObject({ matched: 1, links: 0 });
        expect(out.sources).not.toContain('m2');
        expect(out.exports.map((x) => x.account)).not.toContain('m2');
        expect(out.audit_inconsistent).toBeGreaterThanOrEqual(1);
        const f = await exportFindings();
        expect(f).toEqual([expect.objectContaining({ key: exportId, problem: expect.stringContaining('account: trail m1, row m2') })]);
      } finally {
        await sql`update trace_exports set account = 'm1' where id = ${exportId}`.execute(w.warden.db);
      }
    });

    it('a row deleted clears nobody: m1 is still named from the entry; reconcile names the missing row', async () => {
      const row = await w.warden.db.selectFrom('trace_exports').selectAll().where('id', '=', exportId).executeTakeFirstOrThrow();
      await w.warden.db.deleteFrom('trace_exports').where('id', '=', exportId).execute();
      try {
        const out = await attribute();
        expect(out.suspects[0]).toMatchObject({ account: 'm1', matched: 30 });
        expect(out.audit_inconsistent).toBeGreaterThanOrEqual(1);
        expect(await exportFindings()).toEqual([expect.objectContaining({ key: exportId, problem: expect.stringContaining('row is gone') })]);
      } finally {
        await w.warden.db.insertInto('trace_exports').values({ ...row, row_order: JSON.stringify(typeof row.row_order === 'string' ? JSON.parse(row.row_order) : row.row_order) }).execute();
      }
      expect(await exportFindings()).toEqual([]);
    });

    it("an upstream reveal written into activity_events about a Warden account frames nobody (ingest never takes one)", async () => {
      const leaked = waybill(5);
      await w.warden.db.insertInto('activity_events').values({ id: 'forged-1', ts: new Date(), type: 'access', account: 'm2', body: JSON.stringify({ id: 'forged-1', type: 'access', account: 'm2', action: 'reveal', waybill: leaked, fields: ['recipient.phone'], ts: new Date().toISOString() }), received_at: new Date(), producer: 'token:x', producer_account: 'svc' }).execute();
      try {
        const out = await attribute();
        expect(out.suspects.find((s) => s.account === 'm2')).toMatchObject({ matched: 1 });
        expect(out.sources).toEqual(['m1']);
        // Nor does the breach report about m2 count it as a record m2 saw.
        const window = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() };
        const breach = await w.api('POST', '/api/v1/reports/breach', { token: tokens.sa1, body: { accounts: ['m2'], ...window } });
        expect(breach.status, breach.text).toBe(200);
        expect(breach.body.records).toBe(0);
      } finally {
        await w.warden.db.deleteFrom('activity_events').where('id', '=', 'forged-1').execute();
      }
    });

    it("canaries re-pointed at another manager's export link nobody to it: counted, and reconcile names the batch", async () => {
      await sql`update trace_canaries set export_id = ${other} where export_id = ${exportId}`.execute(w.warden.db);
      try {
        const out = await attribute();
        expect(out.exports.map((x) => x.account)).not.toContain('m2');
        expect(out.suspects[0]).toMatchObject({ account: 'm1', matched: 33 });
        expect(out.suspects.find((s) => s.account === 'm2')).toMatchObject({ matched: 1, links: 0 });
        expect(out.sources).not.toContain('m2');
        expect(out.audit_inconsistent).toBeGreaterThanOrEqual(1);
        expect((await exportFindings()).map((f) => f.problem)).toEqual([expect.stringContaining('re-pointed')]);
      } finally {
        await sql`update trace_canaries set export_id = ${exportId} where export_id = ${other}`.execute(w.warden.db);
      }
      const out = await attribute('sa1');
      expect(out.exports).toEqual([expect.objectContaining({ id: exportId, account: 'm1' })]);
      expect(out.audit_inconsistent).toBe(0);
    });
  });
});
