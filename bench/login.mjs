// Logins per second (password + device credential + session, audited) on PGlite and PostgreSQL,
// as a ratio to the nearest limit measured in the same run: bare scrypt password verifications
// per second at the same concurrency (the work a login cannot skip). Also the first login of each
// account, which enrols its device. Usage: npm run build && node bench/login.mjs [--seconds 8]
//   [--concurrency 16] [--accounts 200] [--backends pglite,postgres] [--pg postgres://…/test]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { load } from './load.mjs';
import { api, arg, concurrently, dropDatabase, freshDatabase, startChild, stopChild } from './support.mjs';

const SECONDS = Number(arg('seconds', 8));
const CONCURRENCY = Number(arg('concurrency', 16));
const ACCOUNTS = Number(arg('accounts', 200));
const BACKENDS = arg('backends', 'pglite,postgres').split(',');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const ROOT = new URL('..', import.meta.url).pathname;
const PASSWORD = 'bench-password';

/** The limit: scrypt verifications per second in this process, `CONCURRENCY` at a time. */
async function benchScrypt() {
  const { hashPassword, verifyPassword } = await import(join(ROOT, 'dist', 'vault', 'crypto.js'));
  const hash = await hashPassword(PASSWORD);
  let n = 0;
  const run = async (seconds) => {
    n = 0;
    const deadline = performance.now() + seconds * 1000;
    const t = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        if (!(await verifyPassword(PASSWORD, hash))) throw new Error('scrypt mismatch');
        n++;
      }
    }));
    return n / ((performance.now() - t) / 1000);
  };
  await run(1);
  return run(SECONDS);
}

async function benchWarden(backend) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const admin = randomBytes(16).toString('hex');
  let dbName;
  const env = { WARDEN_ADMIN_TOKEN: admin, WARDEN_MASTER_KEY: randomBytes(32).toString('base64'), WARDEN_PORT: '0', WARDEN_LOG_LEVEL: 'info', WARDEN_DATA_DIR: join(dir, 'data'), WARDEN_DB_POOL: '16', WARDEN_DETECT: 'off' };
  if (backend === 'postgres') {
    dbName = `warden_bench_login_${process.pid}`;
    env.WARDEN_DATABASE_URL = await freshDatabase(PG_ADMIN, dbName);
  }
  const { child, url } = await startChild([join(ROOT, 'bin', 'warden.js'), 'serve'], env);
  try {
    await api(url, 'POST', '/api/v1/sites', admin, { code: 'OUT-1', kind: 'outlet', city: '北京' });
    await concurrently(ACCOUNTS, 8, (i) => api(url, 'POST', '/api/v1/accounts', admin, { id: `c${i}`, role: 'courier', site: 'OUT-1', password: PASSWORD }));
    // First logins: each enrols its device (a credential comes back once, when the server issues them).
    const credentials = [];
    const t0 = performance.now();
    await concurrently(ACCOUNTS, CONCURRENCY, async (i) => {
      credentials[i] = (await api(url, 'POST', '/api/v1/sessions', null, { account: `c${i}`, password: PASSWORD, device: `pda-${i}` })).device_credential;
    });
    const firstPerSecond = ACCOUNTS / ((performance.now() - t0) / 1000);
    const request = (i) => {
      const a = i % ACCOUNTS;
      return { method: 'POST', path: '/api/v1/sessions', body: { account: `c${a}`, password: PASSWORD, device: `pda-${a}`, ...(credentials[a] ? { device_credential: credentials[a] } : {}) } };
    };
    await load({ url, seconds: 2, concurrency: CONCURRENCY, makeRequest: request });
    const steady = await load({ url, seconds: SECONDS, concurrency: CONCURRENCY, makeRequest: request });
    return { steady, firstPerSecond };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    if (dbName) await dropDatabase(PG_ADMIN, dbName);
  }
}

const limit = await benchScrypt();
const rows = [];
for (const b of BACKENDS) {
  try {
    rows.push([b, await benchWarden(b)]);
  } catch (err) {
    console.error(`${b}: ${err.message}`);
  }
}
console.log(`\nconcurrency ${CONCURRENCY}, ${SECONDS} s per run, ${ACCOUNTS} accounts; limit: ${limit.toFixed(0)} scrypt verifications/s in one process\n`);
console.log('| run | logins/s | ratio to scrypt | p50 ms | p99 ms | first logins/s (device enrolment) | statuses |');
console.log('|---|---:|---:|---:|---:|---:|---|');
for (const [name, r] of rows) {
  console.log(`| ${name} | ${r.steady.rps.toFixed(0)} | ${(r.steady.rps / limit).toFixed(3)} | ${r.steady.p50.toFixed(1)} | ${r.steady.p99.toFixed(1)} | ${r.firstPerSecond.toFixed(0)} | ${JSON.stringify(r.steady.statuses)} |`);
}
