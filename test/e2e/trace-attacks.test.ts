/**
 * Attacks on leak tracing found by review, tried again through the real gateway (each fix's
 * allowed and denied cases): a real waybill arriving with a canary's number.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loginAs, staff } from './trace-setup.js';
import { readDump } from '../../src/trace/attribution/dump.js';
import { attribute } from '../../src/trace/attribution/attribute.js';
import { historyFromStore, storeResolver } from '../../src/trace/attribution/store.js';
import { createPiiDecryptor } from '../../src/vault/vault.js';

const PARTY = { name: '赵小明', phone: '13900002222', address: '北京市海淀区中关村大街18号5号楼301室' };
const REAL = ['SF300000001000', 'SF300000001040'];
const ELSEWHERE = 'SF300000001020';

describe.each(testBackends())('leak-tracing attacks on %s', (backend) => {
  let w: TestWarden;
  let analyst = '';
  let service = '';
  const login = (account: string) => loginAs(w, account);
  const store = (waybill: string) => w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY, recipient: PARTY } });

  beforeAll(async () => {
    w = await startTestWarden(backend);
    service = (await staff(w, [{ code: 'OUT-1', city: '北京' }, { code: 'OUT-2', city: '上海' }], [['sa1', 'security_analyst', null], ['o1', 'outlet_staff', 'OUT-1'], ['o2', 'outlet_staff', 'OUT-1'], ['m1', 'manager', 'OUT-1'], ['svc', 'service', null]])).svc!;
    analyst = await login('sa1');
    for (const waybill of REAL) expect((await store(waybill)).status).toBe(201);
    expect((await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill: ELSEWHERE, origin_site: 'OUT-2', dest_site: 'OUT-2', sender: PARTY, recipient: PARTY } })).status).toBe(201);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  describe('a real waybill issued later with a canary’s number', () => {
    it('canary numbers are drawn below the newest real number, not where upstream issues next', async () => {
      const planted = await w.api('POST', '/api/v1/canaries', { token: analyst, body: { count: 3 } });
      expect(planted.status).toBe(201);
      for (const c of planted.body.waybills as string[]) {
        expect(c).toMatch(/^SF\d{12}$/);
        expect(BigInt(c.slice(2))).toBeLessThan(BigInt(REAL[1]!.slice(2)));
      }
    });

    it('is stored (201), the canary retired and out of the watch, audited without the number; a real duplicate is still 409', async () => {
      const [canary] = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries;
      const stored = await store(canary.waybill);
      expect(stored.status).toBe(201);
      expect(stored.body.waybill).toBe(canary.waybill);
      // Staff working the real parcel are not tripped.
      const o1 = await login('o1');
      expect((await w.api('GET', `/api/v1/waybills/${canary.waybill}`, { token: o1 })).status).toBe(200);
      expect((await w.api('GET', `/api/v1/waybills/${REAL[0]}`, { token: o1 })).status).toBe(200);
      const live = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries.map((c: { waybill: string }) => c.waybill);
      expect(live).not.toContain(canary.waybill);
      const all = (await w.api('GET', '/api/v1/canaries?include_retired=true', { token: analyst })).body.canaries;
      expect(all.find((c: { waybill: string }) => c.waybill === canary.waybill)).toMatchObject({ superseded: true, retired_at: expect.any(String) });
      const trail = await w.warden.db.selectFrom('audit_log').select(['kind', 'detail', 'account']).where('kind', '=', 'trace.canary_superseded').execute();
      expect(trail).toHaveLength(1);
      // The entry names the producer that sent the number (a run of these says who is guessing).
      expect(trail[0]!.account).toBe('svc');
      expect(trail[0]!.detail).toMatchObject({ actor: 'svc' });
      expect(JSON.stringify(trail)).not.toContain(canary.waybill);
      // A tripwire gone is news for the analysts (a producer sending guessed numbers retires canaries this way).
      const alerts = (await w.api('GET', '/api/v1/alerts?detector=canary_superseded', { token: analyst })).body.alerts;
      expect(alerts).toHaveLength(1);
      expect(JSON.stringify(alerts)).not.toContain(canary.waybill);
      // Denied: a number a real waybill already holds is refused as before.
      expect((await store(REAL[0]!)).status).toBe(409);
      expect((await store(canary.waybill)).status).toBe(409);
      // A real duplicate retires nothing and raises nothing.
      expect((await w.api('GET', '/api/v1/alerts?detector=canary_superseded', { token: analyst })).body.alerts).toHaveLength(1);
    });
  });

  describe('an export as an existence and location oracle', () => {
    it('a missing and an out-of-city waybill get one and the same refusal, naming no number, each audited as a denied export', async () => {
      const m1 = await login('m1');
      const missing = await w.api('POST', '/api/v1/exports', { token: m1, body: { waybills: ['SF399999999999'] } });
      const away = await w.api('POST', '/api/v1/exports', { token: m1, body: { waybills: [ELSEWHERE] } });
      expect(missing.status).toBe(403);
      expect(away.status).toBe(403);
      expect(away.body).toEqual(missing.body);
      expect(missing.text).not.toContain('SF399999999999');
      expect(away.text).not.toContain(ELSEWHERE);
      const o1 = await login('o1');
      expect((await w.api('POST', '/api/v1/exports', { token: o1, body: { waybills: [REAL[0]] } })).status).toBe(403);
      const denied = await w.warden.db.selectFrom('audit_log').select(['account', 'reason', 'detail', 'waybill']).where('kind', '=', 'access.export').where('decision', '=', 'denied').orderBy('seq').execute();
      expect(denied.map((d) => `${d.account}:${d.reason}`)).toEqual(['m1:forbidden', 'm1:forbidden', 'o1:role_not_permitted']);
      expect(JSON.stringify(denied)).not.toMatch(/SF399999999999|SF300000001020/);
      // Allowed: a waybill of the manager's city exports, audited as allowed.
      const ok = await w.api('POST', '/api/v1/exports', { token: m1, body: { waybills: [REAL[0]] } });
      expect(ok.status).toBe(201);
      const allowed = await w.warden.db.selectFrom('audit_log').select('account').where('kind', '=', 'access.export').where('decision', '=', 'allowed').execute();
      expect(allowed.map((a) => a.account)).toEqual(['m1']);
    });
  });

  describe('canary numbers in alert evidence', () => {
    it('are shown to security analysts and withheld from the admin token', async () => {
      const live = (await w.api('GET', '/api/v1/canaries', { token: analyst })).body.canaries as Array<{ waybill: string }>;
      const canary = live[0]!.waybill;
      const o2 = await login('o2');
      expect((await w.api('GET', `/api/v1/waybills/${canary}`, { token: o2 })).status).toBe(200);
      await w.warden.watch!.idle();
      const seen = await w.api('GET', '/api/v1/alerts?detector=canary_touched&account=o2', { token: analyst });
      expect(seen.body.alerts).toHaveLength(1);
      expect(seen.body.alerts[0].evidence.waybills).toEqual([canary]);
      const admin = await w.api('GET', '/api/v1/alerts?detector=canary_touched&account=o2', { token: w.adminToken });
      expect(admin.status).toBe(200);
      expect(admin.body.alerts).toHaveLength(1);
      expect(admin.body.alerts[0]).toMatchObject({ detector: 'canary_touched', account: 'o2', evidence: { waybills: null, canaries: 1 } });
      expect(admin.text).not.toContain(canary);
      const patched = await w.api('PATCH', `/api/v1/alerts/${admin.body.alerts[0].id}`, { token: w.adminToken, body: { status: 'acknowledged' } });
      expect(patched.status).toBe(200);
      expect(patched.text).not.toContain(canary);
    });
  });

  describe('a marked export whose canary rows the recipient could pick out', () => {
    it('a filter export mixes in canaries inside its number block and window, in number order; attribution names its recipient', async () => {
      // Twenty parcels of the manager's city, numbers spaced as a busy outlet's are.
      const block = Array.from({ length: 20 }, (_, i) => `SF3000002${String(10000 + i * 9).padStart(5, '0')}`);
      for (const waybill of block) expect((await store(waybill)).status).toBe(201);
      const m1 = await login('m1');
      const now = Date.now();
      const window = { from: new Date(now - 3_600_000).toISOString(), to: new Date(now + 3_600_000).toISOString() };
      // Denied: another city, a window too wide.
      expect((await w.api('POST', '/api/v1/exports', { token: m1, body: { filter: { ...window, city: '上海' } } })).status).toBe(403);
      expect((await w.api('POST', '/api/v1/exports', { token: m1, body: { filter: { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' } } })).status).toBe(400);
      const exp = await w.api('POST', '/api/v1/exports', { token: m1, body: { filter: { ...window, site: 'OUT-1' } } });
      expect(exp.status).toBe(201);
      const numbers = exp.body.rows.map((r: { waybill: string }) => r.waybill) as string[];
      expect(numbers).toEqual([...numbers].sort());
      // The table keeps blind indexes only (attack review 9): the analysts' list names the numbers.
      const listed = (await w.api('GET', '/api/v1/canaries?include_retired=true', { token: analyst })).body.canaries as Array<{ waybill: string; export_id: string | null }>;
      const planted = listed.filter((c) => c.export_id === exp.body.id).map((c) => c.waybill);
      expect(planted.length).toBeGreaterThanOrEqual(1);
      for (const c of planted) expect(numbers).toContain(c);
      const real = numbers.filter((n) => !planted.includes(n));
      expect(real).toEqual(expect.arrayContaining(block));
      const rows = await w.warden.db.selectFrom('waybills').select(['waybill', 'created_at', 'origin_site']).where('waybill', 'in', planted).execute();
      for (const r of rows) {
        // Inside the block's number range and the asked window, on the filter's site: nothing to tell them apart by.
        expect(r.waybill > real[0]! && r.waybill < real[real.length - 1]!).toBe(true);
        expect(new Date(r.created_at).getTime()).toBeGreaterThanOrEqual(Date.parse(window.from));
        expect(new Date(r.created_at).getTime()).toBeLessThan(Date.parse(window.to));
        expect(r.origin_site).toBe('OUT-1');
      }
      expect(exp.text).not.toMatch(/canary/i);
      const csv = ['waybill,name,phone,address', ...exp.body.rows.map((r: any) => `${r.waybill},${r.recipient.name},${r.recipient.phone},${r.recipient.address}`)].join('\n');
      const db = w.warden.db;
      const resolver = storeResolver({ db, keyring: w.warden.keyring, pii: createPiiDecryptor({ db, keyring: w.warden.keyring }) });
      const out = await attribute(await readDump(Buffer.from(csv)), resolver, (leaked) => historyFromStore(db, leaked), { foundAt: Date.now() });
      expect(out.exports).toEqual([expect.objectContaining({ id: exp.body.id, account: 'm1', canaries: planted.length })]);
      // The manager is not tripped by its own export's marks.
      expect((await w.api('GET', `/api/v1/waybills/${REAL[0]}`, { token: m1 })).status).toBe(200);
    });
  });
});
