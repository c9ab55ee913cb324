/**
 * Key rotation, on every backend: `POST /api/v1/keys/rotate` while reveals are being served
 * (admin only), `warden keys rotate` from the CLI, and moving to a new master key with
 * WARDEN_MASTER_KEY_PREVIOUS — after which only the new key opens the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { releaseForCli, reopen, runWarden } from '../support/cli.js';
import { masterKeyFrom } from '../../src/vault/keyring.js';

const WIDE = { per_minute: 100_000, per_hour: 100_000, per_day: 100_000 };
const POLICY = { quotas: { outlet_staff: { account: WIDE, device: WIDE, site: WIDE } } };
const FIELDS = ['recipient.name', 'recipient.phone', 'sender.name', 'sender.phone'];
const SENDER = { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室', id_number: '11010519491231002X' };

type Expected = Map<string, Record<string, string>>;

/** One outlet, one clerk who may reveal names and phones there, and `n` parcels to distinct recipients. */
async function seed(w: TestWarden, n: number, from = 0): Promise<{ service: string; expected: Expected }> {
  const admin = w.adminToken;
  if (from === 0) {
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const [id, role, site] of [['o1', 'outlet_staff', 'OUT-1'], ['c1', 'courier', 'OUT-1'], ['sa1', 'security_analyst', null], ['svc', 'service', null]] as const) {
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body: { id, role, site, password: `pw-${id}-secret` } })).status).toBe(201);
    }
  }
  const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token as string;
  const expected: Expected = new Map();
  for (let i = from; i < from + n; i++) {
    const waybill = `SF6${String(i).padStart(11, '0')}`;
    const recipient = { name: `王${'小明大伟秀英'[i % 6]}${i}`, phone: `1390${String(i).padStart(7, '0')}`, address: `北京市朝阳区建国路${i + 1}号` };
    const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: SENDER, recipient } });
    expect(r.status, r.text).toBe(201);
    expected.set(waybill, { 'recipient.name': recipient.name, 'recipient.phone': recipient.phone, 'sender.name': SENDER.name, 'sender.phone': SENDER.phone });
  }
  return { service, expected };
}

async function loginO1(w: TestWarden, device = 'o1-desk'): Promise<string> {
  const r = await w.api('POST', '/api/v1/sessions', { body: { account: 'o1', password: 'pw-o1-secret', device } });
  expect(r.status, r.text).toBe(201);
  return r.body.token;
}

/** Reveals every expected waybill; returns the ones that did not come back exactly right. */
async function wrongReveals(w: TestWarden, token: string, expected: Expected): Promise<string[]> {
  const wrong: string[] = [];
  for (const [waybill, values] of expected) {
    const r = await w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token, body: { fields: FIELDS, purpose: 'pickup' } });
    if (r.status !== 200 || JSON.stringify(r.body.values) !== JSON.stringify(values)) wrong.push(`${waybill}: ${r.status} ${r.text.slice(0, 120)}`);
  }
  return wrong;
}

async function kekState(w: { db: TestWarden['warden']['db'] }) {
  const keks = await w.db.selectFrom('keks').select(['id', 'status', 'master_key_id']).orderBy('id').execute();
  const subjectKeks = await w.db.selectFrom('subject_keys').select('kek_id').execute();
  return { keks, subjectKekIds: [...new Set(subjectKeks.map((s) => s.kek_id))].sort(), subjects: subjectKeks.length };
}

// Regression: rotation once deadlocked the embedded store (a KEK lookup outside the rewrap
// transaction waited for PGlite's single connection, held by that transaction).

describe.each(testBackends())('online key rotation over HTTP on %s', (backend) => {
  let rotationDone = false;
  let w: TestWarden;
  let expected: Expected;
  let token = '';
  const N = 30;

  beforeAll(async () => {
    w = await startTestWarden(backend, { policy: POLICY, config: { detect: false } });
    expected = (await seed(w, N)).expected;
    token = await loginO1(w);
  });
  afterAll(async () => {
    // A deadlocked server would never finish closing; its test process is torn down instead.
    await w?.dispose();
  });

  it('is refused to anyone but the admin, and then nothing changes', async () => {
    const before = await kekState(w.warden);
    const staff = await Promise.all(['c1', 'sa1'].map(async (id) => (await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: 'd' } })).body.token as string));
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: w.adminToken })).body.token as string;
    for (const t of [token, ...staff, service]) {
      const r = await w.api('POST', '/api/v1/keys/rotate', { token: t });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect((await w.api('POST', '/api/v1/keys/rotate')).status).toBe(401);
    expect((await w.api('POST', '/api/v1/keys/rotate', { token: 'admin-wrong-token-0000000000' })).status).toBe(401);
    expect(await kekState(w.warden)).toEqual(before);
  });

  it('rotates while reveals are served: every reveal returns the right plaintext, every data key moves to the new KEK', async () => {
    const before = await kekState(w.warden);
    expect(before.keks).toHaveLength(1);
    expect(before.subjects).toBe(N + 1); // one subject per recipient phone, one for the shared sender

    let rotated = false;
    const failures: string[] = [];
    let served = 0;
    const worker = async (offset: number) => {
      const waybills = [...expected.keys()];
      // Keep revealing until the rotation is over and one more full pass has run after it.
      for (let pass = 0, passesAfter = 0; pass < 200 && passesAfter < 1; pass++) {
        const after = rotated;
        for (let i = 0; i < waybills.length; i++) {
          const waybill = waybills[(i + offset) % waybills.length]!;
          const r = await w.api('POST', `/api/v1/waybills/${waybill}/reveal`, { token, body: { fields: FIELDS, purpose: 'pickup' } });
          served++;
          if (r.status !== 200 || JSON.stringify(r.body.values) !== JSON.stringify(expected.get(waybill))) failures.push(`${waybill}: ${r.status} ${r.text.slice(0, 120)}`);
        }
        if (after) passesAfter++;
      }
    };
    const workers = [worker(0), worker(10), worker(20)];
    const rotation = w.api('POST', '/api/v1/keys/rotate', { token: w.adminToken }).finally(() => {
      rotated = true;
    });
    const [r] = await Promise.all([rotation, ...workers]);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ dataKeysRewrapped: N + 1, mastersRewrapped: 0 });
    expect(failures).toEqual([]);
    expect(served).toBeGreaterThanOrEqual(3 * N);

    const after = await kekState(w.warden);
    expect(after.subjectKekIds).toEqual([r.body.newKekId]);
    expect(after.keks.filter((k) => k.status === 'active').map((k) => k.id)).toEqual([r.body.newKekId]);
    expect(after.keks).toHaveLength(2);
    rotationDone = true;
  }, 20_000);

  it('new parcels after the rotation get their data keys under the new KEK, and all reveal right', async (ctx) => {
    if (!rotationDone) ctx.skip();
    const more = (await seed(w, 3, 1000)).expected;
    const state = await kekState(w.warden);
    const active = state.keks.find((k) => k.status === 'active')!.id;
    expect(state.subjectKekIds).toEqual([active]);
    expect(await wrongReveals(w, token, new Map([...expected, ...more]))).toEqual([]);
  });

  it('rotates again (each rotation a fresh KEK) and a restarted server still reveals right', async (ctx) => {
    if (!rotationDone) ctx.skip();
    const r = await w.api('POST', '/api/v1/keys/rotate', { token: w.adminToken });
    expect(r.status).toBe(200);
    const state = await kekState(w.warden);
    expect(state.keks).toHaveLength(3);
    expect(state.subjectKekIds).toEqual([r.body.newKekId]);
    // A server process that never saw the rotation (cold key caches).
    await w.warden.close();
    const store = await reopenAfterClose(w.store);
    const w2 = await startTestWarden(backend, { store, policy: POLICY, config: { detect: false, masterKey: w.masterKey } });
    try {
      expect(await wrongReveals(w2, await loginO1(w2, 'o1-other'), expected)).toEqual([]);
    } finally {
      await w2.dispose();
      await store.dispose();
    }
  });
});

/** startTestWarden's store stays open after warden.close(); for PGlite reopen it through the CLI helper's path. */
async function reopenAfterClose(store: TestStore): Promise<TestStore> {
  await releaseForCli(store);
  return reopen(store);
}

describe.each(testBackends())('warden keys rotate (CLI) on %s', (backend) => {
  let rotated = false;
  let moved = false;
  const M0 = randomBytes(32).toString('base64');
  const M1 = randomBytes(32).toString('base64');
  let t: TestStore;
  let expected: Expected;
  const N = 12;

  /** Boots a server on the store with `masterKey`, runs `fn`, and stops it again for the CLI. */
  async function withServer<T>(masterKey: string, fn: (w: TestWarden) => Promise<T>): Promise<T> {
    const store = await reopen(t);
    try {
      const w = await startTestWarden(backend, { store, policy: POLICY, config: { detect: false, masterKey } });
      try {
        return await fn(w);
      } finally {
        await w.dispose();
      }
    } finally {
      await store.dispose();
    }
  }
  const masterIds = (w: TestWarden) =>
    Promise.all([
      w.warden.db.selectFrom('keyring').select('master_key_id').execute(),
      w.warden.db.selectFrom('keks').select('master_key_id').execute(),
    ]).then(([a, b]) => [...new Set([...a, ...b].map((r) => r.master_key_id))]);

  beforeAll(async () => {
    t = await createTestStore(backend);
    const w = await startTestWarden(backend, { store: t, policy: POLICY, config: { detect: false, masterKey: M0 } });
    expected = (await seed(w, N)).expected;
    await w.dispose();
    await releaseForCli(t);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('refuses a master key the store was not made with, and changes nothing', async () => {
    const r = runWarden(t, ['keys', 'rotate'], { WARDEN_MASTER_KEY: M1 });
    expect(r.code, r.out + r.err).not.toBe(0);
    expect(r.err).toMatch(/master key does not match/);
  });

  it('rotates with the current key: a new KEK, every data key rewrapped, the same plaintext', async () => {
    const r = runWarden(t, ['keys', 'rotate'], { WARDEN_MASTER_KEY: M0 });
    expect(r.code, r.err).toBe(0);
    // KEK 2: the refused run above added none.
    expect(r.out).toMatch(new RegExp(`rotated: new KEK 2, ${N + 1} data keys rewrapped, 0 entries moved`));
    await withServer(M0, async (w) => {
      const state = await kekState(w.warden);
      expect(state.subjectKekIds).toEqual([2]);
      expect(state.keks.map((k) => [k.id, k.status])).toEqual([[1, 'retired'], [2, 'active']]);
      expect(await wrongReveals(w, await loginO1(w), expected)).toEqual([]);
    });
    rotated = true;
  }, 60_000);

  it('moves everything to a new master key when WARDEN_MASTER_KEY_PREVIOUS holds the old one', async (ctx) => {
    if (!rotated) ctx.skip();
    const r = runWarden(t, ['keys', 'rotate'], { WARDEN_MASTER_KEY: M1, WARDEN_MASTER_KEY_PREVIOUS: M0 });
    expect(r.code, r.err).toBe(0);
    const m = /rotated: new KEK 3, (\d+) data keys rewrapped, (\d+) entries moved/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1])).toBe(N + 1);
    expect(Number(m![2])).toBeGreaterThanOrEqual(4); // blind-index and MFA keys, KEKs 1 and 2 (the audit signing key is not in the store)
    moved = true;
  }, 60_000);

  it('after which the old key alone is refused with "master key does not match"', async (ctx) => {
    if (!moved) ctx.skip();
    const r = runWarden(t, ['keys', 'rotate'], { WARDEN_MASTER_KEY: M0 });
    expect(r.code, r.out).not.toBe(0);
    expect(r.err).toMatch(/master key does not match/);
    // Verifying the audit trail never needs the master key (an auditor does not hold it).
    expect(runWarden(t, ['audit', 'verify'], {}).code).toBe(0);
    await expect(withServer(M0, async () => undefined)).rejects.toThrow(/master key does not match/);
  });

  it('and the new key alone works: the audit trail verifies, the server reveals and searches as before', async (ctx) => {
    if (!moved) ctx.skip();
    const r = runWarden(t, ['audit', 'verify'], { WARDEN_MASTER_KEY: M1 });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/audit trail OK/);
    await withServer(M1, async (w) => {
      expect(await masterIds(w)).toEqual([masterKeyFrom(Buffer.from(M1, 'base64')).id]);
      const token = await loginO1(w);
      expect(await wrongReveals(w, token, expected)).toEqual([]);
      // The blind-index key survived the move: a search by phone still finds the parcel.
      const [waybill, values] = [...expected][3]!;
      const s = await w.api('POST', '/api/v1/search', { token, body: { phone: values['recipient.phone'] } });
      expect(s.status, s.text).toBe(200);
      expect(s.body.matches.map((x: { waybill: string }) => x.waybill)).toEqual([waybill]);
    });
  });
});
