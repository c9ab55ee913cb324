#!/usr/bin/env node
// Soak: a bounded, loopback-only run of `warden serve` at a steady reveal rate (open loop: requests
// are sent on a schedule, whatever the answers do), sampling the server's RSS, then verifying the
// audit trail. Prints per-minute latency, errors, memory and the RSS ratio last minute / first
// minute (flat memory ≈ 1.0), and the achieved rate as a ratio of the target.
// Usage: npm run build && node bench/soak.mjs [--minutes 3] [--rate 200] [--backend pglite|postgres] [--detect off|on]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { api, arg, dropDatabase, freshDatabase, startChild, stopChild } from './support.mjs';

const MINUTES = Number(arg('minutes', 3));
const RATE = Number(arg('rate', 200));
const BACKEND = arg('backend', 'pglite');
// Detection on: 20 clerks each revealing hundreds of records a minute with no work behind them is
// what the engine exists to stop, so its responses (403) appear within minutes; off measures the path alone.
const DETECT = arg('detect', 'off');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const ROOT = new URL('..', import.meta.url).pathname;
const CLERKS = 20;
const WAYBILLS = 2000;

const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};
const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const dir = mkdtempSync(join(tmpdir(), 'warden-soak-'));
const admin = randomBytes(16).toString('hex');
const policy = join(dir, 'policy.json');
const big = { per_minute: 1_000_000, per_hour: 10_000_000, per_day: 100_000_000 };
writeFileSync(policy, JSON.stringify({ quotas: { outlet_staff: { account: big, device: big, site: big } } }));
const env = { WARDEN_ADMIN_TOKEN: admin, WARDEN_MASTER_KEY: randomBytes(32).toString('base64'), WARDEN_PORT: '0', WARDEN_LOG_LEVEL: 'info', WARDEN_POLICY_FILE: policy, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_DETECT: DETECT };
let dbName;
if (BACKEND === 'postgres') {
  dbName = `warden_soak_${process.pid}`;
  env.WARDEN_DATABASE_URL = await freshDatabase(PG_ADMIN, dbName);
}

const { child, url } = await startChild([join(ROOT, 'bin', 'warden.js'), 'serve'], env);
try {
  await api(url, 'POST', '/api/v1/sites', admin, { code: 'SOAK-1', kind: 'outlet', city: '北京' });
  await api(url, 'POST', '/api/v1/accounts', admin, { id: 'soak-svc', role: 'service', site: null });
  const service = (await api(url, 'POST', '/api/v1/accounts/soak-svc/tokens', admin)).token;
  const tokens = [];
  for (let c = 0; c < CLERKS; c++) {
    await api(url, 'POST', '/api/v1/accounts', admin, { id: `clerk${c}`, role: 'outlet_staff', site: 'SOAK-1', password: 'soak-password' });
    tokens.push((await api(url, 'POST', '/api/v1/sessions', null, { account: `clerk${c}`, password: 'soak-password', device: `pc-${c}` })).token);
  }
  for (let i = 0; i < WAYBILLS; i++) {
    await api(url, 'POST', '/api/v1/waybills', service, {
      waybill: `SF${String(900000000000 + i)}`,
      origin_site: 'SOAK-1',
      dest_site: 'SOAK-1',
      sender: { name: '欧阳小明', phone: `138${String(10000000 + i)}`, address: '上海市浦东新区世纪大道100号' },
      recipient: { name: '王小明', phone: `139${String(10000000 + i)}`, address: '北京市朝阳区建国路88号3号楼2单元501室' },
    });
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const target = new URL(url);
  const minutes = Array.from({ length: MINUTES }, () => ({ lat: [], statuses: {}, rss: [] }));
  const t0 = performance.now();
  const end = t0 + MINUTES * 60_000;
  let sent = 0;
  let inflight = 0;
  const one = (i) => {
    const w = i % WAYBILLS;
    const body = JSON.stringify({ fields: ['recipient.phone'], purpose: 'pickup' });
    const started = performance.now();
    const bucket = minutes[Math.min(MINUTES - 1, Math.floor((started - t0) / 60_000))];
    inflight++;
    const req = http.request({ agent, host: target.hostname, port: target.port, method: 'POST', path: `/api/v1/waybills/SF${900000000000 + w}/reveal`, headers: { authorization: `Bearer ${tokens[i % CLERKS]}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        inflight--;
        bucket.lat.push(performance.now() - started);
        bucket.statuses[res.statusCode] = (bucket.statuses[res.statusCode] ?? 0) + 1;
      });
    });
    req.on('error', () => {
      inflight--;
      bucket.statuses.error = (bucket.statuses.error ?? 0) + 1;
    });
    req.end(body);
  };
  const sampler = setInterval(() => {
    const m = minutes[Math.min(MINUTES - 1, Math.floor((performance.now() - t0) / 60_000))];
    m.rss.push(rssMb(child.pid));
  }, 5000);
  // Open loop: every 10 ms, send what the schedule says is due.
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (now >= end) {
        clearInterval(tick);
        return resolve();
      }
      const due = Math.floor(((now - t0) / 1000) * RATE);
      while (sent < due) one(sent++);
    }, 10);
  });
  clearInterval(sampler);
  while (inflight > 0) await new Promise((r) => setTimeout(r, 50));
  const verify = await fetch(`${url}/api/v1/audit/verify`, { headers: { authorization: `Bearer ${admin}` } }).then((r) => r.json());

  console.log(`\nsoak on ${BACKEND}: ${MINUTES} min at a target of ${RATE} reveals/s (open loop), ${CLERKS} clerks over ${WAYBILLS} waybills, detection ${DETECT}\n`);
  console.log('| minute | answered | p50 ms | p99 ms | statuses | server RSS MB (min–max) |');
  console.log('|---:|---:|---:|---:|---|---|');
  minutes.forEach((m, i) => {
    console.log(`| ${i + 1} | ${m.lat.length} | ${pct(m.lat, 50).toFixed(1)} | ${pct(m.lat, 99).toFixed(1)} | ${JSON.stringify(m.statuses)} | ${Math.min(...m.rss).toFixed(0)}–${Math.max(...m.rss).toFixed(0)} |`);
  });
  const answered = minutes.reduce((n, m) => n + m.lat.length, 0);
  const errors = minutes.reduce((n, m) => n + Object.entries(m.statuses).filter(([s]) => s !== '200').reduce((a, [, c]) => a + c, 0), 0);
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(`\nachieved ${(answered / (MINUTES * 60)).toFixed(1)} reveals/s = ${(answered / (MINUTES * 60) / RATE).toFixed(3)} × target; non-200 answers: ${errors}`);
  console.log(`RSS last minute / first minute: ${(avg(minutes.at(-1).rss) / avg(minutes[0].rss)).toFixed(3)} (flat ≈ 1.0)`);
  console.log(`audit verify: ${JSON.stringify(verify)}`);
  if (!verify.ok || errors) process.exitCode = 1;
} finally {
  await stopChild(child);
  rmSync(dir, { recursive: true, force: true });
  if (dbName) await dropDatabase(PG_ADMIN, dbName);
}
