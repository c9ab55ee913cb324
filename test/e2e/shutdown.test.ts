/**
 * Graceful shutdown, on every backend: `warden.close()` under concurrent reveal load loses no
 * accepted write — every reveal answered 200 has its audit entry committed, nothing is served
 * after the close, and `warden audit verify` passes on what is left.
 *
 * Detection is off: a burst of reveals is what the engine looks for, and its responses
 * (tested in watch.test.ts) would decide some answers here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { sql } from 'kysely';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { releaseForCli, runWarden } from '../support/cli.js';

const WIDE = { per_minute: 100_000, per_hour: 100_000, per_day: 100_000 };
const SENDER = { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号5号楼1单元1201室' };
const ACCOUNTS = ['o0', 'o1', 'o2', 'o3'];
const CLIENTS = 8;
const CLOSE_AFTER = 60; // 200s seen before the close starts: the load is surely running by then

/**
 * One reveal on a connection of its own (no keep-alive): the load test is about the audit
 * trail, and keep-alive sockets meet a separate bug (the last test in this file).
 */
function revealOnce(base: string, token: string, waybill: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ fields: ['recipient.phone'], purpose: 'pickup' });
    const req = http.request(`${base}/api/v1/waybills/${waybill}/reveal`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(testBackends())('graceful shutdown under reveal load on %s', (backend) => {
  let t: TestStore;
  let w: TestWarden;
  const tokens: Record<string, string> = {};
  const expected = new Map<string, string>();

  beforeAll(async () => {
    t = await createTestStore(backend);
    w = await startTestWarden(backend, {
      store: t,
      policy: { quotas: { outlet_staff: { account: WIDE, device: WIDE, site: WIDE } } },
      config: { detect: false, auditCheckpointEvery: 25 },
    });
    const admin = w.adminToken;
    expect((await w.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } })).status).toBe(201);
    for (const id of [...ACCOUNTS, 'svc']) {
      const body = id === 'svc' ? { id, role: 'service', site: null } : { id, role: 'outlet_staff', site: 'OUT-1', password: `pw-${id}-secret` };
      expect((await w.api('POST', '/api/v1/accounts', { token: admin, body })).status).toBe(201);
    }
    const service = (await w.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    for (let i = 0; i < 10; i++) {
      const waybill = `SF7000000000${String(i).padStart(2, '0')}`;
      const phone = `1370000${String(i).padStart(4, '0')}`;
      const r = await w.api('POST', '/api/v1/waybills', { token: service, body: { waybill, origin_site: 'OUT-1', dest_site: 'OUT-1', sender: SENDER, recipient: { name: '王小明', phone, address: '北京市朝阳区建国路88号' } } });
      expect(r.status, r.text).toBe(201);
      expected.set(waybill, phone);
    }
    for (const id of ACCOUNTS) {
      const r = await w.api('POST', '/api/v1/sessions', { body: { account: id, password: `pw-${id}-secret`, device: `${id}-pc` } });
      expect(r.status).toBe(201);
      tokens[id] = r.body.token;
    }
  });
  afterAll(async () => {
    await w?.warden.close();
    await t?.dispose();
  });

  it('every reveal answered 200 has its committed audit entry; nothing is served after close; the trail verifies', async () => {
    const ok: Record<string, number> = Object.fromEntries(ACCOUNTS.map((a) => [a, 0]));
    const wrong: string[] = [];
    const refusals: number[] = [];
    let totalOk = 0;
    let startClose!: () => void;
    const loadRunning = new Promise<void>((resolve) => (startClose = resolve));
    const waybills = [...expected.keys()];

    const client = async (i: number) => {
      const account = ACCOUNTS[i % ACCOUNTS.length]!;
      for (let n = 0; n < 5000; n++) {
        const waybill = waybills[(i * 3 + n) % waybills.length]!;
        let status: number;
        let text: string;
        try {
          ({ status, text } = await revealOnce(w.url, tokens[account]!, waybill));
        } catch {
          return; // the server has stopped listening
        }
        if (status === 200) {
          ok[account]!++;
          if (JSON.parse(text).values['recipient.phone'] !== expected.get(waybill)) wrong.push(`${waybill}: ${text}`);
          if (++totalOk === CLOSE_AFTER) startClose();
        } else {
          refusals.push(status);
          for (const phone of expected.values()) if (text.includes(phone)) wrong.push(`refusal ${status} carried data`);
          return;
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await loadRunning;
    await w.warden.close();
    await Promise.all(clients);

    expect(wrong).toEqual([]);
    expect(totalOk).toBeGreaterThanOrEqual(CLOSE_AFTER);
    // Refusals seen while closing are the server's "closing" answer, never a 500.
    for (const s of refusals) expect(s).toBe(503);

    const db = t.store.db;
    const rows = await db.selectFrom('audit_log').select(['account']).where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').execute();
    for (const account of ACCOUNTS) {
      const committed = rows.filter((r) => r.account === account).length;
      expect(committed, `${account}: ${ok[account]} answered 200`).toBeGreaterThanOrEqual(ok[account]!);
    }

    // Closed means closed: a new request is not served and leaves no trace.
    const before = rows.length;
    await expect(revealOnce(w.url, tokens.o0!, waybills[0]!)).rejects.toThrow();
    const after = await db.selectFrom('audit_log').select(['seq']).where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').execute();
    expect(after.length).toBe(before);

    const total = await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await releaseForCli(t);
    const r = runWarden(t, ['audit', 'verify'], { WARDEN_MASTER_KEY: w.masterKey });
    expect(r.code, r.err).toBe(0);
    const m = /audit trail OK: (\d+) entries, last seq (\d+), (\d+) signed tree heads verified/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1])).toBe(Number(total.n));
    // One head at every 25th entry, plus the timer's and the one signed at close.
    expect(Number(m![3])).toBeGreaterThanOrEqual(Math.floor(Number(m![2]) / 25));
  }, 120_000);

  // Regression, fixed (src/warden.ts close() with src/http/server.ts): a request in flight when close()
  // starts is answered with `Connection: keep-alive`; the socket then sits idle, and Node's
  // server.close() (behind app.close()) waits for it until Fastify's keepAliveTimeout (72 s).
  // Only then do audit.drain(), bus.close(), watch.stop() and the store close run — under a
  // 30 s SIGTERM grace period `warden serve` is killed first. Every HTTP/1.1 staff app keeps
  // connections alive, so this is the normal case. Reproduced here with a reveal held at the
  // audit head while close() starts. Fix: while closing, answer with `Connection: close`
  // (an onSend hook checking a closing flag set in close() before app.close()), or track
  // in-flight requests and call app.server.closeIdleConnections() as each finishes.
  // The test timeout is the hang guard: close() normally returns within milliseconds.
  it('a keep-alive request in flight at close is answered, and close does not wait for its idle socket', async () => {
    const store = await createTestStore(backend);
    const v = await startTestWarden(backend, { store, config: { detect: false } });
    const admin = v.adminToken;
    await v.api('POST', '/api/v1/sites', { token: admin, body: { code: 'OUT-1', kind: 'outlet', city: '北京' } });
    await v.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'o1', role: 'outlet_staff', site: 'OUT-1', password: 'pw-o1-secret' } });
    await v.api('POST', '/api/v1/accounts', { token: admin, body: { id: 'svc', role: 'service', site: null } });
    const service = (await v.api('POST', '/api/v1/accounts/svc/tokens', { token: admin })).body.token;
    const party = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号' };
    expect((await v.api('POST', '/api/v1/waybills', { token: service, body: { waybill: 'SF700000000099', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party, recipient: party } })).status).toBe(201);
    const token = (await v.api('POST', '/api/v1/sessions', { body: { account: 'o1', password: 'pw-o1-secret', device: 'd' } })).body.token;

    // Hold the audit head so the reveal is in flight when close() starts.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = v.warden.db.transaction().execute(async (tx) => {
      await sql`lock table audit_head in exclusive mode`.execute(tx);
      locked();
      await gate;
    });
    await isLocked;
    const answered = v.api('POST', '/api/v1/waybills/SF700000000099/reveal', { token, body: { fields: ['recipient.phone'], purpose: 'pickup' } });
    await new Promise((r) => setTimeout(r, 300));
    const closed = v.warden.close();
    await new Promise((r) => setTimeout(r, 300));
    release();
    await holder;
    const r = await answered;
    expect(r.status, r.text).toBe(200);
    expect(r.body.values['recipient.phone']).toBe('13900001111');
    await closed;
    const rows = await v.warden.db.selectFrom('audit_log').select('decision').where('kind', '=', 'access.reveal').execute();
    expect(rows).toEqual([{ decision: 'allowed' }]);
    await store.dispose();
  }, 15_000);
});
