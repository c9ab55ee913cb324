/**
 * Attack review 10, F4, over HTTP: a clerk's printed label (GET ?profile=label) kept a lane or
 * house number written in Chinese numerals. New waybills are masked without it; labels stored
 * before the fix are masked again as they are read, so they lose it too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';

const ADDRESSES: Array<[string, string, string]> = [
  ['上海市徐汇区漕溪路二百五十弄十二号801室', '上海市徐汇区漕溪路****', '上海市徐汇区****'],
  ['上海市徐汇区漕溪路250弄12号801室', '上海市徐汇区漕溪路****', '上海市徐汇区****'],
  ['北京市朝阳区建国路八十八巷', '北京市朝阳区建国路****', '北京市朝阳区****'],
];

describe.each(testBackends())('printed labels drop numbered lanes and houses on %s', (backend) => {
  let w: TestWarden;
  let clerk = '';
  beforeAll(async () => {
    w = await startTestWarden(backend);
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-LN-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'lk1', role: 'outlet_staff', site: 'OUT-LN-1', password: 'pw-lk1-secret' } })).status).toBe(201);
    clerk = (await w.api('POST', '/api/v1/sessions', { body: { account: 'lk1', password: 'pw-lk1-secret', device: 'lk1-term' } })).body.token;
    expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'lnsvc', role: 'service', site: null } })).status).toBe(201);
    const service = (await w.api('POST', '/api/v1/accounts/lnsvc/tokens', { token: admin })).body.token as string;
    for (const [i, [address]] of ADDRESSES.entries()) {
      const r = await w.api('POST', '/api/v1/waybills', {
        token: service,
        body: { waybill: `SF90000000000${i}`, origin_site: 'OUT-LN-1', dest_site: 'OUT-LN-1', sender: { name: '商家甲', phone: '13900000001', address: '上海市浦东新区张江路1号' }, recipient: { name: '赵六', phone: '13900000002', address } },
      });
      expect(r.status, r.text).toBe(201);
    }
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it.each(ADDRESSES.map((a, i) => [i, ...a] as const))('waybill %i: %s → label %s, screen %s', async (i, _address, label, screen) => {
    const printed = await w.api('GET', `/api/v1/waybills/SF90000000000${i}?profile=label`, { token: clerk });
    expect(printed.status, printed.text).toBe(200);
    expect(printed.body.recipient.address).toBe(label);
    expect(printed.body.sender.address).toBe('上海市浦东新区张江路****');
    expect((await w.api('GET', `/api/v1/waybills/SF90000000000${i}`, { token: clerk })).body.recipient.address).toBe(screen);
  });

  it('a label stored before the fix (with the lane in numerals) is masked again as it is read', async () => {
    const row = await w.warden.db.selectFrom('waybills').select('label').where('waybill', '=', 'SF900000000000').executeTakeFirstOrThrow();
    const old = typeof row.label === 'string' ? JSON.parse(row.label) : structuredClone(row.label);
    old.recipient.address = '上海市徐汇区漕溪路二百五十弄****';
    await w.warden.db.updateTable('waybills').set({ label: JSON.stringify(old) }).where('waybill', '=', 'SF900000000000').execute();
    const printed = await w.api('GET', '/api/v1/waybills/SF900000000000?profile=label', { token: clerk });
    expect(printed.body.recipient.address).toBe('上海市徐汇区漕溪路****');
  });
});
