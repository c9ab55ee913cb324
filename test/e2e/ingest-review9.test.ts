/**
 * Attack review 9, tried again over HTTP:
 * 1. PII as an event's id, site, device, session or account (a name and a phone number as a
 *    delivered scan's id and site landed in `work.completed`; an ID number and a name as an
 *    assignee's account became the audit `account`; `LG-<img…>` reached alerts and logs): each is
 *    refused per line `bad_identifier`, the rest kept; an assignment or ticket names a Warden
 *    account whoever sends it (`unknown_account`).
 * 3. A far-past backfill line (`0000-01-01`) answered 500 and lost every valid line: now `too_old`
 *    per line.
 * 4. Two events under one id: the second was dropped without a word; now `id_conflict` per line,
 *    and repeats of the same event are listed as duplicate lines.
 * 5. /docs (same origin as the console) could be framed: now it has the console's protections.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';

const NOW = '2026-11-11T02:00:00.000Z';
const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const PII = ['王小明', '13900001111', '110105198503062019', '北京市', '<img'];
const WB = 'SF900000000001';
const WB2 = 'SF900000000002';
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
const lines = (r: { body: any }) => r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code]);

describe.each(testBackends())('ingest, attack review 9, on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  const tok: Record<string, string> = {};
  const post = (token: string, events: object[], mode?: 'backfill') =>
    w.api('POST', `/api/v1/events${mode ? `?mode=${mode}` : ''}`, { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const trailText = async () => JSON.stringify(await w.warden.db.selectFrom('audit_log').selectAll().execute());
  const storedText = async () => JSON.stringify(await w.warden.db.selectFrom('activity_events').select('body').execute());
  const noPii = (text: string) => {
    for (const v of PII) expect(text).not.toContain(v);
  };
  const scan = (id: string, extra: object = {}) => ({ id, ts: NOW, type: 'scan', waybill: WB, op: 'delivered', site: 'OUT-BJ-1', ...extra });
  const assign = (id: string, account: string, waybill = WB) => ({ id, ts: NOW, type: 'assign', account, role: 'courier', waybill, task: 'delivery' });

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false } });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-BJ-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const [id, role, site] of [['c1', 'courier', 'OUT-BJ-1'], ['svc', 'service', null], ['legacy', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    tok.svc = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token; // every site, upstream types
    tok.legacy = (await w.api('POST', '/api/v1/accounts/legacy/tokens', { token: admin, body: { events: ['login', 'logout', 'access'], accounts_prefix: 'LG-' } })).body.token;
    for (const wb of [WB, WB2]) {
      const r = await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill: wb, origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1', sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('1. identifiers and assignees', () => {
    it('denied: PII as an id, site, device, session or account is refused per line, named by field, never repeated; nothing of it is kept', async () => {
      const r = await post(tok.svc!, [
        scan(`${PARTY.name} ${PARTY.phone} ${PARTY.address}`, { site: `客户 ${PARTY.name} 电话 ${PARTY.phone}` }),
        assign('a-pii', `110105198503062019 ${PARTY.name}`),
        assign('a-ok-1', 'c1'),
        scan('s-dev', { op: 'arrive', device: `${PARTY.name}的手机` }),
        scan('s-sess', { op: 'arrive', session: `tel-${PARTY.phone}` }),
        scan('s-site', { op: 'arrive', site: PARTY.phone }),
      ]);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ accepted: 1, rejected_count: 5 });
      expect(lines(r)).toEqual([[1, 'bad_identifier'], [2, 'bad_identifier'], [4, 'bad_identifier'], [5, 'bad_identifier'], [6, 'bad_identifier']]);
      expect(r.body.rejected.map((x: { reason: string }) => x.reason.match(/field "(\w+)"/)?.[1])).toEqual(['id', 'account', 'device', 'session', 'site']);
      noPii(r.text);
      noPii(await trailText());
      noPii(await storedText());
      // The route answers 400 bad_identifier for a typed assignee, never repeating it.
      const route = await w.api('POST', '/api/v1/assignments', { token: tok.svc!, body: { waybill: WB, account: PARTY.phone, task: 'delivery' } });
      expect(route.status, route.text).toBe(400);
      expect(route.body.error.code).toBe('bad_identifier');
      noPii(route.text);
      // A legacy system's made-up account with markup in it.
      const legacy = await post(tok.legacy!, [{ id: 'lg-1', ts: NOW, type: 'access', account: 'LG-<img src=x onerror=alert(1)>', role: 'courier', action: 'view', waybill: WB }]);
      expect(lines(legacy)).toEqual([[1, 'bad_identifier']]);
      noPii(legacy.text);
    });

    it('allowed: identifiers pass; a delivered scan completes c1\'s work and the audit entry carries only ids', async () => {
      const legacy = await post(tok.legacy!, [{ id: 'lg-2', ts: NOW, type: 'access', account: 'LG-x1', role: 'courier', action: 'view', waybill: WB, device: 'pda:7f3a-01', session: 'sess_0c9b2e', ip: '127.0.0.9' }]);
      expect(legacy.body).toMatchObject({ accepted: 1, rejected_count: 0 });
      const r = await post(tok.svc!, [scan('6f1c2a4e-5b7d-4c1e-9a3f-2d8e7b6c5a41', { device: 'PDA-0042', session: 's-c1-day3' })]);
      expect(r.body, r.text).toMatchObject({ accepted: 1, rejected_count: 0 });
      const done = await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'work.completed').execute();
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ account: 'c1', waybill: WB, site: 'OUT-BJ-1' });
      expect(done[0]!.detail).toMatchObject({ scan: '6f1c2a4e-5b7d-4c1e-9a3f-2d8e7b6c5a41' });
    });

    it('denied: an assignment or ticket for an account Warden does not hold, from a token for every site; allowed for c1', async () => {
      const r = await post(tok.svc!, [
        assign('a-ghost', 'LG-nobody', WB2),
        { id: 't-ghost', ts: NOW, type: 'ticket', account: 'cs-ghost', ticket: 'TK00000009', waybill: WB2, status: 'open' },
        assign('a-ok-2', 'c1', WB2),
      ]);
      expect(r.body).toMatchObject({ accepted: 1, rejected_count: 2 });
      expect(lines(r)).toEqual([[1, 'unknown_account'], [2, 'unknown_account']]);
      expect(r.text).not.toContain('LG-nobody');
      const kept = await w.warden.db.selectFrom('audit_log').select('account').where('kind', 'in', ['work.assigned', 'work.ticket']).where('waybill', '=', WB2).execute();
      expect(kept.map((x) => x.account)).toEqual(['c1']);
      const route = await w.api('POST', '/api/v1/assignments', { token: tok.svc!, body: { waybill: WB2, account: 'LG-nobody', task: 'delivery' } });
      expect(route.status).toBe(403);
    });

    it('allowed: history (backfill grants no work) may name a departed account; a free-text one is still refused', async () => {
      const past = '2026-01-05T08:00:00.000Z';
      const r = await post(w.adminToken, [
        { ...assign('h-gone', 'c-left-2025', WB2), ts: past },
        { ...assign('h-pii', '110105198503062019', WB2), ts: past },
      ], 'backfill');
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ accepted: 1, rejected_count: 1, mode: 'backfill' });
      expect(lines(r)).toEqual([[2, 'bad_identifier']]);
      const work = await w.warden.db.selectFrom('assignments').select('account').where('account', '=', 'c-left-2025').execute();
      expect(work).toEqual([]);
    });
  });

  describe('3. far-past backfill', () => {
    it('denied: a year-0 and a 1999 line are refused too_old with their line numbers; allowed: the valid history line is kept (no 500)', async () => {
      const old = (id: string, ts: string) => ({ id, ts, type: 'scan', waybill: WB, op: 'arrive', site: 'OUT-BJ-1' });
      const r = await post(w.adminToken, [old('b-0', '0000-01-01T00:00:00+00:00'), old('b-1999', '1999-12-31T23:59:59.999Z'), old('b-ok', '2026-01-05T08:00:00.000Z')], 'backfill');
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ accepted: 1, rejected_count: 2, mode: 'backfill' });
      expect(lines(r)).toEqual([[1, 'too_old'], [2, 'too_old']]);
      const stored = await w.warden.db.selectFrom('activity_events').select('id').where('id', 'in', ['b-0', 'b-1999', 'b-ok']).execute();
      expect(stored.map((x) => x.id)).toEqual(['b-ok']);
    });
  });

  describe('4. duplicate ids', () => {
    it('denied: another event under a seen id is refused id_conflict (in the body and across requests); allowed: the same event again is a listed duplicate', async () => {
      const first = scan('dup-x', { op: 'arrive' });
      const r = await post(tok.svc!, [first, assign('dup-x', 'c1'), { ...first }, scan('dup-y', { op: 'arrive' })]);
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ accepted: 3, rejected_count: 1, duplicates: 1, duplicate_lines: [3] });
      expect(lines(r)).toEqual([[2, 'id_conflict']]);
      expect(r.body.rejected[0].reason).toContain('line 1');
      const again = await post(tok.svc!, [{ ...first, producer: 'someone-else' }, assign('dup-x', 'c1'), scan('dup-z', { op: 'arrive' })]);
      expect(again.body).toMatchObject({ accepted: 2, rejected_count: 1, duplicates: 1, duplicate_lines: [1] });
      expect(lines(again)).toEqual([[2, 'id_conflict']]);
      const stored = await w.warden.db.selectFrom('activity_events').select(['id', 'type']).where('id', 'like', 'dup-%').orderBy('id').execute();
      expect(stored).toEqual([{ id: 'dup-x', type: 'scan' }, { id: 'dup-y', type: 'scan' }, { id: 'dup-z', type: 'scan' }]);
    });
  });

  describe('5. /docs framing', () => {
    it('denied: /docs and its spec may not be framed (CSP frame-ancestors none, X-Frame-Options DENY)', async () => {
      for (const path of ['/docs', '/docs/static/index.html', '/docs/json']) {
        const r = await w.api('GET', path);
        expect(r.status, path).toBe(200);
        const csp = r.headers.get('content-security-policy') ?? '';
        expect(csp, path).toContain("frame-ancestors 'none'");
        expect(csp, path).toContain("script-src 'self'");
        expect(r.headers.get('x-frame-options'), path).toBe('DENY');
        expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      }
    });

    it('allowed: Swagger UI lives with it: its page has no inline script and every script it loads is same-origin and served', async () => {
      const page = await w.api('GET', '/docs');
      const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, inline] of scripts) {
        expect(inline!.trim(), 'inline script').toBe('');
        const src = /src="([^"]+)"/.exec(attrs!)?.[1];
        expect(src).toBeDefined();
        expect(src!.startsWith('http')).toBe(false);
        const url = new URL(src!, 'http://x/docs').pathname;
        expect((await w.api('GET', url)).status, url).toBe(200);
      }
      expect((await w.api('GET', '/docs/json')).body.openapi).toBeDefined();
    });
  });
});
