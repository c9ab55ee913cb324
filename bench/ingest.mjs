// NDJSON ingest throughput: events/s through POST /api/v1/events (validation, producer
// registration and time-window checks, transactions storing the events, applying the work
// context and writing the work audit entries, bus publish) as a ratio to a bare Fastify route
// that parses the same NDJSON, measured in the same run. Meanwhile one courier reveals in a loop:
// its latency shows how long ingest holds up the audit trail (reveals wait for their entry).
// Usage: npm run build && node bench/ingest.mjs [--lines 10000] [--requests 6]
//   [--backends pglite,postgres] [--pg postgres://postgres@127.0.0.1:5432/test]
//   [--warden other/bin/warden.js]   (another build, e.g. the one before a change, for a before/after)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { api, arg, dropDatabase, freshDatabase, startChild, stopChild } from './support.mjs';

const LINES = Number(arg('lines', 10_000));
const REQUESTS = Number(arg('requests', 6));
const BACKENDS = arg('backends', 'pglite,postgres').split(',');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const ROOT = new URL('..', import.meta.url).pathname;
const WARDEN = arg('warden', join(ROOT, 'bin', 'warden.js'));
const COURIERS = 200;
const AGENTS = 20;

/**
 * One request body of `LINES` contract events, the mix an upstream dispatch/ticketing feed sends:
 * per parcel a waybill, an assignment, two scans (every tenth delivered), and every fifth a ticket.
 */
function body(r) {
  const lines = [];
  const ts = () => new Date().toISOString();
  for (let i = 0; lines.length < LINES; i++) {
    const wb = `SF${String(300000000000 + r * 1_000_000 + i)}`;
    const id = (k) => `bench-${r}-${i}-${k}`;
    lines.push(JSON.stringify({ id: id('w'), ts: ts(), type: 'waybill', waybill: wb, origin_site: 'OUT-1', dest_site: 'OUT-1', dest_city: '北京' }));
    lines.push(JSON.stringify({ id: id('a'), ts: ts(), type: 'assign', account: `c${i % COURIERS}`, role: 'courier', site: 'OUT-1', waybill: wb, task: 'delivery' }));
    lines.push(JSON.stringify({ id: id('s1'), ts: ts(), type: 'scan', waybill: wb, op: 'arrive', site: 'OUT-1', device: 'scanner-1' }));
    lines.push(JSON.stringify({ id: id('s2'), ts: ts(), type: 'scan', waybill: wb, op: i % 10 === 0 ? 'delivered' : 'out_for_delivery', site: 'OUT-1', device: 'scanner-1' }));
    if (i % 5 === 0) lines.push(JSON.stringify({ id: id('t'), ts: ts(), type: 'ticket', account: `cs${i % AGENTS}`, role: 'customer_service', site: 'OUT-1', ticket: `T-${r}-${i}`, waybill: wb, status: 'open' }));
  }
  return lines.slice(0, LINES).join('\n') + '\n';
}

async function run(url, path, token) {
  const post = async (r) => {
    const text = body(r);
    const t0 = performance.now();
    const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: text });
    const out = await res.json();
    const ms = performance.now() - t0;
    if (res.status !== 200 || out.accepted !== LINES) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(out).slice(0, 300)}`);
    return { ms, bytes: text.length };
  };
  await post(0); // warm-up
  const times = [];
  let bytes = 0;
  for (let r = 1; r <= REQUESTS; r++) {
    const x = await post(r);
    times.push(x.ms);
    bytes = x.bytes;
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  return { eps: (REQUESTS * LINES * 1000) / total, medianMs: times[Math.floor(times.length / 2)], bytes };
}

/** Sequential reveals until `stop.done`; latency in ms and status counts. */
async function probeReveals(url, token, stop) {
  const ms = [];
  const statuses = {};
  while (!stop.done) {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v1/waybills/SF999900000001/reveal`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ fields: ['recipient.phone'], purpose: 'delivery' }) });
    await res.arrayBuffer();
    ms.push(performance.now() - t0);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  }
  ms.sort((a, b) => a - b);
  return { n: ms.length, p50: ms[Math.floor(ms.length * 0.5)] ?? 0, p99: ms[Math.floor(ms.length * 0.99)] ?? 0, max: ms.at(-1) ?? 0, statuses };
}

async function benchBare() {
  const { child, url } = await startChild([join(ROOT, 'bench', 'bare-ingest-server.mjs')], {});
  try {
    return await run(url, '/bare');
  } finally {
    child.kill('SIGTERM');
  }
}

async function benchWarden(backend) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const admin = randomBytes(16).toString('hex');
  let dbName;
  const policy = join(dir, 'policy.json');
  const big = { per_minute: 1_000_000, per_hour: 10_000_000, per_day: 100_000_000 };
  writeFileSync(policy, JSON.stringify({ quotas: { courier: { account: big, device: big, site: big } } }));
  const env = { WARDEN_ADMIN_TOKEN: admin, WARDEN_MASTER_KEY: randomBytes(32).toString('base64'), WARDEN_PORT: '0', WARDEN_LOG_LEVEL: 'info', WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_DB_POOL: '16', WARDEN_POLICY_FILE: policy };
  if (backend === 'postgres') {
    dbName = `warden_bench_ingest_${process.pid}`;
    env.WARDEN_DATABASE_URL = await freshDatabase(PG_ADMIN, dbName);
  }
  const { child, url } = await startChild([WARDEN, 'serve'], env);
  try {
    await api(url, 'POST', '/api/v1/sites', admin, { code: 'OUT-1', kind: 'outlet', city: '北京' });
    for (let c = 0; c < COURIERS; c++) await api(url, 'POST', '/api/v1/accounts', admin, { id: `c${c}`, role: 'courier', site: 'OUT-1' });
    for (let c = 0; c < AGENTS; c++) await api(url, 'POST', '/api/v1/accounts', admin, { id: `cs${c}`, role: 'customer_service', site: 'OUT-1' });
    await api(url, 'POST', '/api/v1/accounts', admin, { id: 'dispatch', role: 'service' });
    const token = (await api(url, 'POST', '/api/v1/accounts/dispatch/tokens', admin)).token;
    await api(url, 'POST', '/api/v1/accounts', admin, { id: 'probe', role: 'courier', site: 'OUT-1', password: 'probe-password' });
    const party = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
    await api(url, 'POST', '/api/v1/waybills', admin, { waybill: 'SF999900000001', origin_site: 'OUT-1', dest_site: 'OUT-1', sender: party, recipient: party });
    await api(url, 'POST', '/api/v1/assignments', admin, { waybill: 'SF999900000001', account: 'probe', task: 'delivery' });
    const session = (await api(url, 'POST', '/api/v1/sessions', null, { account: 'probe', password: 'probe-password', device: 'probe-pda' })).token;
    const stop = { done: false };
    const probe = probeReveals(url, session, stop);
    const result = await run(url, '/api/v1/events', token).finally(() => (stop.done = true));
    result.reveal = await probe;
    const rss = Number(/resident_memory_bytes (\d+)/.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
    return { ...result, rssMb: rss / 1048576 };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    if (dbName) await dropDatabase(PG_ADMIN, dbName);
  }
}

const rows = [];
const bare = await benchBare();
rows.push(['bare Fastify route (split + JSON.parse)', bare]);
for (const b of BACKENDS) {
  try {
    rows.push([`POST /api/v1/events (${b})`, await benchWarden(b)]);
  } catch (err) {
    console.error(`${b}: ${err.message}`);
  }
}
console.log(`\n${REQUESTS} requests of ${LINES} lines (${(bare.bytes / 1048576).toFixed(2)} MB) each, one at a time, after one warm-up request\n`);
console.log('| run | events/s | ratio to bare | median ms per request | server RSS MB | reveals meanwhile: n, p50 / p99 / max ms |');
console.log('|---|---:|---:|---:|---:|---|');
for (const [name, r] of rows) {
  const rv = r.reveal ? `${r.reveal.n}, ${r.reveal.p50.toFixed(0)} / ${r.reveal.p99.toFixed(0)} / ${r.reveal.max.toFixed(0)} ${JSON.stringify(r.reveal.statuses)}` : '–';
  console.log(`| ${name} | ${r.eps.toFixed(0)} | ${(r.eps / bare.eps).toFixed(3)} | ${r.medianMs.toFixed(0)} | ${r.rssMb ? r.rssMb.toFixed(0) : '–'} | ${rv} |`);
}
