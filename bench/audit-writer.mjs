// The audit writer alone (group commit, chain, Merkle tree, signed heads), on PGlite and
// PostgreSQL, against the nearest limit measured in the same run: the same rows written by plain
// multi-row INSERTs of the same batch size (no chain, no tree, no compare-and-set).
// `--root DIR` runs another build's writer (e.g. a checkout from before a change) beside this one.
// Usage: npm run build && node bench/audit-writer.mjs [--entries 20000] [--concurrency 64]
//   [--backends pglite,postgres] [--pg postgres://postgres@127.0.0.1:5432/test] [--root DIR]
//   [--without-search-indexes]  (also this build without the audit search indexes of migration 0004)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign } from 'node:crypto';
import pg from 'pg';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const ENTRIES = Number(arg('entries', 20000));
const CONCURRENCY = Number(arg('concurrency', 64));
const BACKENDS = arg('backends', 'pglite,postgres').split(',');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const HERE = new URL('..', import.meta.url).pathname;
const ROOTS = [['this build', HERE], ...(process.argv.includes('--without-search-indexes') ? [['this build without the search indexes', HERE, true]] : []), ...(arg('root') ? [[`--root ${arg('root')}`, arg('root')]] : [])];

const { privateKey } = generateKeyPairSync('ed25519');
const signer = { keyId: 'ed25519:bench000000000000', sign: (m) => sign(null, m, privateKey) };
const entry = (i) => ({ kind: 'access.reveal', ts: new Date(), decision: 'allowed', account: `c${i % 40}`, role: 'courier', site: 'OUT-1', device: `pda-${i % 40}`, ip: '10.0.0.1', waybill: `SF${100000000000 + (i % 2000)}`, fields: ['recipient.phone', 'recipient.name'], purpose: 'delivery', requestId: `req-${i}` });

async function freshStore(root, backend) {
  const { openStore } = await import(join(root, 'dist', 'store', 'db.js'));
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'warden-bench-aw-'));
    const store = await openStore({ dataDir: dir });
    return { store, drop: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const name = `warden_bench_aw_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  const store = await openStore({ databaseUrl: u.toString(), poolSize: 16 });
  return {
    store,
    drop: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: PG_ADMIN });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function run(concurrency, count, appendOne) {
  let next = 0;
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await appendOne(next++);
  }));
  return count / ((performance.now() - t) / 1000);
}

async function benchWriter(root, backend, dropSearchIndexes) {
  const { createAuditWriter } = await import(join(root, 'dist', 'audit', 'writer.js'));
  const { createMetrics } = await import(join(root, 'dist', 'ops', 'metrics.js'));
  const { createLogger } = await import(join(root, 'dist', 'ops', 'logger.js'));
  const { store, drop } = await freshStore(root, backend);
  try {
    if (dropSearchIndexes) {
      const { sql } = await import('kysely');
      await sql`drop index audit_log_by_account_seq`.execute(store.db);
      await sql`drop index audit_log_by_waybill_seq`.execute(store.db);
    }
    // Both option names: the writer before the tree took checkpointEvery, after it headEveryEntries.
    const w = createAuditWriter({ db: store.db, signer, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), checkpointEvery: 1000, headEveryEntries: 1000 });
    await w.init?.();
    await run(CONCURRENCY, 2000, (i) => w.append([entry(i)]));
    return await run(CONCURRENCY, ENTRIES, (i) => w.append([entry(i)]));
  } finally {
    await drop();
  }
}

/** The limit: the same rows, INSERTed in batches as large as the writer's, without chain or tree. */
async function benchPlain(backend) {
  const { sql } = await import('kysely');
  const { store, drop } = await freshStore(HERE, backend);
  try {
    await sql`create table bench_log (like audit_log)`.execute(store.db);
    let seq = 0;
    const queue = [];
    let flushing = null;
    const flush = async () => {
      while (queue.length) {
        const batch = queue.splice(0, 512);
        const rows = batch.map(({ e }) => ({ seq: ++seq, ts: e.ts, kind: e.kind, account: e.account, role: e.role, site: e.site, device: e.device, ip: e.ip, waybill: e.waybill, fields: e.fields.join(','), purpose: e.purpose, decision: e.decision, request_id: e.requestId, prev_hash: Buffer.alloc(32), hash: Buffer.alloc(32) }));
        await store.db.insertInto('bench_log').values(rows).execute();
        for (const b of batch) b.resolve();
      }
    };
    const append = (e) => new Promise((resolve) => {
      queue.push({ e, resolve });
      if (!flushing) flushing = flush().finally(() => (flushing = null));
    });
    await run(CONCURRENCY, 2000, (i) => append(entry(i)));
    return await run(CONCURRENCY, ENTRIES, (i) => append(entry(i)));
  } finally {
    await drop();
  }
}

const os = await import('node:os');
console.log(`\n${ENTRIES} entries, ${CONCURRENCY} concurrent appenders, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
console.log('| backend | writer | entries/s | ratio to plain INSERT |');
console.log('|---|---|---:|---:|');
for (const backend of BACKENDS) {
  try {
    const plain = await benchPlain(backend);
    console.log(`| ${backend} | plain multi-row INSERT (limit) | ${plain.toFixed(0)} | 1.000 |`);
    for (const [label, root, noIndexes] of ROOTS) {
      const rate = await benchWriter(root, backend, noIndexes);
      console.log(`| ${backend} | audit writer, ${label} | ${rate.toFixed(0)} | ${(rate / plain).toFixed(3)} |`);
    }
  } catch (err) {
    console.error(`${backend}: ${err.message}`);
  }
}
