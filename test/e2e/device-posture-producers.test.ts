/**
 * Only the gateway's own logins make the device fleet (attack review 3, H3): a token registered
 * for legacy `login` events (accounts_prefix `legacy.`) sent successful logins from 5 invented
 * devices on a trojaned build, the build counted as a fleet update, and a courier running it
 * revealed with no device_posture alert. Tried again through the API: the laundered build still
 * alerts on the courier's unexplained reveals; the same adoption by 5 gateway devices (the
 * gateway's own trail) is a fleet update and raises nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import type { AuditEntryInput } from '../../src/audit/kinds.js';

const PARTY = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
const WAYBILL = 'SF100000000031';
const ndjson = (events: object[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

/** Gateway logins as the gateway's trail records them (devices it enrolled). */
const gatewayLogins = (prefix: string, n: number, hash: string): AuditEntryInput[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'auth.login',
    ts: new Date(Date.now() - 60_000 + i),
    decision: 'allowed',
    account: `${prefix}${i}`,
    role: 'courier',
    site: 'OUT-1',
    device: `${prefix}-pda-${i}`,
    ip: '10.9.0.1',
    detail: { mfa: false, app_hash: hash },
  }));

describe.each(testBackends())('device_posture counts the gateway\'s fleet only on %s', (backend) => {
  let w: TestWarden;
  let analyst = '';
  let legacy = '';

  /** Waits until the bus has carried `n` more events and detection has handled them. */
  async function settled(before: number, n: number): Promise<void> {
    while (w.warden.bus.stats().published < before + n) await new Promise((r) => setImmediate(r));
    await w.warden.watch!.idle();
  }
  /** A gateway courier logs in on `hash` and tries 5 reveals of a parcel it was never given. */
  async function courierOn(account: string, hash: string): Promise<void> {
    const r = await w.api('POST', '/api/v1/accounts', { token: w.adminToken, body: { id: account, role: 'courier', site: 'OUT-1', password: `pw-${account}-secret` } });
    expect(r.status, r.text).toBe(201);
    const before = w.warden.bus.stats().published;
    const s = await w.api('POST', '/api/v1/sessions', { body: { account, password: `pw-${account}-secret`, device: `${account}-pda`, app_hash: hash } });
    expect(s.status, s.text).toBe(201);
    for (let i = 0; i < 5; i++) {
      const rv = await w.api('POST', `/api/v1/waybills/${WAYBILL}/reveal`, { token: s.body.token, body: { fields: ['recipient.phone'], purpose: 'delivery' } });
      expect(rv.status).toBe(403);
    }
    await settled(before, 6);
  }
  const postureAlerts = async (account: string) =>
    (await w.api('GET', `/api/v1/alerts?detector=device_posture&account=${account}`, { token: analyst })).body.alerts as Array<{ evidence: Record<string, unknown> }>;

  beforeAll(async () => {
    w = await startTestWarden(backend, { detectConfig: { time: { reorder_window_seconds: 0 } } });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const [id, role] of [['sa1', 'security_analyst'], ['legacy-hr', 'service']] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, password: `pw-${id}-secret` } })).status).toBe(201);
    }
    analyst = (await w.api('POST', '/api/v1/sessions', { body: { account: 'sa1', password: 'pw-sa1-secret', device: 'sa-desk' } })).body.token;
    const t = await w.api('POST', '/api/v1/accounts/legacy-hr/tokens', { token: admin, body: { events: ['login'], accounts_prefix: 'legacy.' } });
    expect(t.status, t.text).toBe(201);
    legacy = t.body.token;
    expect((await w.api('POST', '/api/v1/waybills', { token: admin, body: { waybill: WAYBILL, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } })).status).toBe(201);
    // A mature fleet (24 devices the gateway enrolled) on the normal build.
    const before = w.warden.bus.stats().published;
    await w.warden.audit.append(gatewayLogins('fleet', 24, 'fleet-build-v1'));
    await settled(before, 24);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  it('the attack again: 5 legacy logins on a trojaned build do not adopt it; the courier on it is alerted', async () => {
    const now = new Date().toISOString();
    const lines = Array.from({ length: 5 }, (_, i) => ({ id: `lg-${i}`, type: 'login', ts: now, account: `legacy.t${i}`, device: `T${i}`, ip: '10.20.30.40', result: 'success', app_hash: 'trojan-B', site: 'OUT-1' }));
    const before = w.warden.bus.stats().published;
    const r = await w.api('POST', '/api/v1/events', { token: legacy, raw: ndjson(lines), contentType: 'application/x-ndjson' });
    expect(r.body).toMatchObject({ accepted: 5, rejected_count: 0 });
    await settled(before, 5);
    await courierOn('victim', 'trojan-B');
    const alerts = await postureAlerts('victim');
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts[0]!.evidence).toMatchObject({ app_hash: 'trojan-B', devices_on_hash: 1, fleet_devices: 25 });
  });

  it('the same adoption through the gateway is a fleet update: no alert', async () => {
    const before = w.warden.bus.stats().published;
    await w.warden.audit.append(gatewayLogins('upd', 5, 'build-v2'));
    await settled(before, 5);
    await courierOn('updated', 'build-v2');
    expect(await postureAlerts('updated')).toEqual([]);
  });
});
