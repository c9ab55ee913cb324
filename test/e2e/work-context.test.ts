/**
 * The work context over real HTTP, on every backend (issue 7, hole 6: assignments never ended; a
 * reassigned parcel left the old courier able to reveal; a 2020-dated assignment still allowed a
 * reveal; hole 13: a search on one party's phone granted the other party's address).
 *
 * Detection is off (the refusals are on purpose); the clock is manual (expiry is 72 h).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { manualClock } from '../../src/ops/clock.js';

const SENDER = { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室' };
const RECIPIENT = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const HOUR = 3_600_000;
const W = (n: number) => `SF70000000000${n}`;

describe.each(testBackends())('the work context on %s', (backend) => {
  const clock = manualClock('2026-03-02T01:00:00Z');
  let w: TestWarden;
  let service = '';
  const tokens: Record<string, string> = {};
  const reveal = (who: string, waybill: string, fields = ['recipient.phone'], purpose = 'delivery') =>
    w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token: tokens[who], body: { fields, purpose } });
  const code = (r: { status: number; body: any }) => (r.status === 200 ? 'ok' : r.body.error.code);
  const assign = (waybill: string, account: string, task = 'delivery') => w.api('POST', '/api/v1/assignments', { token: service, body: { waybill, account, task } });
  const assignEvent = (id: string, waybill: string, account: string, ts: number) =>
    w.api('POST', '/api/v1/events', { token: service, raw: JSON.stringify({ id, ts: new Date(ts).toISOString(), type: 'assign', account, role: 'courier', waybill, task: 'delivery' }) + '\n', contentType: 'application/x-ndjson' });
  const search = (who: string, phone: string) => w.api('POST', '/api/v1/search', { token: tokens[who], body: { phone } });

  beforeAll(async () => {
    w = await startTestWarden(backend, { warden: { clock }, config: { detect: false, sessionTtlMinutes: 7 * 24 * 60 } });
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'CS-1', kind: 'cs', city: '上海' } });
    for (const [id, role, site] of [['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['c3', 'courier', 'OUT-1'], ['cs1', 'customer_service', 'CS-1'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
      if (role !== 'service') tokens[id] = (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-dev` } })).body.token;
    }
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (let n = 1; n <= 6; n++) {
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(n), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: SENDER, recipient: { ...RECIPIENT, phone: `1390000111${n}` } } });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(() => w?.dispose());

  it('reassignment ends the previous holder\'s basis (and search reach); the new holder has it', async () => {
    expect((await assign(W(1), 'c1')).status).toBe(201);
    expect(code(await reveal('c1', W(1)))).toBe('ok');
    expect((await search('c1', '13900001111')).body.matches.map((m: { waybill: string }) => m.waybill)).toEqual([W(1)]);
    clock.advance(60_000);
    expect((await assign(W(1), 'c2')).status).toBe(201);
    const old = await reveal('c1', W(1));
    expect(old.status).toBe(403);
    expect(old.body.error.code).toBe('no_work_context');
    expect(old.text).not.toContain('13900001111');
    expect((await search('c1', '13900001111')).body.matches).toEqual([]);
    expect(code(await reveal('c2', W(1)))).toBe('ok');
    // Another task on the same parcel is not a reassignment of this one.
    expect((await assign(W(1), 'c1', 'pickup')).status).toBe(201);
    expect(code(await reveal('c1', W(1), ['sender.phone'], 'pickup'))).toBe('ok');
    expect(code(await reveal('c2', W(1)))).toBe('ok');
    // Given back: the first courier's basis returns, the second's ends.
    clock.advance(60_000);
    expect((await assign(W(1), 'c1')).status).toBe(201);
    expect(code(await reveal('c1', W(1)))).toBe('ok');
    expect(code(await reveal('c2', W(1)))).toBe('no_work_context');
  });

  it('an older assignment that arrives after a newer one to someone else never counts', async () => {
    const now = clock.now();
    const accepted = { accepted: 1, rejected: [], rejected_count: 0, duplicates: 0, duplicate_lines: [], mode: 'live', dropped_fields: [], dropped_fields_lines: 0 };
    expect((await assignEvent('wc-new', W(2), 'c2', now - 5 * 60_000)).body).toEqual(accepted);
    expect((await assignEvent('wc-old', W(2), 'c1', now - 10 * 60_000)).body).toEqual(accepted);
    expect(code(await reveal('c1', W(2)))).toBe('no_work_context');
    expect(code(await reveal('c2', W(2)))).toBe('ok');
  });

  it('an assignment dated 2020 grants nothing', async () => {
    const r = await assignEvent('wc-2020', W(3), 'c3', Date.parse('2020-05-01T08:00:00Z'));
    expect(r.status).toBeLessThan(500);
    const refused = await reveal('c3', W(3));
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('no_work_context');
  });

  it('a parcel never delivered stops counting 72 h after its assignment', async () => {
    expect((await assign(W(4), 'c3')).status).toBe(201);
    clock.advance(71 * HOUR);
    expect(code(await reveal('c3', W(4)))).toBe('ok');
    clock.advance(HOUR + 60_000);
    expect(code(await reveal('c3', W(4)))).toBe('no_work_context');
    // A fresh assignment (the parcel went out again) opens it again.
    expect((await assign(W(4), 'c3')).status).toBe(201);
    expect(code(await reveal('c3', W(4)))).toBe('ok');
  });

  it('a search on one party\'s phone backs that party only', async () => {
    // W5's recipient number; the sender number is on every parcel.
    const found = await search('cs1', '13900001115');
    expect(found.body.matches.map((m: { waybill: string }) => m.waybill)).toEqual([W(5)]);
    expect(code(await reveal('cs1', W(5), ['recipient.address', 'recipient.name'], 'customer_service'))).toBe('ok');
    const other = await reveal('cs1', W(5), ['sender.address'], 'customer_service');
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('field_not_allowed');
    expect(other.text).not.toContain('世纪大道');
    // Searching the sender's number backs the sender on every parcel it is on.
    expect((await search('cs1', SENDER.phone)).body.matches.length).toBe(6);
    expect(code(await reveal('cs1', W(6), ['sender.address'], 'customer_service'))).toBe('ok');
    expect(code(await reveal('cs1', W(6), ['recipient.phone'], 'customer_service'))).toBe('field_not_allowed');
  });
});
