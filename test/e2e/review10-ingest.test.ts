/**
 * Attack review 10, the feeding service, tried again over HTTP:
 * F4. Personal data in the event fields the gateway did not check (`role`, `city`, `ip`,
 *     `app_hash`, `origin_site`, `dest_site`, `dest_city`) was stored, published, and a phone in
 *     `role` reached an alert summary, the response reason and the SIEM: each is refused per line
 *     (`bad_field` / `bad_identifier`, field named, value never repeated), nothing of it kept.
 * F1. A token limited to one Shanghai outlet set a Beijing outlet's city to Shanghai in the engine
 *     (a made-up parcel with `dest_site: <Beijing outlet>, dest_city: 上海`): refused
 *     `site_city_conflict`; a site-limited token still describes only parcels from its sites.
 * F2. A producer scanning a range with wrong routes found every canary (`waybill_conflict` marked
 *     exactly the numbers the vault held), silently: a parcel that is not the producer's business
 *     (any canary; a real parcel with neither end in its sites) is answered like an unknown
 *     number, withheld (stored under its id, never applied, published or replayed), audited as
 *     counts, and alerted (a canary named at once; repeated conflicts). A canary is still
 *     superseded by a real vault record (review 7).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs } from './trace-setup.js';
import { manualClock } from '../../src/ops/clock.js';
import { storedEvents } from '../../src/insight/stored-events.js';
import { WAYBILL_CONFLICTS_ALERT, WITHHELD_EVENT_TYPE } from '../../src/events/ingest.js';
import type { ActivityEvent } from '../../src/contracts/events.js';

const NOW = Date.parse('2026-11-11T02:00:00.000Z');
const PHONE = '13812345678';
const ID = '110105198503062019';
const NAME = '张伟';
const PARTY = { name: '王小明', phone: '13900001111', address: '上海市徐汇区漕溪路88号3号楼2单元501室' };
/** Real parcels, issued by the all-sites dispatch token: ten numbers apart, so canaries find gaps between them. */
const REAL = (i: number) => `SF${7000000000 + i * 10}`;
const REALS = 8;
/** Real parcels between two Beijing outlets: none of the Shanghai token's business. */
const BJ_PARCELS = ['SF7100000001', 'SF7100000011', 'SF7100000021', 'SF7100000031'];
const BJ_PARCEL = BJ_PARCELS[0]!;
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
const codes = (r: { body: any }) => r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code]);

describe.each(testBackends())('ingest, attack review 10, on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  const tok: Record<string, string> = {};
  const published: ActivityEvent[] = [];
  let canaries: string[] = [];
  let seq = 0;
  const ts = () => new Date(clock.now()).toISOString();
  const id = (p: string) => `${p}-${++seq}`;
  const post = (token: string, events: object[]) => w.api('POST', '/api/v1/events', { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const routing = (waybill: string, origin: string, dest: string, city?: string, eventId = id('w')) =>
    ({ id: eventId, ts: ts(), type: 'waybill', waybill, origin_site: origin, dest_site: dest, ...(city === undefined ? {} : { dest_city: city }) });
  const text = async (table: 'audit_log' | 'activity_events' | 'alerts') => JSON.stringify(await w.warden.db.selectFrom(table).selectAll().execute());
  const conflictEntries = () => w.warden.db.selectFrom('audit_log').select(['account', 'decision', 'detail']).where('kind', '=', 'events.waybill_conflicts').orderBy('seq').execute();
  const alertsOf = async (detector: string) => {
    await w.warden.watch?.idle();
    return w.warden.db.selectFrom('alerts').select(['id', 'account', 'severity', 'summary', 'body']).where('detector', '=', detector).execute();
  };

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock } });
    const admin = w.adminToken;
    for (const [code, city] of [['OUT-BJ-1', '北京'], ['OUT-BJ-V', '北京'], ['OUT-SH-1', '上海']] as const) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code, kind: 'outlet', city } })).status).toBe(201);
    }
    for (const [account, role, site] of [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-BJ-1'], ['dispatch', 'service', null], ['dsh', 'service', null], ['legacy', 'service', null]] as const) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: account, role, site, password: `pw-${account}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    const registrations: Record<string, object | undefined> = {
      dispatch: undefined, // every site, the upstream types
      dsh: { events: ['waybill', 'assign', 'scan', 'ticket'], sites: ['OUT-SH-1'] },
      legacy: { events: ['login', 'logout', 'access'], accounts_prefix: 'LQ-' },
    };
    for (const [account, body] of Object.entries(registrations)) {
      const r = await w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: admin, ...(body ? { body } : {}) });
      expect(r.status, r.text).toBe(201);
      tok[account] = r.body.token;
    }
    for (let i = 0; i < REALS; i++) {
      const r = await w.api('POST', '/api/v1/waybills', { token: tok.dispatch, body: { waybill: REAL(i), origin_site: 'OUT-SH-1', dest_site: i < 4 ? 'OUT-BJ-1' : 'OUT-SH-1', sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
    for (const waybill of BJ_PARCELS) {
      const bj = await w.api('POST', '/api/v1/waybills', { token: tok.dispatch, body: { waybill, origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1', sender: PARTY, recipient: PARTY } });
      expect(bj.status, bj.text).toBe(201);
    }
    tok.sa1 = await loginAs(w, 'sa1');
    // Planted after the parcels: the canaries take gaps below the recent real numbers, on their routes.
    const planted = await w.api('POST', '/api/v1/canaries', { token: tok.sa1, body: { count: 3 } });
    expect(planted.status, planted.text).toBe(201);
    canaries = planted.body.waybills;
    expect(canaries).toHaveLength(3);
    w.warden.bus.subscribe('review10-test', (events) => {
      published.push(...events);
    });
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('F4: personal data in the fields the gateway did not check', () => {
    const PII = [PHONE, ID, NAME, '13912345678'];
    const login = (extra: object) => ({ id: id('l'), ts: ts(), type: 'login', account: 'LQ-amy', role: 'courier', result: 'success', ...extra });

    it('denied: a phone in role or city, an ID number as app_hash or ip, a phone as dest_site, a name with an ID number as dest_city; each line named, the value never repeated or kept', async () => {
      clock.advance(1000);
      published.length = 0;
      const r1 = await post(tok.legacy!, [
        login({ role: `${NAME} ${PHONE}` }),
        login({ city: `北京 ${PHONE}` }),
        login({ app_hash: ID }),
        login({ ip: ID }),
        { id: id('x'), ts: ts(), type: 'access', account: 'LQ-amy', role: `${NAME} ${PHONE}`, site: 'LQ-OFFICE', action: 'reveal', waybill: REAL(0), fields: ['phone'], purpose: 'other', result: 'allowed' },
        login({ role: 'courier', city: '北京', ip: '10.20.30.40', app_hash: 'sha256-9f86d081884c7d65' }),
      ]);
      expect(r1.status, r1.text).toBe(200);
      expect(r1.body).toMatchObject({ accepted: 1, rejected_count: 5 });
      expect(codes(r1)).toEqual([[1, 'bad_field'], [2, 'bad_field'], [3, 'bad_identifier'], [4, 'bad_field'], [5, 'bad_field']]);
      expect(r1.body.rejected.map((x: { reason: string }) => x.reason.match(/^field "(\w+)"/)?.[1])).toEqual(['role', 'city', 'app_hash', 'ip', 'role']);
      const r2 = await post(tok.dispatch!, [
        routing('SF7200000001', 'OUT-SH-1', PHONE, '上海'),
        routing('SF7200000002', 'OUT-SH-1', 'OUT-BJ-1', `${NAME}${ID}`),
        routing('SF7200000003', NAME, 'OUT-BJ-1', '北京'),
        routing('SF7200000004', 'OUT-SH-1', 'OUT-BJ-1', '北京'),
      ]);
      expect(r2.body).toMatchObject({ accepted: 1, rejected_count: 3 });
      expect(codes(r2)).toEqual([[1, 'bad_identifier'], [2, 'bad_field'], [3, 'bad_identifier']]);
      expect(r2.body.rejected.map((x: { reason: string }) => x.reason.match(/^field "(\w+)"/)?.[1])).toEqual(['dest_site', 'dest_city', 'origin_site']);
      for (const t of [r1.text, r2.text, await text('audit_log'), await text('activity_events'), JSON.stringify(published), await text('alerts')]) {
        for (const v of PII) expect(t).not.toContain(v);
      }
      // The accepted lines went through with their values.
      expect(published.map((e) => e.type).sort()).toEqual(['login', 'waybill']);
    });
  });

  describe('F4 at the login route: the build hash a staff app reports', () => {
    it('denied: a name and phone as app_hash (it reached the trail and the login event) is 400 bad_identifier, never repeated; allowed: a hash', async () => {
      const bad = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda', app_hash: `${NAME}${PHONE}` } });
      expect(bad.status, bad.text).toBe(400);
      expect(bad.body.error.code).toBe('bad_identifier');
      expect(bad.text).not.toContain(PHONE);
      expect(bad.text).not.toContain(NAME);
      const ok = await w.api('POST', '/api/v1/sessions', { body: { account: 'c1', password: 'pw-c1-secret', device: 'c1-pda', app_hash: 'sha256-9f86d081884c7d65' } });
      expect(ok.status, ok.text).toBe(201);
      expect(await text('audit_log')).not.toContain(PHONE);
    });
  });

  describe('F1: a destination site\'s city is the one Warden\'s sites hold', () => {
    it('denied: a Shanghai-only token names a Beijing outlet as a made-up parcel\'s destination in Shanghai; not stored, not published', async () => {
      clock.advance(1000);
      published.length = 0;
      const poison = routing('SF7300000001', 'OUT-SH-1', 'OUT-BJ-V', '上海');
      const r = await post(tok.dsh!, [poison]);
      expect(r.status, r.text).toBe(200);
      expect(codes(r)).toEqual([[1, 'site_city_conflict']]);
      expect(r.text).not.toContain('OUT-BJ-V');
      expect(r.text).not.toContain('北京');
      expect(published).toEqual([]);
      expect(await w.warden.db.selectFrom('activity_events').select('id').where('id', '=', poison.id).execute()).toEqual([]);
      // From a token for every site alike.
      expect(codes(await post(tok.dispatch!, [routing('SF7300000002', 'OUT-SH-1', 'OUT-BJ-V', 'Shanghai')]))).toEqual([[1, 'site_city_conflict']]);
    });

    it('allowed: the site\'s own city (either spelling the engine reads alike), no city at all, or a site Warden does not hold', async () => {
      clock.advance(1000);
      const r = await post(tok.dsh!, [
        routing('SF7300000011', 'OUT-SH-1', 'OUT-BJ-V', '北京'),
        routing('SF7300000012', 'OUT-SH-1', 'OUT-BJ-V', '北京市'),
        routing('SF7300000013', 'OUT-SH-1', 'OUT-BJ-V'),
        routing('SF7300000014', 'OUT-SH-1', 'OUT-XX-9', '拉萨'),
      ]);
      expect(r.body).toMatchObject({ accepted: 4, rejected_count: 0 });
    });

    it('a site-limited token describes only parcels from its own sites (review 9, held): allowed from OUT-SH-1, denied from a Beijing outlet', async () => {
      clock.advance(1000);
      const r = await post(tok.dsh!, [routing('SF7300000021', 'OUT-BJ-1', 'OUT-BJ-V', '北京'), routing('SF7300000022', 'OUT-SH-1', 'OUT-BJ-V', '北京')]);
      expect(codes(r)).toEqual([[1, 'site_not_registered']]);
      expect(r.body.accepted).toBe(1);
    });
  });

  describe('F2: the answer no longer tells a producer which numbers the vault holds', () => {
    // A route no held parcel has (nothing goes to OUT-BJ-V), from the token's own outlet.
    const wrong = (waybill: string, eventId: string) => routing(waybill, 'OUT-SH-1', 'OUT-BJ-V', '北京', eventId);
    let probe: ReturnType<typeof wrong>[] = [];
    const issued = new Set(Array.from({ length: REALS }, (_, i) => REAL(i)));

    it('denied: a scan of a range with a wrong route answers every number it did not issue alike (canaries, unknown numbers, another outlet\'s parcel), and re-sending answers alike', async () => {
      clock.advance(1000);
      published.length = 0;
      // The attacker's range covers the canaries (planted in gaps near the real numbers) and the Beijing parcels.
      const numbers = new Set<string>();
      for (let k = 7000000000 - 40; k < 7000000000 + REALS * 10; k++) if (!issued.has(`SF${k}`)) numbers.add(`SF${k}`);
      for (const wb of [...canaries, ...BJ_PARCELS]) numbers.add(wb);
      probe = [...numbers].map((wb) => wrong(wb, id('probe')));
      const first = await post(tok.dsh!, probe);
      expect(first.status, first.text).toBe(200);
      expect(first.body).toMatchObject({ accepted: probe.length, rejected_count: 0, rejected: [], duplicates: 0 });
      const again = await post(tok.dsh!, probe);
      expect(again.body).toMatchObject({ accepted: probe.length, rejected_count: 0, duplicates: probe.length });
      expect(again.body.duplicate_lines).toHaveLength(Math.min(100, probe.length));
    });

    it('the withheld lines are never applied, published or replayed: the vault\'s routes stand', async () => {
      const held = new Set([...canaries, ...BJ_PARCELS]);
      const sent = published.filter((e) => e.type === 'waybill').map((e) => (e as { waybill: string }).waybill);
      expect(sent.length).toBe(probe.length - held.size);
      for (const wb of held) expect(sent).not.toContain(wb);
      const rows = await w.warden.db.selectFrom('waybills').select(['origin_site', 'dest_site']).where('waybill', 'in', BJ_PARCELS).execute();
      expect(rows).toEqual(BJ_PARCELS.map(() => ({ origin_site: 'OUT-BJ-1', dest_site: 'OUT-BJ-1' })));
      const stored = await w.warden.db.selectFrom('activity_events').select(['id', 'type']).where('type', '=', WITHHELD_EVENT_TYPE).execute();
      expect(stored).toHaveLength(held.size);
      const replayed: string[] = [];
      for await (const e of storedEvents(w.warden.db, new Date(NOW - 3_600_000), new Date(NOW + 3_600_000))) replayed.push(e.id);
      for (const s of stored) expect(replayed).not.toContain(s.id);
    });

    it('recorded: one entry per request with counts and no number; the canary named raises a high alert at once, the repeats a medium one', async () => {
      const entries = await conflictEntries();
      expect(entries.slice(-2).map((e) => e.detail)).toEqual([
        { actor: 'dsh', producer: expect.stringMatching(/^token:/), answered: 0, withheld: 7, canaries: 3 },
        { actor: 'dsh', producer: expect.stringMatching(/^token:/), answered: 0, withheld: 7, canaries: 3 },
      ]);
      expect(entries.at(-1)).toMatchObject({ account: 'dsh', decision: 'denied' });
      const trail = JSON.stringify(entries);
      for (const c of [...canaries, ...BJ_PARCELS]) expect(trail).not.toContain(c);
      const named = await alertsOf('ingest_canary_named');
      expect(named).toHaveLength(1);
      expect(named[0]).toMatchObject({ account: null, severity: 'high' });
      expect(WAYBILL_CONFLICTS_ALERT).toBeLessThanOrEqual(14);
      const repeats = await alertsOf('ingest_waybill_conflicts');
      expect(repeats).toHaveLength(1);
      expect(repeats[0]).toMatchObject({ account: null, severity: 'medium' });
      const alerts = JSON.stringify([...named, ...repeats]);
      for (const c of [...canaries, ...BJ_PARCELS]) expect(alerts).not.toContain(c);
    });

    it('allowed: a producer is still told of a conflict about a real parcel that is its business (its own site; a token for every site), and a right route is accepted', async () => {
      clock.advance(1000);
      const r = await post(tok.dsh!, [wrong(REAL(0), id('own')), routing(REAL(1), 'OUT-SH-1', 'OUT-BJ-1', '北京')]);
      expect(codes(r)).toEqual([[1, 'waybill_conflict']]);
      expect(r.body.accepted).toBe(1);
      expect(r.text).not.toContain('OUT-BJ-1');
      const all = await post(tok.dispatch!, [routing(BJ_PARCEL, 'OUT-SH-1', 'OUT-BJ-1', '北京'), routing(canaries[0]!, 'OUT-BJ-1', 'OUT-BJ-V', '北京')]);
      // The real parcel is the all-sites producer's business; the canary is nobody's: answered as an unknown number.
      expect(codes(all)).toEqual([[1, 'waybill_conflict']]);
      expect((await conflictEntries()).at(-1)?.detail).toMatchObject({ actor: 'dispatch', answered: 1, withheld: 1, canaries: 1 });
      // Once per producer and hour: the dispatch token's canary alert joins the first.
      expect(await alertsOf('ingest_canary_named')).toHaveLength(2);
    });

    it('review 7 held: a real vault record arriving under a canary\'s number supersedes it (201, audited, alerted)', async () => {
      clock.advance(1000);
      const r = await w.api('POST', '/api/v1/waybills', { token: tok.dispatch, body: { waybill: canaries[1], origin_site: 'OUT-SH-1', dest_site: 'OUT-SH-1', sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
      expect(await w.warden.db.selectFrom('audit_log').select('seq').where('kind', '=', 'trace.canary_superseded').execute()).toHaveLength(1);
      const live = (await w.api('GET', '/api/v1/canaries', { token: tok.sa1 })).body.canaries.map((c: { waybill: string }) => c.waybill);
      expect(live).not.toContain(canaries[1]);
      expect(live).toContain(canaries[2]);
    });
  });
});
