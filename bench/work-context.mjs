// The reveal path's one query: routing + ciphertext, carrying the work context's answer for the
// asking account (assignments, open tickets, search grants; a case's standing when one is named).
// Measured against the nearest limit in the same run: the same fetch carrying nothing. Blocks
// alternate (A B A B …) so load on a shared machine falls on both alike; medians per query.
// Usage: npm run build && node bench/work-context.mjs [--queries 3000] [--backends pglite,postgres]
//   [--pg postgres://postgres@127.0.0.1:5432/test]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, dropDatabase, freshDatabase } from './support.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const QUERIES = Number(arg('queries', 3000));
const BACKENDS = arg('backends', 'pglite,postgres').split(',');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const WAYBILLS = 2000;
const ACCOUNTS = 40;
const BLOCK = 100;

const { openStore } = await import(join(ROOT, 'dist/store/db.js'));
const { createPiiDecryptor } = await import(join(ROOT, 'dist/vault/vault.js'));
const { createWorkContext, NO_WORK } = await import(join(ROOT, 'dist/access/work-context.js'));
const { sql } = await import('kysely');

async function fill(db) {
  const now = new Date();
  const wb = (i) => `SF${100000000000 + i}`;
  for (let i = 0; i < WAYBILLS; i += 500) {
    const ids = Array.from({ length: Math.min(500, WAYBILLS - i) }, (_, k) => i + k);
    await db.insertInto('waybills').values(ids.map((n) => ({ waybill: wb(n), origin_site: 'OUT-1', dest_site: 'OUT-1', origin_city: '北京', dest_city: '北京', masked: '{}', label: '{}', created_at: now }))).execute();
    const bytes = (n) => Buffer.alloc(n, 7);
    await db.insertInto('waybill_parties').values(ids.flatMap((n) => ['sender', 'recipient'].map((party) => ({ waybill: wb(n), party, subject_id: bytes(16), name_ct: bytes(40), phone_ct: bytes(40), address_ct: bytes(80), id_number_ct: null, phone_bidx: bytes(16), id_bidx: null })))).execute();
    await db.insertInto('assignments').values(ids.map((n) => ({ waybill: wb(n), account: `c${n % ACCOUNTS}`, task: 'delivery', assigned_at: now, completed_at: null, ended_at: null }))).execute();
    await db.insertInto('tickets').values(ids.filter((n) => n % 10 === 0).map((n) => ({ ticket: `T-${n}`, waybill: wb(n), account: `c${n % ACCOUNTS}`, status: 'open', updated_at: now }))).execute();
    await db.insertInto('search_grants').values(ids.filter((n) => n % 7 === 0).map((n) => ({ account: `c${n % ACCOUNTS}`, waybill: wb(n), party: 'recipient', granted_at: now }))).execute();
  }
  return wb;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function bench(kind) {
  let dir;
  let dbName;
  let store;
  if (kind === 'pglite') {
    dir = mkdtempSync(join(tmpdir(), 'warden-wc-bench-'));
    store = await openStore({ dataDir: dir });
  } else {
    dbName = `warden_wc_bench_${process.pid}`;
    store = await openStore({ databaseUrl: await freshDatabase(PG_ADMIN, dbName), poolSize: 4 });
  }
  try {
    const db = store.db;
    const wb = await fill(db);
    const pii = createPiiDecryptor({ db, keyring: null });
    const work = createWorkContext({ db });
    const nothing = { select: () => sql`null`, parse: () => NO_WORK };
    const runs = {
      'ciphertext only': (i) => pii.fetch(wb(i % WAYBILLS), nothing),
      'ciphertext + work context': (i) => pii.fetch(wb(i % WAYBILLS), work.workOn(`c${i % ACCOUNTS}`, undefined)),
      'ciphertext + work + case': (i) => pii.fetch(wb(i % WAYBILLS), work.workOn(`c${i % ACCOUNTS}`, 'case-none')),
    };
    const times = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
    for (const fn of Object.values(runs)) for (let i = 0; i < 200; i++) await fn(i);
    for (let b = 0; b < QUERIES / BLOCK; b++) {
      for (const [name, fn] of Object.entries(runs)) {
        for (let i = 0; i < BLOCK; i++) {
          const t = performance.now();
          await fn(b * BLOCK + i);
          times[name].push(performance.now() - t);
        }
      }
    }
    const base = median(times['ciphertext only']);
    return Object.entries(times).map(([name, xs]) => ({ name, us: median(xs) * 1000, ratio: median(xs) / base }));
  } finally {
    await store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (dbName) await dropDatabase(PG_ADMIN, dbName);
  }
}

console.log(`\n${QUERIES} queries per form, one at a time, ${WAYBILLS} waybills, ${ACCOUNTS} accounts\n`);
console.log('| backend | query | median µs | ratio to ciphertext only |');
console.log('|---|---|---:|---:|');
for (const kind of BACKENDS) {
  try {
    for (const r of await bench(kind)) console.log(`| ${kind} | ${r.name} | ${r.us.toFixed(0)} | ${r.ratio.toFixed(2)} |`);
  } catch (err) {
    console.error(`${kind}: ${err.message}`);
  }
}
