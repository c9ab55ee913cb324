/**
 * A response applied by a detection worker holds at every gateway on the account's very next
 * request (issue 10, item 4): two `warden serve` gateways and one `warden watch` worker on one
 * PostgreSQL database and NATS JetStream at 127.0.0.1:4222. A courier walks near-sequential
 * waybill numbers it has no work on (an enumeration alert); the worker's response suspends it.
 * The moment the suspension is committed (read straight from the database, not through a
 * gateway), the courier's next request at each gateway is refused — before, the same request
 * was answered at both (so a per-process cache of the principal would have been warm).
 *
 * Real servers only: under CI=true a missing PostgreSQL or NATS fails the run; off CI this file
 * skips with a message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStore, testAuditKey, testBackends, type TestStore } from '../support/stores.js';
import { NATS_SERVER, natsReachable, callJson as call, spawnWarden, type WardenProcess as Proc } from '../support/services.js';

/** Any enumeration alert (5 near-sequential numbers) is answered with a suspension. */
const DETECT = { time: { reorder_window_seconds: 0 }, response: { step_up: 30, throttle: 30, suspend: 30 } };

const nc = await natsReachable();
const postgres = testBackends().includes('postgres');
if (!nc || !postgres) console.warn(`[worker-response] ${!nc ? `NATS JetStream at ${NATS_SERVER}` : 'PostgreSQL'} is unreachable: the worker-response tests are SKIPPED (they run under CI=true).`);

const waybillNo = (i: number) => `SF8${String(i).padStart(11, '0')}`;
const WALK = [100, 101, 102, 103, 104, 105];
const party = (i: number) => ({ name: '王小明', phone: `1370${String(i).padStart(7, '0')}`, address: '北京市朝阳区建国路88号' });

describe.skipIf(!nc || !postgres)('a response applied by a detection worker, at two gateways', () => {
  let t: TestStore;
  const procs: Proc[] = [];
  const urls: string[] = [];
  const suffix = randomBytes(4).toString('hex');
  const stream = `WARDEN_WRESP_${suffix}`;
  const admin = `admin-${randomBytes(16).toString('hex')}`;
  let token = '';

  beforeAll(async () => {
    t = await createTestStore('postgres');
    const dir = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'wresp-'));
    writeFileSync(join(dir, 'detect.json'), JSON.stringify(DETECT));
    const env = {
      WARDEN_DATABASE_URL: t.options.databaseUrl!,
      WARDEN_AUDIT_SIGNING_KEY: testAuditKey(t.options).signingKey,
      WARDEN_ADMIN_TOKEN: admin,
      WARDEN_MASTER_KEY: randomBytes(32).toString('base64'),
      WARDEN_DETECT_CONFIG: join(dir, 'detect.json'),
      WARDEN_BUS: `nats://${NATS_SERVER}`,
      WARDEN_BUS_STREAM: stream,
      WARDEN_BUS_SUBJECT: `wresp${suffix}.events`,
      WARDEN_BUS_PARTITIONS: '1',
      WARDEN_PORT: '0',
      WARDEN_DB_POOL: '4',
    };
    // The first gateway creates the keyring and the stream; the others find them.
    for (const args of [['serve'], ['serve']]) {
      const p = spawnWarden(args, env);
      procs.push(p);
      urls.push((await p.waitFor(/"url":"(http:[^"]+)"/, 90_000))[1]!);
    }
    const w = spawnWarden(['watch', '--partition', '0'], env);
    procs.push(w);
    await w.waitFor(/detection worker consuming/, 90_000);

    const url = urls[0]!;
    for (const code of ['WR-1', 'WR-2']) expect((await call(url, 'POST', '/api/v1/sites', admin, { code, kind: 'outlet', city: '北京' })).status).toBe(201);
    expect((await call(url, 'POST', '/api/v1/accounts', admin, { id: 'walker', role: 'courier', site: 'WR-1', password: 'pw-walker-secret' })).status).toBe(201);
    // Waybill 0 is the courier's own work; 100…105 are parcels of another outlet (nothing explains
    // them: not its site, not its work) with near-sequential numbers.
    for (const i of [0, ...WALK]) {
      expect((await call(url, 'POST', '/api/v1/waybills', admin, { waybill: waybillNo(i), origin_site: 'WR-2', dest_site: 'WR-2', sender: party(i + 5000), recipient: party(i) })).status).toBe(201);
    }
    expect((await call(url, 'POST', '/api/v1/assignments', admin, { waybill: waybillNo(0), account: 'walker', task: 'delivery' })).status).toBe(201);
    const session = await call(urls[1]!, 'POST', '/api/v1/sessions', undefined, { account: 'walker', password: 'pw-walker-secret', device: 'walker-pda' });
    expect(session.status).toBe(201);
    token = session.body.token;
  }, 300_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
    await t?.dispose();
    if (nc) {
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });

  const ownReveal = (url: string) => call(url, 'POST', `/api/v1/waybills/${waybillNo(0)}/reveal`, token, { fields: ['recipient.phone'], purpose: 'delivery' });

  it('the worker suspends the account and both gateways refuse its very next request', async () => {
    // Allowed before: its own parcel, at both gateways.
    for (const url of urls) expect((await ownReveal(url)).status).toBe(200);
    // Walking the neighbours' numbers: each refused (no work behind it) and audited → the stream → the worker.
    // (The suspension may land while it walks: then the rest are refused as suspended.)
    for (const i of WALK) {
      const r = await call(urls[i % 2]!, 'POST', `/api/v1/waybills/${waybillNo(i)}/reveal`, token, { fields: ['recipient.phone'], purpose: 'delivery' });
      expect(['no_work_context', 'account_suspended']).toContain(r.body.error.code);
    }
    // Committed by the worker: read from the database itself, not through a gateway.
    const db = t.store.db;
    const until = Date.now() + 60_000;
    for (;;) {
      const a = await db.selectFrom('accounts').select('status').where('id', '=', 'walker').executeTakeFirstOrThrow();
      if (a.status === 'suspended') break;
      if (Date.now() > until) throw new Error('the worker did not suspend the account within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The very next request at each gateway, with no wait.
    const next = await Promise.all(urls.map((url) => ownReveal(url)));
    for (const r of next) {
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('account_suspended');
    }
    // The response is recorded right after the suspension it made.
    let response;
    while (!(response = await db.selectFrom('account_responses').select(['action', 'alert_id']).where('account', '=', 'walker').executeTakeFirst())) {
      if (Date.now() > until) throw new Error('the worker did not record its response within 60 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(response.action).toBe('suspend');
    const alert = await db.selectFrom('alerts').select(['detector', 'response']).where('id', '=', response!.alert_id!).executeTakeFirstOrThrow();
    expect(alert).toEqual({ detector: 'enumeration', response: 'suspend' });
  }, 120_000);
});
