/**
 * A work producer is scoped by the parcel's sites, not only by the assignee's (attack review,
 * HIGH): a token registered for OUT-1 gave an OUT-1 courier a Shanghai parcel (origin and
 * destination SH-1) and the courier revealed the recipient. Tried again through the routes and
 * POST /api/v1/events, for assignments and tickets: refused per line with `site_not_registered`
 * (the reason names the rule, never the parcel's sites; an unknown waybill is refused alike), the
 * rest of the batch kept; a parcel whose origin or destination is on the list is allowed; a token
 * registered for every site keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';

const NOW = '2026-11-11T02:00:00.000Z';
const PARTY = { name: '李上海', phone: '13900000004', address: '上海市徐汇区漕溪北路1号2单元301室' };
const SH_ONLY = 'SF2000000000001'; // SH-1 → SH-1: not OUT-1's
const FROM_OUT = 'SF2000000000002'; // OUT-1 → SH-1
const TO_OUT = 'SF2000000000003'; // SH-1 → OUT-1
const UNKNOWN = 'SF2000000000099'; // not in the vault
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe.each(testBackends())('work producers scoped by the parcel\'s sites on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  const tok: Record<string, string> = {};
  const sessions: Record<string, string> = {};
  let seq = 0;
  const id = (p: string) => `${p}-${++seq}`;
  const post = (token: string, events: object[]) => w.api('POST', '/api/v1/events', { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const assign = (waybill: string) => ({ id: id('a'), ts: NOW, type: 'assign', account: 'c1', role: 'courier', waybill, task: 'delivery' });
  const ticket = (ticketId: string, waybill: string) => ({ id: id('t'), ts: NOW, type: 'ticket', account: 'cs1', role: 'customer_service', ticket: ticketId, waybill, status: 'open' });
  const courierReveal = (waybill: string) => w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: sessions.c1!, body: { fields: ['recipient.name', 'recipient.phone', 'recipient.address'], purpose: 'delivery' } });
  const agentReveal = (waybill: string, ticketId: string) =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: sessions.cs1!, body: { fields: ['recipient.phone'], purpose: 'customer_service', ticket: ticketId } });
  const code = (r: { status: number; body: any }) => (r.status === 200 ? 'ok' : r.body.error.code);
  const workEntries = (waybill: string) => w.warden.db.selectFrom('audit_log').select('kind').where('kind', 'in', ['work.assigned', 'work.ticket']).where('waybill', '=', waybill).execute();

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false } });
    const admin = w.adminToken;
    for (const s of [{ code: 'OUT-1', kind: 'outlet', city: '北京' }, { code: 'SH-1', kind: 'outlet', city: '上海' }, { code: 'CS-1', kind: 'cs', city: '上海' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    for (const [account, role, site] of [['c1', 'courier', 'OUT-1'], ['cs1', 'customer_service', 'CS-1'], ['dispatch-out', 'service', null], ['tickets-out', 'service', null], ['all', 'service', null]] as const) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: account, role, site, password: `pw-${account}-secret` } });
      expect(r.status, r.text).toBe(201);
      if (role !== 'service') sessions[account] = (await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-dev` } })).body.token;
    }
    const registrations: Record<string, object | undefined> = {
      'dispatch-out': { events: ['assign'], sites: ['OUT-1'] },
      'tickets-out': { events: ['ticket'], sites: ['OUT-1', 'CS-1'] }, // its agents sit at CS-1
      all: undefined, // every site
    };
    for (const [account, body] of Object.entries(registrations)) {
      const r = await w.api('POST', `/api/v1/accounts/${account}/tokens`, { token: admin, ...(body ? { body } : {}) });
      expect(r.status, r.text).toBe(201);
      tok[account] = r.body.token;
    }
    for (const [waybill, origin, dest] of [[SH_ONLY, 'SH-1', 'SH-1'], [FROM_OUT, 'OUT-1', 'SH-1'], [TO_OUT, 'SH-1', 'OUT-1']] as const) {
      const r = await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill, origin_site: origin, dest_site: dest, sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('the attack again: an OUT-1 producer cannot give an OUT-1 courier a Shanghai parcel on the route; a parcel coming to OUT-1 is fine', async () => {
    const refused = await w.api('POST', '/api/v1/assignments', { token: tok['dispatch-out']!, body: { waybill: SH_ONLY, account: 'c1', task: 'delivery' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('producer_not_registered');
    expect(refused.body.error.message).toContain('destination'); // a delivery is its destination's work (review 9)
    expect(refused.text).not.toContain('SH-1');
    expect(code(await courierReveal(SH_ONLY))).toBe('no_work_context');
    expect(await workEntries(SH_ONLY)).toEqual([]);

    expect((await w.api('POST', '/api/v1/assignments', { token: tok['dispatch-out']!, body: { waybill: TO_OUT, account: 'c1', task: 'delivery' } })).status).toBe(201);
    const ok = await courierReveal(TO_OUT);
    expect(ok.status, ok.text).toBe(200);
  });

  it('over NDJSON: the foreign and the unknown parcel are refused with their line numbers and one reason, the rest kept', async () => {
    const r = await post(tok['dispatch-out']!, [assign(SH_ONLY), assign(TO_OUT), assign(UNKNOWN)]);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ accepted: 1, rejected_count: 2 });
    expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[1, 'site_not_registered'], [3, 'site_not_registered']]);
    // The same reason for a foreign and an unknown waybill: no answer says where a parcel goes or whether it exists.
    expect(r.body.rejected[0].reason).toBe(r.body.rejected[1].reason);
    expect(r.text).not.toContain('SH-1');
    expect(code(await courierReveal(SH_ONLY))).toBe('no_work_context');
    expect(code(await courierReveal(TO_OUT))).toBe('ok');
    expect(await workEntries(SH_ONLY)).toEqual([]);
  });

  it('tickets follow the same rule, on the route and over NDJSON', async () => {
    const t = tok['tickets-out']!;
    const refused = await w.api('POST', '/api/v1/tickets', { token: t, body: { ticket: 'T-1', waybill: SH_ONLY, account: 'cs1', status: 'open' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('producer_not_registered');
    const r = await post(t, [ticket('T-2', SH_ONLY), ticket('T-3', FROM_OUT), ticket('T-4', UNKNOWN)]);
    expect(r.body).toMatchObject({ accepted: 1, rejected_count: 2 });
    expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[1, 'site_not_registered'], [3, 'site_not_registered']]);
    expect(code(await agentReveal(SH_ONLY, 'T-1'))).toBe('no_work_context');
    expect(code(await agentReveal(SH_ONLY, 'T-2'))).toBe('no_work_context');
    expect(code(await agentReveal(FROM_OUT, 'T-3'))).toBe('ok');
    expect(await workEntries(SH_ONLY)).toEqual([]);
    // A ticket that names no waybill grants nothing and is judged by its agent's site alone, as before.
    expect((await post(t, [{ ...ticket('T-5', ''), waybill: undefined }])).body).toMatchObject({ accepted: 1, rejected_count: 0 });
  });

  it('a producer registered for every site keeps giving work for any parcel', async () => {
    expect((await w.api('POST', '/api/v1/assignments', { token: tok.all!, body: { waybill: SH_ONLY, account: 'c1', task: 'delivery' } })).status).toBe(201);
    expect(code(await courierReveal(SH_ONLY))).toBe('ok');
    const r = await post(tok.all!, [ticket('T-6', SH_ONLY)]);
    expect(r.body).toMatchObject({ accepted: 1, rejected_count: 0 });
    expect(code(await agentReveal(SH_ONLY, 'T-6'))).toBe('ok');
  });

  // Attack review 4, hole 7: a waybill-only token re-routed other cities' parcels inside the detection engine.
  it('a waybill event must agree with the parcel the vault holds; a new parcel or a restatement is accepted', async () => {
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'routing-out', role: 'service', site: null, password: 'pw-routing-out-secret' } })).status).toBe(201);
    const routing = (await w.api('POST', '/api/v1/accounts/routing-out/tokens', { token: admin, body: { events: ['waybill'], sites: ['OUT-1'] } })).body.token as string;
    const waybill = (wb: string, origin: string, dest: string, city = '北京') => ({ id: id('w'), ts: NOW, type: 'waybill', waybill: wb, origin_site: origin, dest_site: dest, dest_city: city });
    const r = await post(routing, [
      // Review 10: a parcel with neither end on the token's list is none of its business: answered as an unknown number, withheld.
      waybill(SH_ONLY, 'OUT-1', 'OUT-1'),
      waybill(FROM_OUT, 'OUT-1', 'SH-1', '上海市'), // the vault's sites, its city spelt with 市
      waybill(FROM_OUT, 'OUT-1', 'OUT-1'),
      waybill('SF2000000000777', 'OUT-1', 'SH-1', '上海'),
      waybill(FROM_OUT, 'OUT-1', 'SH-1', '北京'), // review 5: right sites, another city (review 10: not SH-1's city, whatever the parcel)
    ]);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ accepted: 3, rejected_count: 2 });
    expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[3, 'waybill_conflict'], [5, 'site_city_conflict']]);
    const rows = await w.warden.db.selectFrom('activity_events').select(['type', 'body']).where('type', 'in', ['waybill', 'waybill_withheld']).where('producer', 'like', 'token:%').execute();
    const body = (b: unknown) => (typeof b === 'string' ? JSON.parse(b) : b) as { waybill: string; origin_site?: string };
    expect(rows.filter((x) => body(x.body).waybill === SH_ONLY && body(x.body).origin_site === 'OUT-1').map((x) => x.type)).toEqual(['waybill_withheld']);
    expect(r.text).not.toContain('SH-1');
    // A token for every site may not restate a parcel's sites either.
    const all = await post(tok.all!, [waybill(TO_OUT, 'OUT-1', 'OUT-1')]);
    expect(all.body.rejected.map((x: { code: string }) => x.code)).toEqual(['waybill_conflict']);
  });
});
