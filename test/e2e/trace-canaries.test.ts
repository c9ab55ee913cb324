/**
 * Canary records through the real gateway: planted by a security analyst, indistinguishable from
 * real waybills in every answer staff get, listed only to analysts (audited); a view, reveal or
 * search hit on one raises a critical alert and the account's next request is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const shape = (v: unknown): unknown => (v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)])) : typeof v);

describe.each(testBackends())('canaries on %s', (backend) => {
  let w: TestWarden;
  let analyst = '';
  let service = '';
  const login = async (account: string) => (await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-dev` } })).body.token as string;

  beforeAll(async () => {
    w = await startTestWarden(backend);
    const admin = w.adminToken;
    await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    for (const [id, role, site] of [['sa1', 'security_analyst', null], ['o1', 'outlet_staff', 'OUT-1'], ['o2', 'outlet_staff', 'OUT-1'], ['o3', 'outlet_staff', 'OUT-1'], ['c1', 'courier', 'OUT-1'], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    analyst = await login('sa1');
    for (const waybill of ['SF100000000001', 'SF100000000002']) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('only security analysts plant and list canaries, and every list is audited', async () => {
    const courier = await login('c1');
    expect((await w.api('POST', '/api/v1/canaries', { token: courier, body: { count: 1 } })).status).toBe(403);
    expect((await w.api('GET', '/api/v1/canaries', { token: courier })).status).toBe(403);
    expect((await w.api('GET', '/api/v1/canaries', { token: w.adminToken })).status).toBe(403);
    expect((await w.api('POST', '/api/v1/canaries', { token: analyst, body: { count: 0 } })).status).toBe(400);

    const planted = await w.api('POST', '/api/v1/canaries', { token: analyst, body: { count: 4, phone_range: '1700000' } });
    expect(planted.status).toBe(201);
    expect(planted.body.waybills).toHaveLength(4);
    const list = await w.api('GET', '/api/v1/canaries', { token: analyst });
    expect(list.body.canaries.map((c: { waybill: string }) => c.waybill).sort()).toEqual([...planted.body.waybills].sort());
    const entries = await w.warden.db.selectFrom('audit_log').select(['kind', 'detail']).where('kind', 'like', 'trace.%').execute();
    expect(entries.map((e) => e.kind)).toEqual(['trace.canaries_planted', 'trace.canaries_listed']);
    // The trail (read more widely than the list) names no canary.
    const text = JSON.stringify(entries);
    for (const c of planted.body.waybills) expect(text).not.toContain(c);
    expect(text).toContain('sa1');
  });

  it('a canary looks like any waybill to staff: same shape, realistic masks, real routes', async () => {
    const [canary] = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries;
    const token = await login('o3');
    const real = await w.api('GET', '/api/v1/waybills/SF100000000001', { token });
    // The analyst's own look does not count: only staff accounts are tripped, and o3 looks at the real one only.
    expect(real.status).toBe(200);
    const rows = await w.warden.db.selectFrom('waybills').select(['waybill', 'origin_site', 'dest_site', 'masked']).where('waybill', '=', canary.waybill).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.origin_site).toBe('OUT-1');
    const masked = typeof rows[0]!.masked === 'string' ? JSON.parse(rows[0]!.masked) : rows[0]!.masked;
    expect(shape({ sender: { ...masked.sender, id_number: undefined }, recipient: masked.recipient })).toEqual(shape({ sender: { ...real.body.sender, id_number: undefined }, recipient: real.body.recipient }));
    expect(masked.recipient.phone).toMatch(/^170\*{4}\d{4}$/);
    expect(canary.waybill).toMatch(/^SF\d{12}$/);
    expect(JSON.stringify(masked)).not.toMatch(/canary/i);
  });

  it('a view of a canary is answered normally, raises a critical alert, and the next request is refused', async () => {
    const [canary] = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries;
    const token = await login('o1');
    const seen = await w.api('GET', `/api/v1/waybills/${canary.waybill}`, { token });
    expect(seen.status).toBe(200);
    expect(seen.text).not.toMatch(/canary/i);
    const next = await w.api('GET', '/api/v1/waybills/SF100000000001', { token });
    expect(next.status).toBe(403);
    expect(next.body.error.code).toBe('account_suspended');
    expect(next.text).not.toMatch(/canary/i);
    await w.warden.watch!.idle();
    const alerts = await w.api('GET', '/api/v1/alerts?account=o1', { token: analyst });
    expect(alerts.body.alerts).toHaveLength(1);
    expect(alerts.body.alerts[0]).toMatchObject({ detector: 'canary_touched', severity: 'critical', score: 100, account: 'o1' });
    expect(alerts.body.alerts[0].evidence.waybills).toEqual([canary.waybill]);
    // The response machinery suspended the account: a new login is refused too.
    expect((await w.api('POST', '/api/v1/sessions', { body: { account: 'o1', password: 'pw-o1-secret', device: 'o1-dev' } })).status).toBe(403);
    expect((await w.api('GET', '/api/v1/accounts/o1/response', { token: analyst })).body.response).toMatchObject({ action: 'suspend' });
  });

  it('a reveal of a canary, and a phone search that finds one, each trip the account', async () => {
    const [, canary] = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries;
    const o2 = await login('o2');
    const revealed = await w.api('POST', `/api/v1/waybills/${canary.waybill}/reveal`, { token: o2, body: { fields: ['recipient.phone'], purpose: 'customer_service' } });
    expect(revealed.status).toBe(200);
    const phone = revealed.body.values['recipient.phone'];
    expect(phone).toMatch(/^1700000\d{4}$/);
    expect((await w.api('POST', '/api/v1/search', { token: o2, body: { phone } })).status).toBe(403);

    const o3 = await login('o3');
    const found = await w.api('POST', '/api/v1/search', { token: o3, body: { phone } });
    expect(found.status).toBe(200);
    expect(found.body.matches.map((m: { waybill: string }) => m.waybill)).toContain(canary.waybill);
    expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: o3 })).status).toBe(403);
    await w.warden.watch!.idle();
    const critical = await w.api('GET', '/api/v1/alerts?severity=critical', { token: analyst });
    expect(critical.body.alerts.map((a: { account: string }) => a.account).sort()).toEqual(['o1', 'o2', 'o3']);
  });

  it('an untouched real waybill raises nothing; rotation retires canaries but keeps watching them', async () => {
    const c1 = await login('c1');
    expect((await w.api('GET', '/api/v1/waybills/SF100000000002', { token: c1 })).status).toBe(200);
    expect((await w.api('GET', '/api/v1/waybills/SF100000000001', { token: c1 })).status).toBe(200);
    const before = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries;
    const rotated = await w.api('POST', '/api/v1/canaries/rotate', { token: analyst, body: { count: 2 } });
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ retired: before.length, planted: 2 });
    const live = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries;
    expect(live.map((c: { waybill: string }) => c.waybill).sort()).toEqual([...rotated.body.waybills].sort());
    const all = (await w.api('GET', '/api/v1/canaries?include_retired=true', { token: analyst })).body.canaries;
    expect(all).toHaveLength(before.length + 2);
    expect((await w.api('GET', `/api/v1/waybills/${before[3].waybill}`, { token: c1 })).status).toBe(200);
    expect((await w.api('GET', '/api/v1/waybills/SF100000000002', { token: c1 })).status).toBe(403);
  });
});
