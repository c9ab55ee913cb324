/**
 * Privacy numbers, marked exports and attribution against the stored trail, through the real
 * gateway: a courier's phone reveal answers a virtual number bound to (courier, waybill); the
 * telephony platform routes it for that caller only, until the delivery expiry; a small pool never
 * collides for one caller, and running out is an alert, not an outage; a manager keeps the real
 * number. A marked export names its recipient; a dump of virtual numbers, real phones and names
 * with addresses is traced to the account that revealed them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { manualClock } from '../../src/ops/clock.js';
import { readDump } from '../../src/trace/attribution/dump.js';
import { attribute } from '../../src/trace/attribution/attribute.js';
import { historyFromStore, storeResolver } from '../../src/trace/attribution/store.js';
import { createPiiDecryptor } from '../../src/vault/vault.js';

const HOUR = 3_600_000;
const party = (i: number) => ({ name: `王小${'一二三四五六七八'[i]}`, phone: `1390000000${i}`, address: `北京市朝阳区建国路${80 + i}号阳光花园${i}栋2单元50${i}室` });
const W = (i: number) => `SF10000000000${i}`;

describe.each(testBackends())('leak tracing on %s', (backend) => {
  let w: TestWarden;
  const clock = manualClock(Date.now());
  let service = '';
  let telephony = '';
  const tokens: Record<string, string> = {};
  const login = async (account: string) => (tokens[account] = await loginAs(w, account));
  // Each reveal a second apart, so "oldest binding" is well defined.
  const reveal = (account: string, i: number, purpose = 'delivery') => (clock.advance(1000), w.api)('POST', `/api/v1/waybills/${W(i)}/reveal`, { token: tokens[account], body: { fields: ['recipient.phone'], purpose } });
  const route = (virtual_number: string, caller: string, token = telephony) => w.api('POST', '/api/v1/privacy-numbers/route', { token, body: { virtual_number, caller } });
  const numbers: Record<number, string> = {};

  beforeAll(async () => {
    w = await startTestWarden(backend, {
      warden: { clock },
      policy: { privacy_numbers: { roles: ['courier'], pool: ['17100000000-17100000002'], expiry_hours_after_delivery: 1, max_hours: 72, cooldown_hours: 24, low_water: 1, telephony_accounts: ['tel'] } },
    });
    const services = await staff(w, [{ code: 'OUT-1', city: '北京' }], [['sa1', 'security_analyst', null], ['c1', 'courier', 'OUT-1'], ['c2', 'courier', 'OUT-1'], ['m1', 'manager', 'OUT-1'], ['svc', 'service', null], ['tel', 'service', null]]);
    service = services.svc!;
    telephony = services.tel!;
    for (let i = 1; i <= 6; i++) {
      expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: W(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party(0), recipient: party(i) } })).status).toBe(201);
      await w.api('POST', '/api/v1/assignments', { token: service, body: { waybill: W(i), account: i === 5 ? 'c2' : 'c1', task: 'delivery' } });
    }
    for (const a of ['c1', 'c2', 'm1', 'sa1']) await login(a);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('a courier is shown a virtual number bound to (courier, waybill); the same one again; a manager keeps the real number', async () => {
    const first = await reveal('c1', 1);
    expect(first.status).toBe(200);
    numbers[1] = first.body.values['recipient.phone'];
    expect(numbers[1]).toMatch(/^1710000000[0-2]$/);
    expect((await reveal('c1', 1)).body.values['recipient.phone']).toBe(numbers[1]);
    const manager = await reveal('m1', 1, 'audit');
    expect(manager.body.values['recipient.phone']).toBe('13900000001');
    const entry = await w.warden.db.selectFrom('audit_log').select('detail').where('kind', '=', 'access.reveal').where('account', '=', 'c1').executeTakeFirstOrThrow();
    expect(JSON.stringify(entry.detail)).toContain('virtual');
  });

  it('one caller never holds two live bindings of a number; the platform routes each to its own customer', async () => {
    numbers[2] = (await reveal('c1', 2)).body.values['recipient.phone'];
    numbers[3] = (await reveal('c1', 3)).body.values['recipient.phone'];
    expect(new Set([numbers[1], numbers[2], numbers[3]]).size).toBe(3);
    for (const i of [1, 2, 3]) expect((await route(numbers[i]!, 'c1')).body).toEqual({ action: 'connect', number: `1390000000${i}`, waybill: W(i) });
    // Another courier may share a number (a different pair); the platform tells them apart by caller.
    numbers[5] = (await reveal('c2', 5)).body.values['recipient.phone'];
    expect((await route(numbers[5]!, 'c2')).body).toMatchObject({ action: 'connect', number: '13900000005' });
    const stranger = await route(numbers[1]!, 'c9');
    expect(stranger.body).toEqual({ action: 'refuse', reason: 'not_routable' });
    expect((await route('17199999999', 'c1')).body).toEqual({ action: 'refuse', reason: 'not_routable' });
    expect(stranger.text).not.toContain('1390000000');
  });

  it('only the telephony platform may route: other service tokens, staff and the admin token are refused', async () => {
    expect((await route(numbers[1]!, 'c1', service)).status).toBe(403);
    expect((await route(numbers[1]!, 'c1', tokens.c1)).status).toBe(403);
    expect((await route(numbers[1]!, 'c1', w.adminToken)).status).toBe(403);
    const routed = await w.warden.db.selectFrom('audit_log').select(['decision', 'reason']).where('kind', '=', 'trace.privacy_routed').execute();
    expect(routed.filter((r) => r.decision === 'allowed').length).toBe(4);
    expect(routed.filter((r) => r.decision === 'denied').map((r) => r.reason).sort()).toEqual(['unknown_number', 'wrong_caller']);
  });

  it('a pool running out is an alert, not an outage; a binding expires after delivery', async () => {
    const fourth = await reveal('c1', 4);
    expect(fourth.status).toBe(200);
    numbers[4] = fourth.body.values['recipient.phone'];
    expect(numbers[4]).toMatch(/^1710000000[0-2]$/);
    await w.warden.watch!.idle();
    const alerts = await w.api('GET', '/api/v1/alerts?detector=privacy_pool_low', { token: tokens.sa1 });
    expect(alerts.body.alerts.length).toBe(1);
    expect(alerts.body.alerts[0].severity).toBe('high');
    // The recycled number now reaches the fourth customer, never two at once.
    expect((await route(numbers[4]!, 'c1')).body).toMatchObject({ action: 'connect', number: '13900000004' });

    await w.api('POST', '/api/v1/scans', { token: service, body: { waybill: W(2), op: 'delivered', site: 'OUT-1' } });
    expect((await route(numbers[2]!, 'c1')).body).toMatchObject({ action: 'connect' });
    clock.advance(2 * HOUR);
    expect((await route(numbers[2]!, 'c1')).body).toEqual({ action: 'refuse', reason: 'not_routable' });
    expect((await route(numbers[3]!, 'c1')).body).toMatchObject({ action: 'connect', number: '13900000003' });
  });

  it('an export of an explicit list holds exactly the rows asked for, in the order asked; its history names its recipient', async () => {
    expect((await w.api('POST', '/api/v1/exports', { token: tokens.c2, body: { waybills: [W(1)] } })).status).toBe(403);
    const asked = [W(6), W(2), W(4), W(1), W(3)];
    const exp = await w.api('POST', '/api/v1/exports', { token: tokens.m1, body: { waybills: asked } });
    expect(exp.status).toBe(201);
    // No row the caller did not ask for (it would stand out, and teach the canary numbering).
    expect(exp.body.rows.map((r: { waybill: string }) => r.waybill)).toEqual(asked);
    const csv = ['waybill,name,phone,address', ...exp.body.rows.map((r: any) => `${r.waybill},${r.recipient.name},${r.recipient.phone},${r.recipient.address}`)].join('\n');
    const db = w.warden.db;
    const resolver = storeResolver({ db, keyring: w.warden.keyring, pii: createPiiDecryptor({ db, keyring: w.warden.keyring }) });
    const out = await attribute(await readDump(Buffer.from(csv)), resolver, (leaked) => historyFromStore(db, leaked), { foundAt: clock.now() });
    expect(out.matched).toBe(5);
    expect(out.exports).toEqual([]);
    // The access history is the mark: m1 is the only account that saw all five.
    expect(out.suspects.find((s) => s.account === 'm1')).toMatchObject({ matched: 5 });
  });

  it('a dump of a virtual number, a real phone and a name with address is traced to the courier who revealed them', async () => {
    const p3 = party(3);
    const p6 = party(6);
    // A number c1 holds that no other courier shares (a shared one is named by its row's waybill).
    const own = [3, 4].find((i) => numbers[i] !== numbers[5])!;
    const csv = ['姓名,手机号,地址,备注', `${party(own).name},${numbers[own]},,`, `${p6.name},${p6.phone},,`, `${p3.name},,${p3.address},`, '合计,,,共3条'].join('\n');
    // c1 reveals W6 too (it is assigned), so the real phone points at a record it saw.
    expect((await reveal('c1', 6)).status).toBe(200);
    const db = w.warden.db;
    const resolver = storeResolver({ db, keyring: w.warden.keyring, pii: createPiiDecryptor({ db, keyring: w.warden.keyring }) });
    const out = await attribute(await readDump(Buffer.from(csv)), resolver, (leaked) => historyFromStore(db, leaked), { foundAt: clock.now() });
    expect(out.by).toMatchObject({ virtual_number: 1, phone: 1, name_address: 1 });
    expect(out.matched).toBe(3);
    expect(out.unmatched).toBe(1);
    expect(out.suspects[0], JSON.stringify(out)).toMatchObject({ account: 'c1', source: true, devices: [expect.any(String)] });
    expect(out.suspects[0]!.links).toBeGreaterThanOrEqual(1);
  });
});
