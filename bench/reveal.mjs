// Audited reveals per second and p99 latency on PGlite and PostgreSQL, each as a ratio to a bare
// Fastify route measured in the same run, and the server process's CPU time per request (user +
// system, from /proc; steadier than req/s on a shared machine whose load generator runs beside the
// server; on PostgreSQL the database's CPU is a column of its own: the backends serving the bench
// database, from /proc, and its statements per request, from pg_stat_database); and the cost of field encryption as a ratio to storing plaintext.
// Usage: npm run build && node bench/reveal.mjs [--seconds 8] [--concurrency 32]
//   [--backends pglite,postgres] [--pg postgres://postgres@127.0.0.1:5432/test] [--profile DIR]
//   [--root DIR] [--repeat N]
// --root DIR also runs the build in DIR (a built checkout, e.g. a worktree of main) as "before",
// alternating with this checkout's build in the same run; --repeat N does the whole round N times.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { load } from './load.mjs';
import pg from 'pg';
import { api, arg, concurrently, dropDatabase, freshDatabase, startChild, stopChild } from './support.mjs';

const SECONDS = Number(arg('seconds', 8));
const CONCURRENCY = Number(arg('concurrency', 32));
const BACKENDS = arg('backends', 'pglite,postgres').split(',');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const ROOT = new URL('..', import.meta.url).pathname;
const PROFILE = arg('profile', '');
const BEFORE_ROOT = arg('root', '');
const REPEAT = Number(arg('repeat', 1));
const COURIERS = 40;
const WAYBILLS = 2000;

/** CPU seconds (user + system) the process has used so far; null where /proc is not there. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of each PostgreSQL backend serving database `name` (the server is on this machine). */
async function backendCpu(name) {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try {
    const { rows } = await c.query('select pid from pg_stat_activity where datname = $1', [name]);
    return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]).filter(([, s]) => s !== null));
  } finally {
    await c.end();
  }
}

/**
 * Transactions PostgreSQL counted for database `name` (pg_stat_database): each reveal statement
 * runs on its own, so this counts statements. A backend reports its counts when it goes idle, at
 * most once a second: read after a pause.
 */
async function transactions(name) {
  await new Promise((r) => setTimeout(r, 2500));
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try {
    const { rows } = await c.query('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [name]);
    return Number(rows[0]?.n ?? NaN);
  } finally {
    await c.end();
  }
}

/** The measured run, with the server's CPU time per request in µs (and, given a database, its backends' and its statements per request). */
async function measured(child, options, dbName) {
  const xactBefore = dbName ? await transactions(dbName) : NaN;
  const pgBefore = dbName ? await backendCpu(dbName) : null;
  const before = cpuSeconds(child.pid);
  const r = await load(options);
  const after = cpuSeconds(child.pid);
  let pgCpuUs = NaN;
  let statements = NaN;
  if (dbName) {
    // A backend that appeared during the run counts from zero; one that left is missed (the pool keeps them under load).
    const pgAfter = await backendCpu(dbName);
    let sum = 0;
    for (const [pid, s] of pgAfter) sum += s - (pgBefore.get(pid) ?? 0);
    pgCpuUs = (sum * 1e6) / r.requests;
    // Includes whatever else the server runs meanwhile (background sweeps): a small overcount.
    statements = ((await transactions(dbName)) - xactBefore) / r.requests;
  }
  return { ...r, cpuUs: before === null || after === null ? NaN : ((after - before) * 1e6) / r.requests, pgCpuUs, statements };
}

function phone(i) {
  return `139${String(10000000 + i).padStart(8, '0')}`;
}

async function benchBare() {
  const { child, url } = await startChild([join(ROOT, 'bench', 'bare-server.mjs')], {});
  try {
    await load({ url, seconds: 2, concurrency: CONCURRENCY, makeRequest: () => ({ method: 'POST', path: '/bare', body: { fields: ['recipient.phone'], purpose: 'delivery' } }) });
    return await measured(child, { url, seconds: SECONDS, concurrency: CONCURRENCY, makeRequest: () => ({ method: 'POST', path: '/bare', body: { fields: ['recipient.phone'], purpose: 'delivery' } }) });
  } finally {
    child.kill('SIGTERM');
  }
}

async function benchWarden(backend, root) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const admin = randomBytes(16).toString('hex');
  const policy = join(dir, 'policy.json');
  const big = { per_minute: 1_000_000, per_hour: 10_000_000, per_day: 100_000_000 };
  writeFileSync(policy, JSON.stringify({ quotas: { courier: { account: big, device: big, site: big } } }));
  let dbName;
  const env = { WARDEN_ADMIN_TOKEN: admin, WARDEN_MASTER_KEY: randomBytes(32).toString('base64'), WARDEN_PORT: '0', WARDEN_LOG_LEVEL: 'info', WARDEN_POLICY_FILE: policy, WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_DB_POOL: '16' };
  if (backend === 'postgres') {
    dbName = `warden_bench_${process.pid}`;
    env.WARDEN_DATABASE_URL = await freshDatabase(PG_ADMIN, dbName);
  }
  // --profile DIR: the server writes a V8 CPU profile there when it stops (open it in Chrome's DevTools).
  const prof = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : [];
  const { child, url } = await startChild([...prof, join(root, 'bin', 'warden.js'), 'serve'], env);
  try {
    await api(url, 'POST', '/api/v1/sites', admin, { code: 'OUT-1', kind: 'outlet', city: '北京' });
    const tokens = [];
    for (let c = 0; c < COURIERS; c++) {
      await api(url, 'POST', '/api/v1/accounts', admin, { id: `c${c}`, role: 'courier', site: 'OUT-1', password: 'bench-password' });
      tokens.push((await api(url, 'POST', '/api/v1/sessions', null, { account: `c${c}`, password: 'bench-password', device: `pda-${c}` })).token);
    }
    await concurrently(WAYBILLS, 8, (i) =>
      api(url, 'POST', '/api/v1/waybills', admin, {
        waybill: `SF${String(100000000000 + i)}`,
        origin_site: 'OUT-1',
        dest_site: 'OUT-1',
        sender: { name: '欧阳小明', phone: phone(i + 500000), address: '上海市浦东新区世纪大道100号5号楼1单元1201室' },
        recipient: { name: '王小明', phone: phone(i), address: '北京市朝阳区建国路88号3号楼2单元501室' },
      }),
    );
    await concurrently(WAYBILLS, 8, (i) =>
      api(url, 'POST', '/api/v1/assignments', admin, { waybill: `SF${String(100000000000 + i)}`, account: `c${i % COURIERS}`, task: 'delivery' }),
    );
    const request = (i) => {
      const w = i % WAYBILLS;
      return { method: 'POST', path: `/api/v1/waybills/SF${String(100000000000 + w)}/reveal`, headers: { authorization: `Bearer ${tokens[w % COURIERS]}` }, body: { fields: ['recipient.phone', 'recipient.name'], purpose: 'delivery' } };
    };
    await load({ url, seconds: 2, concurrency: CONCURRENCY, makeRequest: request });
    return await measured(child, { url, seconds: SECONDS, concurrency: CONCURRENCY, makeRequest: request }, dbName);
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    if (dbName) await dropDatabase(PG_ADMIN, dbName);
  }
}

async function benchEncryption() {
  const { encryptField, generateKey, blindIndex } = await import(join(ROOT, 'dist', 'vault', 'crypto.js'));
  const dek = generateKey();
  const bidx = generateKey();
  const fields = { name: '王小明', phone: '13900001111', address: '北京市朝阳区建国路88号3号楼2单元501室' };
  const N = 200_000;
  const time = (fn) => {
    for (let i = 0; i < 10_000; i++) fn(i);
    const t = performance.now();
    for (let i = 0; i < N; i++) fn(i);
    return (performance.now() - t) / N;
  };
  let sink = 0;
  const plain = time((i) => {
    for (const [k, v] of Object.entries(fields)) sink += Buffer.from(v + i, 'utf8').length + k.length;
  });
  const enc = time((i) => {
    for (const [k, v] of Object.entries(fields)) sink += encryptField(dek, v + i, `warden/field/v1|SF${i}|recipient|${k}`).length;
    sink += blindIndex(bidx, 'phone', fields.phone).length;
  });
  return { plainUs: plain * 1000, encUs: enc * 1000, sink };
}

const builds = BEFORE_ROOT ? [['before', BEFORE_ROOT], ['this build', ROOT]] : [['', ROOT]];
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '–');
console.log(`\nconcurrency ${CONCURRENCY}, ${SECONDS} s per run, ${COURIERS} couriers over ${WAYBILLS} waybills${BEFORE_ROOT ? `; before = ${BEFORE_ROOT}` : ''}`);
for (let rep = 0; rep < REPEAT; rep++) {
  const rows = [];
  const bare = await benchBare();
  rows.push(['bare Fastify route', bare]);
  // Alternate which build goes first, so neither always runs on the warmer (or busier) machine.
  const order = rep % 2 ? [...builds].reverse() : builds;
  for (const b of BACKENDS) {
    for (const [label, root] of order) {
      try {
        rows.push([`audited reveal (${b})${label ? `, ${label}` : ''}`, await benchWarden(b, root)]);
      } catch (err) {
        console.error(`${b} ${label}: ${err.message}`);
      }
    }
  }
  console.log(`\nround ${rep + 1} of ${REPEAT}\n`);
  console.log('| run | req/s | ratio to bare | p50 ms | p99 ms | p99 ratio | server CPU µs/req | CPU ratio | PostgreSQL CPU µs/req | PostgreSQL statements/req | statuses |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [name, r] of rows) {
    console.log(`| ${name} | ${r.rps.toFixed(0)} | ${(r.rps / bare.rps).toFixed(3)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p99 / bare.p99).toFixed(1)}× | ${fmt(r.cpuUs)} | ${(r.cpuUs / bare.cpuUs).toFixed(1)}× | ${fmt(r.pgCpuUs)} | ${fmt(r.statements, 2)} | ${JSON.stringify(r.statuses)} |`);
  }
}
const e = await benchEncryption();
console.log(`\nfield encryption: ${e.encUs.toFixed(2)} µs per party (3 AES-256-GCM fields + 1 blind index) vs ${e.plainUs.toFixed(2)} µs storing the same plaintext bytes: ratio ${(e.encUs / e.plainUs).toFixed(1)}×`);
