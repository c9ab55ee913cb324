/**
 * Attack review 11 (feeding service), tried again over HTTP on every backend:
 * F1. A legacy token (staff activity for its own `LQ-` accounts) sent reveals of an invented account
 *     on exactly the parcels a courier would leak — live, before him, and as history dated days
 *     back — and attribution named the invention and scored the courier 0. The audit trail's
 *     reveals are now ranked on their own: the courier is the source; upstream-only accounts come
 *     after, `unverified`, naming the producer, and never in `sources`.
 * F2. A waybill token for one Shanghai outlet told a Beijing parcel (403 producer_not_registered)
 *     from a canary or an unknown number (400 validation_failed) with an invalid body on
 *     POST /api/v1/waybills, unaudited. The body is judged before any lookup; another site's
 *     parcel restated with a valid body is answered as an unknown number (201, nothing stored),
 *     audited and alerted as the NDJSON path does. The work routes answer another site's parcel
 *     and an unknown number alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs } from './trace-setup.js';
import { WAYBILL_CONFLICTS_ALERT, WITHHELD_EVENT_TYPE } from '../../src/events/ingest.js';

const DAY = 86_400_000;
const party = (i: number) => ({ name: `钱${'一二三四五六七八九十'[i % 10]}${'甲乙丙丁戊己庚辛壬癸'[Math.floor(i / 10) % 10]}`, phone: `13700${String(i).padStart(6, '0')}`, address: `北京市朝阳区建国路${100 + i}号${(i % 9) + 1}栋${(i % 7) + 1}单元${300 + i}室` });
const waybill = (i: number) => `SF40000003${String(1000 + i * 7)}`;
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

type Suspect = { account: string; matched: number; score: number; source: boolean; explains: number; unverified: boolean; reported_by: string[]; unverified_source: boolean };
type Answer = { sources: string[]; unverified_sources: string[]; suspects: Suspect[]; late_history: number; window: { from: string | null } };

async function setup(w: TestWarden, registrations: Record<string, object>): Promise<Record<string, string>> {
  const admin = w.adminToken;
  for (const [code, city] of [['OUT-BJ-1', '北京'], ['OUT-SH-1', '上海']] as const) {
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code, kind: 'outlet', city } })).status).toBe(201);
  }
  for (const [id, role, site] of [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-BJ-1'], ['csh', 'courier', 'OUT-SH-1'], ['dispatch', 'service', null], ['dsh', 'service', null], ['legacy', 'service', null]] as const) {
    const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } });
    expect(r.status, r.text).toBe(201);
  }
  const tok: Record<string, string> = {};
  for (const [account, body] of Object.entries(registrations)) {
    const r = await w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: admin, ...(Object.keys(body).length ? { body } : {}) });
    expect(r.status, r.text).toBe(201);
    tok[account] = r.body.token;
  }
  return tok;
}

describe.each(testBackends())('attack review 11, the feeding service, on %s', (backend) => {
  describe('F1: reveals invented upstream never take the blame off the trail', () => {
    let w: TestWarden;
    let tok: Record<string, string> = {};
    let csv = '';
    let legacyProducer = '';
    const post = (token: string, events: object[], backfill = false) =>
      w.api('POST', `/api/v1/events${backfill ? '?mode=backfill' : ''}`, { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
    const reveals = (account: string, ids: number[], tag: string, ago: number) =>
      ids.map((i, n) => ({ id: `lq-${tag}-${n}`, ts: new Date(Date.now() - ago + n * 1000).toISOString(), type: 'access', account, role: 'customer_service', action: 'reveal', waybill: waybill(i), fields: ['phone'], purpose: 'customer_service', result: 'allowed' }));
    const attribute = async (): Promise<Answer> => {
      const r = await fetch(`${w.url}/api/v1/attributions`, { method: 'POST', headers: { authorization: `Bearer ${tok.sa1}`, 'content-type': 'text/csv' }, body: csv });
      const body = await r.json();
      expect(r.status, JSON.stringify(body)).toBe(200);
      return body as Answer;
    };
    const LEAKED_BY_C1 = Array.from({ length: 10 }, (_, i) => i);
    const HONEST = [20, 21, 22, 23, 24, 25, 26];

    beforeAll(async () => {
      w = await startTestWarden(backend);
      tok = await setup(w, { dispatch: {}, legacy: { events: ['login', 'logout', 'access'], accounts_prefix: 'LQ-', backfill: true } });
      tok.sa1 = await loginAs(w, 'sa1');
      tok.c1 = await loginAs(w, 'c1');
      legacyProducer = (await w.warden.db.selectFrom('service_tokens').select('id').where('account', '=', 'legacy').executeTakeFirstOrThrow()).id;
      for (let i = 0; i < 300; i++) {
        const r = await w.api('POST', '/api/v1/waybills', { token: tok.dispatch, body: { waybill: waybill(i), origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1', sender: party(0), recipient: party(i + 40) } });
        expect(r.status, r.text).toBe(201);
      }
      // Honest history: a legacy-system agent really looked up seven parcels three days ago.
      const honest = await post(tok.legacy!, reveals('LQ-agent', HONEST, 'honest', 3 * DAY), true);
      expect(honest.body.rejected_count, honest.text).toBe(0);
      // The attack, sent first: invented accounts "reveal" exactly what the courier will leak, live and as old history.
      const live = await post(tok.legacy!, reveals('LQ-x1', LEAKED_BY_C1, 'decoy', 60_000));
      expect(live.body.rejected_count, live.text).toBe(0);
      const old = await post(tok.legacy!, reveals('LQ-x2', LEAKED_BY_C1, 'decoy-bf', 3 * DAY), true);
      expect(old.body.rejected_count, old.text).toBe(0);
      // The courier reveals twelve through Warden (more than the decoys: a working courier) and leaks ten.
      for (let i = 0; i < 12; i++) {
        expect((await w.api('POST', '/api/v1/assignments', { token: tok.dispatch, body: { waybill: waybill(i), account: 'c1', task: 'delivery' } })).status).toBe(201);
        const r = await w.api('POST', `/api/v1/waybills/${waybill(i)}/reveal`, { token: tok.c1, body: { fields: ['recipient.name', 'recipient.address'], purpose: 'delivery' } });
        expect(r.status, r.text).toBe(200);
      }
      const rows = [...LEAKED_BY_C1, ...Array.from({ length: 12 }, (_, i) => 20 + i)];
      csv = ['运单号,姓名,地址', ...rows.map((i) => [waybill(i), party(i + 40).name, party(i + 40).address].join(','))].join('\n');
    });
    afterAll(async () => {
      await w?.dispose();
    });

    it('the attack again: the courier who revealed the leaked parcels through Warden is the source, scored on the trail; the decoys explain nothing', async () => {
      const out = await attribute();
      expect(out.sources).toEqual(['c1']);
      const c1 = out.suspects.find((s) => s.account === 'c1')!;
      expect(c1).toMatchObject({ source: true, explains: 10, matched: 10, unverified: false, reported_by: [] });
      expect(c1.score).toBeGreaterThan(3);
      expect(out.suspects[0]!.account).toBe('c1');
      for (const decoy of ['LQ-x1', 'LQ-x2']) {
        const s = out.suspects.find((x) => x.account === decoy)!;
        expect(s).toMatchObject({ unverified: true, source: false, unverified_source: false, explains: 0, score: 0, reported_by: [`token:${legacyProducer}`] });
        expect(out.unverified_sources).not.toContain(decoy);
      }
      // Unverified accounts are ranked after every trail-backed one.
      const firstUnverified = out.suspects.findIndex((s) => s.unverified);
      expect(out.suspects.slice(firstUnverified).every((s) => s.unverified)).toBe(true);
    });

    it('allowed: an honest upstream-only account still appears, as unverified, naming its producer, for what the trail leaves unexplained', async () => {
      const out = await attribute();
      const agent = out.suspects.find((s) => s.account === 'LQ-agent')!;
      expect(agent).toMatchObject({ matched: HONEST.length, unverified: true, source: false, unverified_source: true, explains: HONEST.length, reported_by: [`token:${legacyProducer}`] });
      expect(out.unverified_sources).toEqual(['LQ-agent']);
      expect(out.sources).not.toContain('LQ-agent');
    });
  });

  describe('F2: no producer route tells another site\'s parcel from a canary or an unknown number', () => {
    let w: TestWarden;
    let tok: Record<string, string> = {};
    let canaries: string[] = [];
    const REAL = (i: number) => `SF${8000000000 + i * 10}`;
    const BJ = REAL(0);
    const PARTY = { name: '王小明', phone: '13900001111', address: '北京市海淀区学院路88号3号楼2单元501室' };
    let unknownSeq = 0;
    const unknown = () => `SF${8100000000 + ++unknownSeq * 10}`;
    const record = (wb: string, phone: string) => ({ waybill: wb, origin_site: 'OUT-SH-1', dest_site: 'OUT-SH-1', sender: { ...PARTY, phone }, recipient: PARTY });
    const answer = (r: { status: number; body: any }) => ({ status: r.status, code: r.body?.error?.code ?? null, message: r.body?.error?.message ?? null });
    const conflictEntries = () => w.warden.db.selectFrom('audit_log').select(['account', 'decision', 'detail']).where('kind', '=', 'events.waybill_conflicts').orderBy('seq').execute();
    const alertsOf = async (detector: string) => {
      await w.warden.watch?.idle();
      return w.warden.db.selectFrom('alerts').select(['id', 'severity', 'summary']).where('detector', '=', detector).execute();
    };

    beforeAll(async () => {
      w = await startTestWarden(backend);
      tok = await setup(w, { dispatch: {}, dsh: { events: ['waybill', 'assign', 'scan', 'ticket'], sites: ['OUT-SH-1'] } });
      for (let i = 0; i < 8; i++) {
        const r = await w.api('POST', '/api/v1/waybills', { token: tok.dispatch, body: { waybill: REAL(i), origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1', sender: PARTY, recipient: PARTY } });
        expect(r.status, r.text).toBe(201);
      }
      tok.sa1 = await loginAs(w, 'sa1');
      const planted = await w.api('POST', '/api/v1/canaries', { token: tok.sa1, body: { count: 3 } });
      expect(planted.status, planted.text).toBe(201);
      canaries = planted.body.waybills;
    });
    afterAll(async () => {
      await w?.dispose();
    });

    it('the attack again: an invalid body is 400 validation_failed for a Beijing parcel, a canary and an unknown number alike, nothing looked up or stored', async () => {
      const before = await conflictEntries();
      const answers = [];
      for (const wb of [BJ, canaries[0]!, unknown()]) answers.push(answer(await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(wb, '1') })));
      expect(answers[0]).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
      expect(await conflictEntries()).toHaveLength(before.length);
      const live = (await w.api('GET', '/api/v1/canaries', { token: tok.sa1 })).body.canaries.map((c: { waybill: string }) => c.waybill);
      expect(live).toEqual(expect.arrayContaining(canaries));
    });

    it('denied: a valid body restating a Beijing parcel is answered as an unknown number\'s (201), never stored or applied, and audited as withheld', async () => {
      const real = await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(BJ, '13900002222') });
      const fresh = unknown();
      const unk = await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(fresh, '13900002222') });
      expect(real.status, real.text).toBe(201);
      expect(unk.status, unk.text).toBe(201);
      expect(Object.keys(real.body).sort()).toEqual(Object.keys(unk.body).sort());
      expect(real.body.waybill).toBe(BJ);
      // The vault's Beijing record stands; the unknown number was stored as the producer's own parcel.
      const rows = await w.warden.db.selectFrom('waybills').select(['waybill', 'origin_site', 'dest_site']).where('waybill', 'in', [BJ, fresh]).orderBy('waybill').execute();
      expect(rows).toEqual([{ waybill: BJ, origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1' }, { waybill: fresh, origin_site: 'OUT-SH-1', dest_site: 'OUT-SH-1' }]);
      const held = await w.warden.db.selectFrom('activity_events').select(['body']).where('type', '=', WITHHELD_EVENT_TYPE).execute();
      expect(held).toHaveLength(1);
      const entry = (await conflictEntries()).at(-1)!;
      expect(entry).toMatchObject({ account: 'dsh', decision: 'denied', detail: { actor: 'dsh', answered: 0, withheld: 1, canaries: 0 } });
      expect(JSON.stringify(entry)).not.toContain(BJ);
      // Sent again: alike too (409 as for the record the unknown number now is; 403 restated otherwise).
      const again = [answer(await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(BJ, '13900002222') })), answer(await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(fresh, '13900002222') }))];
      expect(again[0]).toMatchObject({ status: 409, code: 'conflict' });
      expect(again[0]!.message!.replace(BJ, 'N')).toBe(again[1]!.message!.replace(fresh, 'N'));
      expect(again[0]!.status).toBe(again[1]!.status);
      const moved = (wb: string) => ({ ...record(wb, '13900002222'), origin_site: 'OUT-SH-1', dest_site: 'OUT-BJ-1' });
      const otherwise = [answer(await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: moved(BJ) })), answer(await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: moved(fresh) }))];
      expect(otherwise[0]).toMatchObject({ status: 403, code: 'producer_not_registered' });
      expect(otherwise[1]).toEqual(otherwise[0]);
      expect(await w.warden.db.selectFrom('activity_events').select(['body']).where('type', '=', WITHHELD_EVENT_TYPE).execute()).toHaveLength(1);
    });

    it('a canary named with a valid body: 201 as well (a real record supersedes it, review 7), and the producer is alerted as naming a canary', async () => {
      const r = await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(canaries[1]!, '13900003333') });
      expect(r.status, r.text).toBe(201);
      expect((await conflictEntries()).at(-1)?.detail).toMatchObject({ actor: 'dsh', canaries: 1, withheld: 0, answered: 0 });
      const named = await alertsOf('ingest_canary_named');
      expect(named).toHaveLength(1);
      expect(named[0]!.severity).toBe('high');
      expect(JSON.stringify(named)).not.toContain(canaries[1]!);
    });

    it('repeated probes raise the conflicts alert', async () => {
      // With the first probe and its two re-sends, ten withheld restatements in the hour (WAYBILL_CONFLICTS_ALERT).
      for (const i of [1, 2, 3, 4, 5, 6, 7]) expect((await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(REAL(i), '13900004444') })).status).toBe(201);
      expect(WAYBILL_CONFLICTS_ALERT).toBe(10);
      expect(await alertsOf('ingest_waybill_conflicts')).toHaveLength(1);
      const rows = await w.warden.db.selectFrom('waybills').select('origin_site').where('waybill', 'in', Array.from({ length: 8 }, (_, i) => REAL(i))).execute();
      expect(rows.every((r) => r.origin_site === 'OUT-BJ-1')).toBe(true);
    });

    it('allowed: the producer\'s own waybill is stored (201), sent again 409; its own parcel restated otherwise is refused 403 and audited', async () => {
      const own = 'SF8200000001';
      const first = await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(own, '13900005555') });
      expect(first.status, first.text).toBe(201);
      expect((await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: record(own, '13900005555') })).status).toBe(409);
      const moved = await w.api('POST', '/api/v1/waybills', { token: tok.dsh, body: { ...record(own, '13900005555'), dest_site: 'OUT-BJ-1' } });
      expect(moved.status, moved.text).toBe(403);
      expect(moved.body.error.code).toBe('producer_not_registered');
      expect((await conflictEntries()).at(-1)?.detail).toMatchObject({ actor: 'dsh', answered: 1 });
    });

    it('the work routes answer a Beijing parcel, a canary and an unknown number alike (denied), and take the producer\'s own parcel (allowed)', async () => {
      const routes: Array<[string, (wb: string) => object]> = [
        ['/api/v1/assignments', (wb) => ({ waybill: wb, account: 'csh', task: 'delivery' })],
        ['/api/v1/scans', (wb) => ({ waybill: wb, op: 'delivered', site: 'OUT-SH-1' })],
        ['/api/v1/tickets', (wb) => ({ ticket: `T-${wb}`, waybill: wb, account: 'csh', status: 'open' })],
      ];
      for (const [path, body] of routes) {
        const answers = [];
        for (const wb of [BJ, canaries[2]!, unknown()]) answers.push(answer(await w.api('POST', path, { token: tok.dsh, body: body(wb) })));
        expect(answers[0], path).toMatchObject({ status: 403, code: 'producer_not_registered' });
        expect(answers[1], path).toEqual(answers[0]);
        expect(answers[2], path).toEqual(answers[0]);
      }
      const own = 'SF8200000001';
      const assign = await w.api('POST', '/api/v1/assignments', { token: tok.dsh, body: { waybill: own, account: 'csh', task: 'delivery' } });
      expect(assign.status, assign.text).toBe(201);
    });
  });
});
