/**
 * A scan that ends work is scoped by the parcel's sites, and audited (attack review 3, S5): a
 * scan token registered for OUT-1 sent a `delivered` scan (naming OUT-1) for a Beijing-only
 * parcel, got 201, and started the grace period of the Beijing courier's assignment with no
 * entry on the trail. Tried again on the route and over NDJSON: `delivered` / `pickup` scans of a
 * parcel neither starting nor ending at one of the token's sites (or unknown) are refused like
 * the other out-of-scope work (403 producer_not_registered / per line `site_not_registered`, the
 * reason never naming the parcel's sites) and the assignment stays open; other scans still pass.
 * A scan of the token's own parcel completes the assignment and the trail says so
 * (`work.completed`: the producer as actor, the waybill, the account; no PII).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';

const NOW = '2026-11-11T02:00:00.000Z';
const PARTY = { name: '李北京', phone: '13900000005', address: '北京市朝阳区建国路1号2单元301室' };
const BJ_ONLY = 'SF2000000000011'; // BJ-1 → BJ-1: not OUT-1's
const FROM_OUT = 'SF2000000000012'; // OUT-1 → BJ-1
const TO_OUT = 'SF2000000000013'; // BJ-1 → OUT-1
const UNKNOWN = 'SF2000000000098'; // not in the vault
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe.each(testBackends())('work-ending scans scoped by the parcel\'s sites on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(NOW);
  let scanner = '';
  let seq = 0;
  const scan = (waybill: string, op: string) => ({ id: `s-${++seq}`, ts: NOW, type: 'scan', waybill, op, site: 'OUT-1' });
  const post = (events: object[]) => w.api('POST', '/api/v1/events', { token: scanner, raw: ndjson(events), contentType: 'application/x-ndjson' });
  const assign = async (waybill: string, task: 'delivery' | 'pickup') =>
    expect((await w.api('POST', '/api/v1/assignments', { token: w.adminToken, body: { waybill, account: 'c-bj', task } })).status).toBe(201);
  const completedAt = async (waybill: string, task: 'delivery' | 'pickup') =>
    (await w.warden.db.selectFrom('assignments').select('completed_at').where('waybill', '=', waybill).where('task', '=', task).where('account', '=', 'c-bj').executeTakeFirstOrThrow()).completed_at;
  const completions = (waybill: string) =>
    w.warden.db.selectFrom('audit_log').select(['account', 'waybill', 'site', 'detail']).where('kind', '=', 'work.completed').where('waybill', '=', waybill).orderBy('seq').execute();
  const detail = (d: unknown) => (typeof d === 'string' ? JSON.parse(d) : d) as Record<string, unknown>;

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false } });
    const admin = w.adminToken;
    for (const s of [{ code: 'OUT-1', kind: 'outlet', city: '上海' }, { code: 'BJ-1', kind: 'outlet', city: '北京' }]) {
      expect((await w.api('POST', '/api/v1/sites', { token: admin, body: s })).status).toBe(201);
    }
    for (const [account, role, site] of [['c-bj', 'courier', 'BJ-1'], ['scan-out', 'service', null]] as const) {
      const r = await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: account, role, site, password: `pw-${account}-secret` } });
      expect(r.status, r.text).toBe(201);
    }
    const t = await w.api('POST', '/api/v1/accounts/scan-out/tokens', { token: admin, body: { events: ['scan'], sites: ['OUT-1'] } });
    expect(t.status, t.text).toBe(201);
    scanner = t.body.token;
    for (const [waybill, origin, dest] of [[BJ_ONLY, 'BJ-1', 'BJ-1'], [FROM_OUT, 'OUT-1', 'BJ-1'], [TO_OUT, 'BJ-1', 'OUT-1']] as const) {
      const r = await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill, origin_site: origin, dest_site: dest, sender: PARTY, recipient: PARTY } });
      expect(r.status, r.text).toBe(201);
    }
    for (const waybill of [BJ_ONLY, FROM_OUT, TO_OUT]) await assign(waybill, 'delivery');
    await assign(BJ_ONLY, 'pickup');
    await assign(FROM_OUT, 'pickup');
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('the attack again: an OUT-1 scan token cannot deliver a Beijing parcel on the route; the assignment stays open, nothing on the trail', async () => {
    const r = await w.api('POST', '/api/v1/scans', { token: scanner, body: { waybill: BJ_ONLY, op: 'delivered', site: 'OUT-1' } });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('producer_not_registered');
    expect(r.body.error.message).toContain('destination'); // a delivery is its destination's work (review 9)
    expect(r.text).not.toContain('BJ-1');
    expect(await completedAt(BJ_ONLY, 'delivery')).toBeNull();
    expect(await completions(BJ_ONLY)).toEqual([]);
  });

  it('over NDJSON: delivered / pickup scans of the foreign and the unknown parcel are refused per line, other scans kept', async () => {
    const r = await post([scan(BJ_ONLY, 'delivered'), scan(BJ_ONLY, 'pickup'), scan(BJ_ONLY, 'arrive'), scan(UNKNOWN, 'delivered')]);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ accepted: 1, rejected_count: 3 });
    expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[1, 'site_not_registered'], [2, 'site_not_registered'], [4, 'site_not_registered']]);
    // The same reason for a foreign and an unknown waybill: no answer says where a parcel goes or whether it exists.
    expect(r.body.rejected[0].reason).toBe(r.body.rejected[2].reason);
    expect(r.text).not.toContain('BJ-1');
    expect(await completedAt(BJ_ONLY, 'delivery')).toBeNull();
    expect(await completedAt(BJ_ONLY, 'pickup')).toBeNull();
    expect(await completions(BJ_ONLY)).toEqual([]);
  });

  it('its own site\'s parcel: the delivered scan completes the assignment and the trail names the producer, the waybill and the account', async () => {
    const r = await w.api('POST', '/api/v1/scans', { token: scanner, body: { waybill: TO_OUT, op: 'delivered', site: 'OUT-1' } });
    expect(r.status, r.text).toBe(201);
    expect(await completedAt(TO_OUT, 'delivery')).not.toBeNull();
    const entries = await completions(TO_OUT);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ account: 'c-bj', waybill: TO_OUT, site: 'OUT-1' });
    expect(detail(entries[0]!.detail)).toMatchObject({ task: 'delivery', op: 'delivered', actor: 'scan-out', at: NOW });
    expect(String(detail(entries[0]!.detail).producer)).toMatch(/^token:/);
    expect(JSON.stringify(entries)).not.toMatch(/李北京|13900000005|建国路/);
    // A second delivered scan completes nothing more and adds nothing to the trail.
    expect((await w.api('POST', '/api/v1/scans', { token: scanner, body: { waybill: TO_OUT, op: 'delivered', site: 'OUT-1' } })).status).toBe(201);
    expect(await completions(TO_OUT)).toHaveLength(1);
  });

  it('over NDJSON, a parcel leaving its site (review 9): the pickup completes and is audited; the delivered scan is the destination\'s, refused', async () => {
    const r = await post([scan(FROM_OUT, 'pickup'), scan(FROM_OUT, 'delivered')]);
    expect(r.body).toMatchObject({ accepted: 1, rejected_count: 1 });
    expect(r.body.rejected.map((x: { line: number; code: string }) => [x.line, x.code])).toEqual([[2, 'site_not_registered']]);
    expect(await completedAt(FROM_OUT, 'pickup')).not.toBeNull();
    expect(await completedAt(FROM_OUT, 'delivery')).toBeNull();
    const entries = await completions(FROM_OUT);
    expect(entries.map((e) => [e.account, detail(e.detail).task])).toEqual([['c-bj', 'pickup']]);
  });

  it('a producer for every site (the admin token) still completes any parcel\'s work, on the trail', async () => {
    const r = await w.api('POST', '/api/v1/scans', { token: w.adminToken, body: { waybill: BJ_ONLY, op: 'delivered', site: 'BJ-1' } });
    expect(r.status, r.text).toBe(201);
    expect(await completedAt(BJ_ONLY, 'delivery')).not.toBeNull();
    const entries = await completions(BJ_ONLY);
    expect(entries).toHaveLength(1);
    expect(detail(entries[0]!.detail)).toMatchObject({ actor: 'admin', producer: 'admin' });
  });
});
