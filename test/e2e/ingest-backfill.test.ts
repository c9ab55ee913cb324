/**
 * Attack review 6, tried again through the HTTP API:
 * - an it_admin's `POST /api/v1/events?mode=backfill` of work stamped "now" fed live detection:
 *   backfill now takes history only — a line inside the live window (ts ≥ now − ingestMaxAge) is
 *   refused per line with `too_recent`, the rest of the batch kept;
 * - the `events.backfill` entry gave only a count: it names the distinct accounts and waybills
 *   (ids only, the first 1,000 of each, the totals and a SHA-256 of the whole sorted lists);
 * - a site-limited token gave work on a parcel of its sites to an account id not created yet
 *   (the event's own `site` standing in for the account's); a courier created later under that id
 *   at another site revealed it. Work from such a token must name a Warden account of its sites.
 * (Detection's side — backfilled work never explains a live access — is src/detect/work-links.test.ts
 * and src/detect/engine.test.ts.)
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';
import { BACKFILL_LISTED_IDS } from '../../src/events/ingest.js';

const NOW = '2026-11-11T02:00:00.000Z';
const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR; // the default WARDEN_INGEST_MAX_AGE
const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs).toISOString();
const PARTY = { name: '李上海', phone: '13900000004', address: '上海市徐汇区漕溪北路1号2单元301室' };
const FROM_OUT = 'SF2000000000002'; // OUT-1 → SH-1
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
const sha256 = (ids: string[]) => createHash('sha256').update(ids.map((x) => `${x}\n`).join(''), 'utf8').digest('hex');

describe.each(testBackends())('backfill is history only, and names what it imports, on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  const sessions: Record<string, string> = {};
  let dispatch = '';
  let seq = 0;
  const id = (p: string) => `${p}-${++seq}`;
  const post = (token: string, events: object[], mode?: 'backfill') =>
    w.api('POST', `/api/v1/events${mode ? `?mode=${mode}` : ''}`, { token, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const lines = (r: { body: { rejected: Array<{ line: number; code: string }> } }) => r.body.rejected.map((x) => [x.line, x.code]);
  const stored = async (ids: string[]) => (await w.warden.db.selectFrom('activity_events').select('id').where('id', 'in', ids).execute()).map((r) => r.id).sort();
  const lastBackfill = async () => (await w.warden.db.selectFrom('audit_log').selectAll().where('kind', '=', 'events.backfill').orderBy('seq').execute()).at(-1)!;
  const login = async (account: string) =>
    (await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-dev` } })).body.token as string;
  const createAccount = async (account: string, role: string, site: string | null) => {
    const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: account, role, site, password: `pw-${account}-secret` } });
    expect(r.status, r.text).toBe(201);
  };

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false } });
    for (const s of [{ code: 'OUT-1', kind: 'outlet', city: '北京' }, { code: 'SH-1', kind: 'outlet', city: '上海' }, { code: 'GZ-1', kind: 'outlet', city: '广州' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: w.adminToken, body: s })).status).toBe(201);
    }
    for (const [account, role, site] of [['c1', 'courier', 'OUT-1'], ['it1', 'it_admin', null], ['dispatch-out', 'service', null]] as const) await createAccount(account, role, site);
    for (const account of ['c1', 'it1']) sessions[account] = await login(account);
    const t = await w.api('POST', '/api/v1/accounts/dispatch-out/tokens', { token: w.adminToken, body: { events: ['assign'], sites: ['OUT-1'] } });
    expect(t.status, t.text).toBe(201);
    dispatch = t.body.token;
    const r = await w.api('POST', '/api/v1/waybills', { token: w.adminToken, body: { waybill: FROM_OUT, origin_site: 'OUT-1', dest_site: 'SH-1', sender: PARTY, recipient: PARTY } });
    expect(r.status, r.text).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('the attack again: 120 backfilled assignments stamped "now" are refused per line (too_recent); history is kept', async () => {
    const probe = Array.from({ length: 120 }, (_, i) => ({ id: id('a'), ts: at(-i * 1000), type: 'assign', account: 'c1', waybill: `SF30000000${String(i).padStart(5, '0')}`, task: 'delivery' }));
    const r = await post(sessions.it1!, probe, 'backfill');
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ accepted: 0, rejected_count: 120, mode: 'backfill' });
    expect(new Set(r.body.rejected.map((x: { code: string }) => x.code))).toEqual(new Set(['too_recent']));
    expect(r.body.rejected[0]).toMatchObject({ line: 1, code: 'too_recent' });
    expect(r.body.rejected[0].reason).toMatch(/history only/);
    expect(await stored(probe.map((e) => e.id))).toEqual([]);

    // The live window's edge: exactly maxAge old is still live; a millisecond older is history.
    const scan = (ts: string) => ({ id: id('s'), ts, type: 'scan', waybill: FROM_OUT, op: 'arrive', site: 'OUT-1' });
    const batch = [scan(at(-DAY_MS)), scan(at(-DAY_MS - 1)), scan(at(-HOUR)), scan('2025-06-30T08:00:00.000Z'), scan(at(60_000))];
    const mixed = await post(sessions.it1!, batch, 'backfill');
    expect(mixed.body).toMatchObject({ accepted: 2, rejected_count: 3 });
    expect(lines(mixed)).toEqual([[1, 'too_recent'], [3, 'too_recent'], [5, 'too_recent']]);
    expect(await stored(batch.map((e) => e.id))).toEqual([batch[1]!.id, batch[3]!.id].sort());
    // The same rule for the admin token and registered tokens: it is the mode's, not the sender's.
    expect(lines(await post(w.adminToken, [scan(at(-HOUR))], 'backfill'))).toEqual([[1, 'too_recent']]);
  });

  it('the events.backfill entry names the distinct accounts and waybills: the first 1,000, the totals and a digest of all; ids only', async () => {
    const old = (i: number) => at(-2 * DAY_MS - i * 1000);
    const waybills = Array.from({ length: BACKFILL_LISTED_IDS + 200 }, (_, i) => `SF4${String(i).padStart(11, '0')}`);
    const events: object[] = waybills.map((wb, i) => ({ id: id('s'), ts: old(i), type: 'scan', waybill: wb, op: 'arrive', site: 'OUT-1', note: PARTY.phone }));
    events.push({ id: id('a'), ts: old(1), type: 'assign', account: 'c1', waybill: waybills[0], task: 'delivery' });
    events.push({ id: id('x'), ts: old(2), type: 'access', account: 'LEG-7', role: 'courier', action: 'search', waybills: ['SF5000000000001', waybills[1]], result: 'allowed' });
    events.push({ id: id('x'), ts: old(3), type: 'login', account: 'LEG-7', result: 'success', note: PARTY.name });
    const r = await post(sessions.it1!, events, 'backfill');
    expect(r.body).toMatchObject({ accepted: events.length, rejected_count: 0 });

    const entry = await lastBackfill();
    const d = entry.detail as Record<string, unknown>;
    const allWaybills = [...waybills, 'SF5000000000001'].sort();
    expect(d).toMatchObject({ actor: 'it1', producer: 'account:it1', accepted: events.length });
    expect(d.accounts).toEqual(['LEG-7', 'c1']);
    expect(d.accounts_total).toBe(2);
    expect(d.accounts_sha256).toBe(sha256(['LEG-7', 'c1']));
    expect(d.waybills).toEqual(allWaybills.slice(0, BACKFILL_LISTED_IDS));
    expect(d.waybills_total).toBe(allWaybills.length);
    expect(d.waybills_sha256).toBe(sha256(allWaybills));
    const text = JSON.stringify(entry);
    for (const p of Object.values(PARTY)) expect(text).not.toContain(p);
  });

  it('the attack again: a site-limited token cannot give work to an account Warden does not hold, nor let the event\'s site stand in', async () => {
    // A pickup: FROM_OUT leaves OUT-1, so its pickup is the token's work (review 9).
    const assign = (account: string, site?: string) => ({ id: id('a'), ts: at(0), type: 'assign', account, ...(site ? { site } : {}), waybill: FROM_OUT, task: 'pickup' });
    const r = await post(dispatch, [assign('ghost-7', 'OUT-1'), assign('ghost-7'), assign('it1', 'OUT-1'), assign('c1')]);
    expect(r.body.accepted).toBe(1); // a real courier of its site keeps working
    expect(lines(r)).toEqual([[1, 'site_not_registered'], [2, 'site_not_registered'], [3, 'site_not_registered']]);
    expect(r.body.rejected[0].reason).toMatch(/Warden account/);
    const route = await w.api('POST', '/api/v1/assignments', { token: dispatch, body: { waybill: FROM_OUT, account: 'ghost-7', task: 'pickup' } });
    expect(route.status).toBe(403);
    expect(route.body.error.code).toBe('producer_not_registered');

    // Later, a courier is created under that id at another site: it has no work on the parcel.
    await createAccount('ghost-7', 'courier', 'GZ-1');
    const reveal = await w.api('POST', `/api/v1/waybills/${FROM_OUT}/reveal`, { token: await login('ghost-7'), body: { fields: ['sender.phone'], purpose: 'pickup' } });
    expect(reveal.body.error?.code, reveal.text).toBe('no_work_context');
    expect((await w.api('POST', `/api/v1/waybills/${FROM_OUT}/reveal`, { token: sessions.c1!, body: { fields: ['sender.phone'], purpose: 'pickup' } })).status).toBe(200);
  });
});
