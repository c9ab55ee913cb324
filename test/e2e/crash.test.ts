/**
 * Crash and outage, on every backend, against the real `warden serve` process:
 * - SIGKILL during concurrent reveals, then a restart on the same store: every reveal answered
 *   200 has its committed audit entry (nothing was revealed without one), the trail verifies,
 *   and the restarted server serves again.
 * - PostgreSQL unreachable under load (a TCP proxy between Warden and the server is cut): reveals
 *   fail closed with 503, `/healthz` says so, and service resumes by itself when it is back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import { createTestStore, testBackends, type TestStore } from '../support/stores.js';
import { callJson as api, startServe } from '../support/services.js';
import { releaseForCli, reopen } from '../support/cli.js';

const WIDE = { per_minute: 1_000_000, per_hour: 1_000_000, per_day: 1_000_000 };
const ACCOUNTS = ['k0', 'k1', 'k2', 'k3'];
const WAYBILLS = 400;
const CLIENTS = 12;

/** One reveal on its own connection; a connection cut by the kill is an error, not an answer. */
function reveal(url: string, token: string, waybill: string): Promise<number | 'cut'> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ fields: ['recipient.phone'], purpose: 'pickup' });
    const req = http.request(`${url}/api/v1/waybills/${waybill}/reveal`, { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve('cut'));
    });
    req.on('error', () => resolve('cut'));
    req.end(body);
  });
}

const waybillNo = (i: number) => `SF8${String(i).padStart(11, '0')}`;

/** Sites, accounts, waybills and sessions for a reveal load. */
async function seed(url: string, admin: string): Promise<Record<string, string>> {
  expect((await api(url, 'POST', '/api/v1/sites', admin, { code: 'CR-1', kind: 'outlet', city: '北京' })).status).toBe(201);
  for (const id of [...ACCOUNTS, 'crsvc']) {
    const body = id === 'crsvc' ? { id, role: 'service', site: null } : { id, role: 'outlet_staff', site: 'CR-1', password: `pw-${id}-secret` };
    expect((await api(url, 'POST', '/api/v1/accounts', admin, body)).status).toBe(201);
  }
  const service = (await api(url, 'POST', '/api/v1/accounts/crsvc/tokens', admin)).body.token as string;
  for (let i = 0; i < WAYBILLS; i++) {
    const r = await api(url, 'POST', '/api/v1/waybills', service, {
      waybill: waybillNo(i),
      origin_site: 'CR-1',
      dest_site: 'CR-1',
      sender: { name: '欧阳小明', phone: '13812345678', address: '上海市浦东新区世纪大道100号' },
      recipient: { name: '王小明', phone: `1370${String(i).padStart(7, '0')}`, address: '北京市朝阳区建国路88号' },
    });
    expect(r.status).toBe(201);
  }
  return login(url);
}

async function login(url: string): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const id of ACCOUNTS) {
    const r = await api(url, 'POST', '/api/v1/sessions', undefined, { account: id, password: `pw-${id}-secret`, device: `${id}-pc` });
    expect(r.status).toBe(201);
    tokens[id] = r.body.token;
  }
  return tokens;
}

/** Runs reveals from CLIENTS loops until `stop()` says so; each waybill is revealed once. */
function load(url: string, tokens: Record<string, string>) {
  const answered = new Map<string, number | 'cut'>();
  let next = 0;
  let stopped = false;
  const done = Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      while (!stopped && next < WAYBILLS) {
        const i = next++;
        answered.set(waybillNo(i), await reveal(url, tokens[ACCOUNTS[c % ACCOUNTS.length]!]!, waybillNo(i)));
      }
    }),
  );
  return { answered, done, stop: () => (stopped = true), count: (status: number) => [...answered.values()].filter((s) => s === status).length };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what = ''): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met in time${what ? `: ${what}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(testBackends())('crash and outage on %s', (backend) => {
  const disposers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const d of disposers.reverse()) await d().catch(() => undefined);
  });

  async function prepare() {
    const t: TestStore = await createTestStore(backend);
    disposers.push(() => t.dispose());
    const cwd = mkdtempSync(join(process.env.WARDEN_TEST_TMP ?? '/tmp', 'crash-'));
    const policy = join(cwd, 'policy.yaml');
    writeFileSync(policy, YAML.stringify({ quotas: { outlet_staff: { account: WIDE, device: WIDE, site: WIDE } } }));
    const admin = 'admin-' + randomBytes(16).toString('hex');
    const env: Record<string, string> = {
      WARDEN_ADMIN_TOKEN: admin,
      WARDEN_MASTER_KEY: randomBytes(32).toString('base64'),
      WARDEN_PORT: '0',
      WARDEN_DETECT: 'off',
      WARDEN_POLICY_FILE: policy,
      WARDEN_AUDIT_CHECKPOINT_EVERY: '25',
      ...(t.options.databaseUrl ? { WARDEN_DATABASE_URL: t.options.databaseUrl } : { WARDEN_DATA_DIR: t.options.dataDir! }),
    };
    await releaseForCli(t);
    return { t, cwd, env, admin };
  }

  it('SIGKILL under concurrent reveals: every 200 has its audit entry, the trail verifies, and it serves again', async () => {
    const { t, cwd, env, admin } = await prepare();
    let server = await startServe(env, { cwd });
    disposers.push(() => server.stop('SIGKILL'));
    const tokens = await seed(server.url, admin);
    const run = load(server.url, tokens);
    await until(() => run.count(200) >= 60, 60_000);
    await server.stop('SIGKILL');
    run.stop();
    await run.done;
    const ok = [...run.answered].filter(([, s]) => s === 200).map(([w]) => w);
    expect(ok.length).toBeGreaterThanOrEqual(60);

    const store = await reopen(t);
    const rows = await store.store.db
      .selectFrom('audit_log')
      .select(['waybill'])
      .where('kind', '=', 'access.reveal')
      .where('decision', '=', 'allowed')
      .execute();
    await store.dispose();
    const audited = new Set(rows.map((r) => r.waybill));
    expect(ok.filter((w) => !audited.has(w))).toEqual([]);

    server = await startServe(env, { cwd });
    disposers.push(() => server.stop('SIGKILL'));
    const verify = await api(server.url, 'GET', '/api/v1/audit/verify', admin);
    expect(verify.status, JSON.stringify(verify.body)).toBe(200);
    expect(verify.body.ok).toBe(true);
    const again = await login(server.url);
    const untouched = waybillNo(WAYBILLS - 1);
    expect(await reveal(server.url, again.k0!, untouched)).toBe(200);
    await server.stop('SIGTERM');
  }, 240_000);

  it.runIf(backend === 'postgres')('PostgreSQL unreachable under load: reveals fail closed with 503, and service resumes by itself', async () => {
    const { t, cwd, env, admin } = await prepare();
    const target = new URL(t.options.databaseUrl!);
    const proxy = await tcpProxy(Number(target.port || 5432), target.hostname);
    disposers.push(() => proxy.close());
    const proxied = new URL(target.toString());
    proxied.port = String(proxy.port);
    env.WARDEN_DATABASE_URL = proxied.toString();
    const server = await startServe(env, { cwd });
    disposers.push(() => server.stop('SIGKILL'));
    const tokens = await seed(server.url, admin);

    const run = load(server.url, tokens);
    await until(() => run.count(200) >= 30, 60_000);
    proxy.cut();
    const before = run.count(200);
    const statuses = () => JSON.stringify(Object.fromEntries([...new Set(run.answered.values())].map((s) => [s, [...run.answered.values()].filter((x) => x === s).length])));
    await until(() => run.count(503) >= 20, 60_000, `20 answers 503 while the database is cut (seen ${statuses()})`);
    const health = await api(server.url, 'GET', '/healthz');
    expect(health.status).toBe(503);
    const unexpected = [...run.answered.values()].filter((s) => s !== 200 && s !== 503);
    expect(unexpected).toEqual([]);
    proxy.restore();
    await until(async () => (await api(server.url, 'GET', '/healthz')).status === 200, 60_000);
    await until(() => run.count(200) > before + 20 || run.answered.size >= WAYBILLS, 60_000);
    run.stop();
    await run.done;
    const verify = await api(server.url, 'GET', '/api/v1/audit/verify', admin);
    expect(verify.body.ok, JSON.stringify(verify.body)).toBe(true);
    // Every 200 (before, during and after the outage) is on record.
    const ok = [...run.answered].filter(([, s]) => s === 200).map(([w]) => w);
    const pgStore = await reopen(t);
    const rows = await pgStore.store.db.selectFrom('audit_log').select('waybill').where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').execute();
    const audited = new Set(rows.map((r) => r.waybill));
    expect(ok.filter((w) => !audited.has(w))).toEqual([]);
    await server.stop('SIGTERM');
  }, 240_000);
});

/** A TCP proxy that can be cut (existing connections reset, new ones refused) and restored. */
async function tcpProxy(targetPort: number, targetHost: string) {
  const sockets = new Set<net.Socket>();
  let up = true;
  const server = net.createServer((client) => {
    if (!up) return client.destroy();
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cut() {
      up = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      up = true;
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
