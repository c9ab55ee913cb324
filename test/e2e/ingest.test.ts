/**
 * Issue 7, holes 4 and 10, tried again through the HTTP API:
 * - a service token (or any token) cannot forge a gateway account's login/access/logout;
 * - each token sends only the event types, sites and non-Warden accounts it is registered for,
 *   on POST /api/v1/events and on the upstream routes alike;
 * - every stored event names its producer; event times outside the window are refused unless
 *   backfilled, and a backfill is audited and grants no work;
 * - every assignment and ticket, from every path, leaves one audit entry in the transaction that
 *   applies it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';
import { loadConfig } from '../../src/config/config.js';
import type { ActivityEvent } from '../../src/contracts/events.js';

const NOW = '2026-11-11T02:00:00.000Z';
const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const PLAINTEXTS = [PARTY.name, PARTY.phone, PARTY.address];
const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs).toISOString();
const HOUR = 3_600_000;
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe.each(testBackends())('ingest producers on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  const tok: Record<string, string> = {};
  const tokenId: Record<string, string> = {};
  const sessions: Record<string, string> = {};
  const published: ActivityEvent[] = [];
  let seq = 0;
  const id = (p: string) => `${p}-${++seq}`;

  const post = (token: string, events: object[], mode?: 'backfill' | 'live') =>
    w.api('POST', `/api/v1/events${mode ? `?mode=${mode}` : ''}`, { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const reveal = (account: string, waybill: string) =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: sessions[account]!, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
  const auditRows = (kind: string) => w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', kind).orderBy('seq').execute();
  const access = (account: string, extra: object = {}) => ({ id: id('acc'), ts: at(-60_000), type: 'access', account, role: 'courier', action: 'reveal', waybill: 'SF100000000001', fields: ['phone'], purpose: 'delivery', result: 'allowed', ...extra });

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock } });
    w.warden.bus.subscribe('ingest-test', (events) => {
      published.push(...events);
    });
    const admin = w.adminToken;
    for (const s of [{ code: 'OUT-BJ-1', kind: 'outlet', city: '北京' }, { code: 'OUT-SH-1', kind: 'outlet', city: '上海' }, { code: 'CS-1', kind: 'cs', city: '上海' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    const accounts: Array<[string, string, string | null]> = [
      ['c1', 'courier', 'OUT-BJ-1'], ['c2', 'courier', 'OUT-SH-1'], ['c3', 'courier', 'OUT-BJ-1'], ['cs1', 'customer_service', 'CS-1'],
      ['it1', 'it_admin', null], ['sa1', 'security_analyst', null],
      ['plain', 'service', null], ['dispatch-bj', 'service', null], ['ticketing', 'service', null], ['legacy', 'service', null], ['history', 'service', null],
    ];
    for (const [account, role, site] of accounts) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: account, role, site, password: `pw-${account}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    const registrations: Record<string, object | undefined> = {
      plain: undefined,
      'dispatch-bj': { events: ['waybill', 'assign', 'scan'], sites: ['OUT-BJ-1'] },
      ticketing: { events: ['ticket'] },
      legacy: { events: ['login', 'logout', 'access'], accounts_prefix: 'LEG-' },
      history: { events: ['assign', 'scan', 'access'], accounts_prefix: 'LEG-', backfill: true },
    };
    for (const [account, body] of Object.entries(registrations)) {
      const r = await w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: admin, ...(body ? { body } : {}) });
      expect(r.status, r.text).toBe(201);
      tok[account] = r.body.token;
      tokenId[account] = r.body.id;
    }
    for (const account of ['c1', 'c2', 'c3', 'it1', 'sa1']) {
      const r = await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-dev` } });
      expect(r.status, r.text).toBe(201);
      sessions[account] = r.body.token;
    }
    for (const [waybill, origin] of [['SF100000000001', 'OUT-BJ-1'], ['SF100000000002', 'OUT-SH-1'], ['SF100000000003', 'OUT-BJ-1']] as const) {
      const r = await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill, origin_site: origin, dest_site: origin, sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
    expect((await w.api('POST', '/api/v1/assignments', { token: admin, body: { waybill: 'SF100000000001', account: 'c1', task: 'delivery' } })).status).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('registration', () => {
    it('a token without a registration gets the upstream default, shown when issued and listed', async () => {
      const list = await w.api('GET', '/api/v1/accounts/plain/tokens', { token: w.adminToken });
      expect(list.status, list.text).toBe(200);
      expect(list.body.tokens).toHaveLength(1);
      expect(list.body.tokens[0]).toMatchObject({ id: tokenId.plain, registration: { events: ['waybill', 'assign', 'ticket', 'scan'], sites: null, accounts_prefix: null, accounts: null, backfill: false } });
      expect(JSON.stringify(list.body)).not.toContain(tok.plain);
      expect((await w.api('GET', '/api/v1/accounts/plain/tokens', { token: tok.plain })).status).toBe(403);
    });

    it('refuses staff activity without its accounts, and accounts that are Warden\'s', async () => {
      const tries: Array<[object, string]> = [
        [{ events: ['access'] }, 'accounts_prefix'],
        [{ events: ['access'], accounts_prefix: 'c' }, 'accounts_prefix'], // c1, c2, c3, cs1 are Warden accounts
        [{ events: ['login'], accounts: ['LEG-9', 'c1'] }, 'accounts'],
        [{ events: ['scan'], accounts: ['LEG-9'] }, 'accounts'],
        [{ events: ['scan'], sites: ['NOWHERE'] }, 'sites'],
        [{ events: ['teleport'] }, 'events.0'],
      ];
      for (const [body, field] of tries) {
        const r = await w.api('POST', '/api/v1/accounts/legacy/tokens', { token: w.adminToken, body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body.error.fields.map((f: { field: string }) => f.field), JSON.stringify(body)).toContain(field);
      }
      expect((await w.api('POST', '/api/v1/accounts/c1/tokens', { token: w.adminToken })).status).toBe(400);
      expect((await w.api('POST', '/api/v1/accounts/legacy/tokens', { token: tok.legacy, body: { events: ['scan'] } })).status).toBe(403);
    });

    it('is audited with the actor and what the token may send; a revoked token is refused', async () => {
      const made = await w.api('POST', '/api/v1/accounts/plain/tokens', { token: w.adminToken, body: { events: ['scan'], sites: ['OUT-BJ-1'] } });
      expect(made.status, made.text).toBe(201);
      const entry = (await auditRows('admin.service_token_created')).find((r) => (r.detail as { token_id?: string }).token_id === made.body.id);
      expect(entry?.detail).toMatchObject({ actor: 'admin', events: ['scan'], sites: ['OUT-BJ-1'], backfill: false });
      const scan = { id: id('scan'), ts: at(0), type: 'scan', waybill: 'SF100000000001', op: 'arrive', site: 'OUT-BJ-1' };
      expect((await post(made.body.token, [scan])).body.accepted).toBe(1);
      const gone = await w.api('DELETE', `/api/v1/accounts/plain/tokens/${made.body.id}`, { token: w.adminToken });
      expect(gone.status, gone.text).toBe(200);
      expect((await w.api('DELETE', `/api/v1/accounts/plain/tokens/${made.body.id}`, { token: w.adminToken })).status).toBe(404);
      expect((await auditRows('admin.service_token_revoked')).at(-1)?.detail).toMatchObject({ actor: 'admin', token_id: made.body.id });
      clock.advance(2_100); // past the principal cache
      expect((await post(made.body.token, [{ ...scan, id: id('scan') }])).status).toBe(401);
      clock.set(NOW);
    });
  });

  describe('hole 4: nobody forges a gateway account\'s activity', () => {
    it('120 access lines and a login about an innocent courier are refused whoever sends them; the courier keeps working', async () => {
      const forged = () => [{ id: id('login'), ts: at(-120_000), type: 'login', account: 'c1', role: 'courier', result: 'success', device: 'stranger' }, ...Array.from({ length: 120 }, () => access('c1'))];
      const expectations: Array<[string, string]> = [[tok.plain!, 'type_not_registered'], [tok['dispatch-bj']!, 'type_not_registered'], [tok.legacy!, 'account_not_registered'], [w.adminToken, 'gateway_account']];
      for (const [token, code] of expectations) {
        const r = await post(token, forged());
        expect(r.status, r.text).toBe(200);
        expect(r.body.accepted).toBe(0);
        expect(r.body.rejected_count).toBe(121);
        expect(r.body.rejected).toHaveLength(100);
        expect(new Set(r.body.rejected.map((x: { code: string }) => x.code))).toEqual(new Set([code]));
      }
      const staffActivity = ['login', 'logout', 'access'];
      const stored = await w.warden.db.selectFrom('activity_events').select('id').where('account', '=', 'c1').where('type', 'in', staffActivity).execute();
      expect(stored).toEqual([]);
      expect(published.some((e) => e.account === 'c1' && staffActivity.includes(e.type) && e.producer !== 'warden')).toBe(false);
      await w.warden.watch?.idle();
      const alerts = await w.api('GET', '/api/v1/alerts?account=c1&min_severity=medium', { token: sessions.sa1 });
      expect(alerts.body.alerts).toEqual([]);
      expect((await reveal('c1', 'SF100000000001')).status).toBe(200);
    });

    it('a legacy system sends login/access for its own accounts only, never for one Warden creates later', async () => {
      const mine = [{ id: id('login'), ts: at(-5_000), type: 'login', account: 'LEG-001', role: 'outlet_staff', result: 'success' }, access('LEG-001')];
      const ok = await post(tok.legacy!, mine);
      expect(ok.body).toMatchObject({ accepted: 2, rejected: [], rejected_count: 0, mode: 'live' });
      const other = await post(tok.legacy!, [access('OTHER-1')]);
      expect(other.body.rejected[0]).toMatchObject({ line: 1, code: 'account_not_registered' });
      expect((await post(tok.history!, [access('LEG-001')])).body.accepted).toBe(1);

      expect((await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: 'LEG-002', role: 'courier', site: 'OUT-BJ-1', password: 'pw-LEG-002-secret' } })).status).toBe(201);
      const late = await post(tok.legacy!, [access('LEG-002'), { id: id('logout'), ts: at(0), type: 'logout', account: 'LEG-002' }]);
      expect(late.body.accepted).toBe(0);
      expect(late.body.rejected.map((x: { code: string }) => x.code)).toEqual(['gateway_account', 'gateway_account']);
    });

    it('a token registered for some sites sends only for them, on /events and on the upstream routes', async () => {
      const d = tok['dispatch-bj']!;
      const r = await post(d, [
        { id: id('a'), ts: at(0), type: 'assign', account: 'c3', waybill: 'SF100000000003', task: 'delivery' }, // c3 is at OUT-BJ-1
        { id: id('a'), ts: at(0), type: 'assign', account: 'c2', waybill: 'SF100000000002', task: 'delivery' }, // c2 is at OUT-SH-1
        { id: id('a'), ts: at(0), type: 'assign', account: 'c2', site: 'OUT-BJ-1', waybill: 'SF100000000002', task: 'delivery' }, // claiming a site does not move c2
        { id: id('s'), ts: at(0), type: 'scan', waybill: 'SF100000000002', op: 'arrive', site: 'OUT-SH-1' },
        { id: id('s'), ts: at(0), type: 'scan', waybill: 'SF100000000002', op: 'arrive' },
        { id: id('w'), ts: at(0), type: 'waybill', waybill: 'SF100000000009', origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1' },
        { id: id('w'), ts: at(0), type: 'waybill', waybill: 'SF100000000009', origin_site: 'OUT-BJ-1', dest_site: 'OUT-SH-1' },
        { id: id('t'), ts: at(0), type: 'ticket', account: 'c3', ticket: 'T-x', waybill: 'SF100000000003', status: 'open' },
      ]);
      expect(r.body.accepted).toBe(2);
      expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([
        [2, 'site_not_registered'], [3, 'site_not_registered'], [4, 'site_not_registered'], [5, 'site_not_registered'], [6, 'site_not_registered'], [8, 'type_not_registered'],
      ]);
      expect((await reveal('c3', 'SF100000000003')).status).toBe(200);
      expect((await reveal('c2', 'SF100000000002')).body.error.code).toBe('no_work_context');

      const routes: Array<[string, string, object, number]> = [
        [d, '/api/v1/assignments', { waybill: 'SF100000000002', account: 'c2', task: 'delivery' }, 403],
        [d, '/api/v1/assignments', { waybill: 'SF100000000003', account: 'c3', task: 'pickup' }, 201],
        [d, '/api/v1/scans', { waybill: 'SF100000000002', op: 'arrive' }, 403],
        [d, '/api/v1/scans', { waybill: 'SF100000000002', op: 'arrive', site: 'OUT-SH-1' }, 403],
        [d, '/api/v1/scans', { waybill: 'SF100000000003', op: 'arrive', site: 'OUT-BJ-1' }, 201],
        [d, '/api/v1/tickets', { ticket: 'T-y', waybill: 'SF100000000003', account: 'c3', status: 'open' }, 403],
        [tok.ticketing!, '/api/v1/tickets', { ticket: 'T-y', waybill: 'SF100000000003', account: 'cs1', status: 'open' }, 201],
        [tok.ticketing!, '/api/v1/scans', { waybill: 'SF100000000003', op: 'arrive' }, 403],
        [tok.legacy!, '/api/v1/assignments', { waybill: 'SF100000000002', account: 'c2', task: 'delivery' }, 403],
      ];
      for (const [token, path, body, status] of routes) {
        const res = await w.api('POST', path, { token, body });
        expect(res.status, `${path} ${JSON.stringify(body)} ${res.text}`).toBe(status);
        if (status === 403) expect(res.body.error.code).toBe('producer_not_registered');
      }
      expect((await reveal('c2', 'SF100000000002')).body.error.code).toBe('no_work_context');

      const wb = { waybill: 'SF100000000010', origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1', sender: PARTY, recipient: PARTY };
      const refused = await w.api('POST', '/api/v1/waybills', { token: d, body: wb });
      expect(refused.status).toBe(403);
      expect(await w.warden.db.selectFrom('waybills').select('waybill').where('waybill', '=', wb.waybill).execute()).toEqual([]);
      expect((await w.api('POST', '/api/v1/waybills', { token: d, body: { ...wb, origin_site: 'OUT-BJ-1' } })).status).toBe(201);
    });

    it('every stored and published event names its producer; a sender cannot claim to be warden or history', async () => {
      const line = { id: id('claim'), ts: at(0), type: 'scan', waybill: 'SF100000000001', op: 'depart', site: 'OUT-BJ-1', producer: 'warden', backfill: true };
      expect((await post(tok.plain!, [line])).body.accepted).toBe(1);
      const row = await w.warden.db.selectFrom('activity_events').selectAll().where('id', '=', line.id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ producer: `token:${tokenId.plain}`, producer_account: 'plain', backfill: false });
      expect((row.body as Record<string, unknown>).producer).toBe(`token:${tokenId.plain}`);
      expect((row.body as Record<string, unknown>).backfill).toBeUndefined();
      const out = published.find((e) => e.id === line.id);
      expect(out?.producer).toBe(`token:${tokenId.plain}`);
      expect(out?.backfill).toBeUndefined();

      expect((await post(tok.plain!, [{ ...line, id: 'audit-999999' }])).body.rejected[0]).toMatchObject({ line: 1, code: 'reserved_id' });

      const before = published.length;
      expect((await reveal('c1', 'SF100000000001')).status).toBe(200);
      for (let i = 0; i < 50 && !published.slice(before).some((e) => e.type === 'access'); i++) await new Promise((r) => setTimeout(r, 10));
      const own = published.slice(before).find((e) => e.type === 'access' && e.account === 'c1');
      expect(own?.producer).toBe('warden');
    });

    it('refuses event times outside the window per line (2020, 2099, beyond the skew) and keeps the rest', async () => {
      const scan = (ts: string) => ({ id: id('t'), ts, type: 'scan', waybill: 'SF100000000001', op: 'arrive', site: 'OUT-BJ-1' });
      const r = await post(tok.plain!, [scan('2020-01-01T00:00:00.000Z'), scan('2099-01-01T00:00:00.000Z'), scan(at(-23 * HOUR)), scan(at(4 * 60_000)), scan(at(6 * 60_000)), scan(at(-25 * HOUR))]);
      expect(r.body.accepted).toBe(2);
      expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[1, 'too_old'], [2, 'too_new'], [5, 'too_new'], [6, 'too_old']]);
      // The window moves with Warden's clock.
      clock.advance(2 * HOUR);
      expect((await post(tok.plain!, [scan(at(-23 * HOUR))])).body.rejected[0]?.code).toBe('too_old');
      clock.set(NOW);
      expect(loadConfig({}, { WARDEN_INGEST_MAX_AGE: '3600', WARDEN_INGEST_MAX_SKEW: '30' })).toMatchObject({ ingestMaxAgeSeconds: 3600, ingestMaxSkewSeconds: 30 });
      expect(() => loadConfig({}, { WARDEN_INGEST_MAX_SKEW: 'soon' })).toThrow(/WARDEN_INGEST_MAX_SKEW/);
    });

    it('backfill: only registered tokens, it_admin and admin; audited; stored and published as history; grants no work', async () => {
      const history = [
        access('LEG-001', { ts: '2020-03-01T08:00:00.000Z' }),
        access('LEG-001', { ts: '2025-06-30T08:00:00.000Z' }),
        { id: id('a'), ts: at(-25 * HOUR), type: 'assign', account: 'c2', waybill: 'SF100000000002', task: 'delivery' },
        { ...access('LEG-001'), ts: '2099-01-01T00:00:00.000Z' },
        access('c1', { ts: '2024-01-01T00:00:00.000Z' }),
        access('LEG-001', { ts: at(-2 * HOUR) }), // inside the live window: not history
      ];
      expect((await post(tok.plain!, history, 'backfill')).status).toBe(403);
      expect((await post(tok.legacy!, history, 'backfill')).status).toBe(403);
      expect((await post(sessions.c1!, history, 'backfill')).status).toBe(403);
      expect((await post(sessions.it1!, history)).status).toBe(403);
      expect((await post(tok.history!, history.slice(0, 2))).body.rejected.map((x: { code: string }) => x.code)).toEqual(['too_old', 'too_old']);

      const r = await post(tok.history!, history, 'backfill');
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ accepted: 3, rejected_count: 3, mode: 'backfill' });
      expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[4, 'too_new'], [5, 'account_not_registered'], [6, 'too_recent']]);
      const entry = (await auditRows('events.backfill')).at(-1)!;
      expect(entry.account).toBe('history');
      expect(entry.detail).toMatchObject({ actor: 'history', producer: `token:${tokenId.history}`, accepted: 3, rejected: 3, duplicates: 0, from: '2020-03-01T08:00:00.000Z', to: at(-25 * HOUR) });
      const rows = await w.warden.db.selectFrom('activity_events').select(['id', 'backfill', 'producer']).where('id', 'in', history.slice(0, 3).map((e) => e.id)).execute();
      expect(rows.map((x) => x.backfill)).toEqual([true, true, true]);
      expect(published.filter((e) => history.some((h) => h.id === e.id)).map((e) => e.backfill)).toEqual([true, true, true]);
      // History does not open access today: the backfilled assignment grants c2 nothing, and is no work.assigned entry.
      expect((await reveal('c2', 'SF100000000002')).body.error.code).toBe('no_work_context');
      expect((await auditRows('work.assigned')).some((e) => e.account === 'c2')).toBe(false);

      const it = await post(sessions.it1!, [{ id: id('s'), ts: '2021-05-05T05:05:05.000Z', type: 'scan', waybill: 'SF100000000001', op: 'arrive', site: 'OUT-BJ-1' }], 'backfill');
      expect(it.body).toMatchObject({ accepted: 1, mode: 'backfill' });
      expect((await auditRows('events.backfill')).at(-1)).toMatchObject({ account: 'it1', detail: { actor: 'it1', producer: 'account:it1', accepted: 1 } });
    });
  });

  describe('hole 10: who may see what is audited', () => {
    it('every assignment and ticket, from the routes and from NDJSON, leaves one audit entry with its producer and no PII', async () => {
      const before = { assigned: (await auditRows('work.assigned')).length, ticket: (await auditRows('work.ticket')).length };
      expect((await w.api('POST', '/api/v1/assignments', { token: tok.plain!, body: { waybill: 'SF100000000002', account: 'c2', task: 'pickup' } })).status).toBe(201);
      const byRoute = (await auditRows('work.assigned')).at(-1)!;
      expect(byRoute).toMatchObject({ account: 'c2', waybill: 'SF100000000002', decision: 'ok', detail: { task: 'pickup', producer: `token:${tokenId.plain}`, actor: 'plain' } });
      expect(byRoute.request_id).toBeTruthy();
      expect((await w.api('POST', '/api/v1/tickets', { token: tok.ticketing!, body: { ticket: 'T-10', waybill: 'SF100000000002', account: 'cs1', status: 'open' } })).status).toBe(201);
      expect((await auditRows('work.ticket')).at(-1)).toMatchObject({ account: 'cs1', waybill: 'SF100000000002', ticket: 'T-10', detail: { status: 'open', producer: `token:${tokenId.ticketing}` } });

      const batch = [
        { id: id('a'), ts: at(0), type: 'assign', account: 'c1', waybill: 'SF100000000002', task: 'delivery' },
        { id: id('a'), ts: at(0), type: 'assign', account: 'c3', waybill: 'SF100000000001', task: 'delivery' },
        { id: id('s'), ts: at(0), type: 'scan', waybill: 'SF100000000001', op: 'arrive', site: 'OUT-BJ-1' },
        { id: id('t'), ts: at(0), type: 'ticket', account: 'cs1', ticket: 'T-11', waybill: 'SF100000000001', status: 'open' },
        { id: id('t'), ts: at(1000), type: 'ticket', account: 'cs1', ticket: 'T-11', waybill: 'SF100000000001', status: 'closed' },
        { id: id('s'), ts: at(0), type: 'scan', waybill: 'SF100000000002', op: 'depart', site: 'OUT-SH-1' },
      ];
      const seen = published.length;
      const r = await post(tok.plain!, batch);
      expect(r.body).toMatchObject({ accepted: 6, duplicates: 0 });
      expect((await auditRows('work.assigned')).length).toBe(before.assigned + 3);
      expect((await auditRows('work.ticket')).length).toBe(before.ticket + 3);
      // The contract events are the bus events for this work: published once, no audit-made copies.
      expect(published.slice(seen).map((e) => e.id).sort()).toEqual(batch.map((e) => e.id).sort());
      const statuses = (await auditRows('work.ticket')).slice(-2).map((e) => (e.detail as { status: string }).status);
      expect(statuses).toEqual(['open', 'closed']);

      const again = await post(tok.plain!, batch);
      expect(again.body).toMatchObject({ accepted: 6, duplicates: 6 });
      expect((await auditRows('work.assigned')).length).toBe(before.assigned + 3);
      expect(published.length).toBe(seen + 6);

      const all = JSON.stringify([...(await auditRows('work.assigned')), ...(await auditRows('work.ticket')), ...(await auditRows('events.backfill'))]);
      for (const p of PLAINTEXTS) expect(all).not.toContain(p);
      const verify = await w.api('GET', '/api/v1/audit/verify', { token: w.adminToken });
      expect(verify.body.ok, verify.text).toBe(true);
    });

    it('work is applied only with its audit entry: when the trail cannot be written the assignment is refused and grants nothing; resending is safe', async () => {
      await sql.raw(`create or replace function warden_test_block_audit() returns trigger language plpgsql as $$ begin raise exception 'audit disk full'; end $$`).execute(w.warden.db);
      await sql.raw(`create trigger warden_test_block before insert on audit_log for each row execute function warden_test_block_audit()`).execute(w.warden.db);
      const line = { id: id('a'), ts: at(0), type: 'assign', account: 'c2', waybill: 'SF100000000003', task: 'delivery' };
      const scan = { id: id('s'), ts: at(0), type: 'scan', waybill: 'SF100000000003', op: 'arrive', site: 'OUT-BJ-1' };
      try {
        const viaRoute = await w.api('POST', '/api/v1/assignments', { token: tok.plain!, body: { waybill: 'SF100000000003', account: 'c2', task: 'delivery' } });
        expect(viaRoute.status).toBe(503);
        expect(viaRoute.body.error.code).toBe('audit_unavailable');
        expect((await post(tok.plain!, [scan, line])).status).toBe(503);
      } finally {
        await sql.raw(`drop trigger warden_test_block on audit_log`).execute(w.warden.db);
      }
      // The scan changes no work and was kept (and published); the assignment was not.
      const stored = await w.warden.db.selectFrom('activity_events').select('id').where('id', 'in', [scan.id, line.id]).execute();
      expect(stored.map((r) => r.id)).toEqual([scan.id]);
      expect(published.some((e) => e.id === scan.id)).toBe(true);
      expect((await reveal('c2', 'SF100000000003')).body.error.code).toBe('no_work_context');
      // Sending the same request again is safe: what was kept comes back as a duplicate.
      expect((await post(tok.plain!, [scan, line])).body).toMatchObject({ accepted: 2, duplicates: 1 });
      expect((await reveal('c2', 'SF100000000003')).status).toBe(200);
    });
  });
});
