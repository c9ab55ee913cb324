// The PIPL module's hot paths (issue 12), each against the nearest limit measured in the same run:
//  1. access report for one person over many audit entries — limit: the bare indexed count of
//     the same audit rows (the report cannot read less);
//  2. retention purge rate — limit: the same rows' ciphertexts nulled by plain batched UPDATEs
//     (no audit entry, no masked-view rewrite);
//  3. breach report for a 100,000-record incident — limit: one bare SQL query counting the
//     records and people the report finds.
// Audit rows are generated with generate_series (not chained: the report reads, it does not
// verify), so tens of millions fit in seconds on PostgreSQL.
// Usage: npm run build && node bench/pipl.mjs [--audit 2000000] [--purge 20000] [--breach 100000]
//   [--parts retention,access,breach] [--pg postgres://postgres@127.0.0.1:5432/test]
import { randomBytes, sign, generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { arg, dropDatabase, freshDatabase } from './support.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const AUDIT = Number(arg('audit', 2_000_000));
const PURGE = Number(arg('purge', 20_000));
const BREACH = Number(arg('breach', 100_000));
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const PARTS = arg('parts', 'retention,access,breach').split(',');
const PERSON_WAYBILLS = 50;
const DAY = 86_400_000;

const { openStore } = await import(join(ROOT, 'dist/store/db.js'));
const { loadKeyring, masterKeyFrom } = await import(join(ROOT, 'dist/vault/keyring.js'));
const { blindIndex } = await import(join(ROOT, 'dist/vault/crypto.js'));
const { createAuditWriter } = await import(join(ROOT, 'dist/audit/writer.js'));
const { createMetrics } = await import(join(ROOT, 'dist/ops/metrics.js'));
const { createLogger } = await import(join(ROOT, 'dist/ops/logger.js'));
const { createSubjects } = await import(join(ROOT, 'dist/pipl/subjects.js'));
const { createAccessReports, accessReportMarkdown } = await import(join(ROOT, 'dist/pipl/access-report.js'));
const { createRetention, DEFAULT_RETENTION } = await import(join(ROOT, 'dist/pipl/retention.js'));
const { createBreachReports, breachReportDoc } = await import(join(ROOT, 'dist/pipl/breach.js'));
const { toMarkdown } = await import(join(ROOT, 'dist/pipl/document.js'));
const { toPdf } = await import(join(ROOT, 'dist/pipl/pdf.js'));
const { toDocx } = await import(join(ROOT, 'dist/pipl/docx.js'));
const { sql } = await import('kysely');

const clock = { now: () => Date.now() };
const ms = (t) => performance.now() - t;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const { privateKey } = generateKeyPairSync('ed25519');
const signer = { keyId: 'ed25519:bench000000000000', sign: (m) => sign(null, m, privateKey) };
const VIEW = JSON.stringify({ sender: { name: '张*', phone: '138****0000', address: '北京市朝阳区****' }, recipient: { name: '李*', phone: '139****0000', address: '上海市浦东新区****' } });
const ct = "'\\x0102030405060708090a0b0c0d0e0f10'::bytea";

async function main() {
  const name = `warden_pipl_bench_${process.pid}`;
  const url = await freshDatabase(PG_ADMIN, name);
  const store = await openStore({ databaseUrl: url, poolSize: 4 });
  const db = store.db;
  try {
    const keyring = await loadKeyring(db, [masterKeyFrom(randomBytes(32))]);
    const audit = createAuditWriter({ db, signer, metrics: createMetrics(), logger: createLogger({ level: 'silent' }), checkpointEvery: 1000, headEveryEntries: 1000 });
    await audit.init?.();
    let t = 0;
    console.log(`PIPL bench on PostgreSQL (load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')})`);

    // ---- 2. retention purge (first: it appends real, chained audit entries)
    if (PARTS.includes('retention')) {
    const old = new Date(Date.now() - 400 * DAY).toISOString();
    const waybillsForPurge = PURGE / 2;
    await sql.raw(`insert into waybills select 'RT' || lpad(i::text, 12, '0'), 'S', 'S', null, null, '${VIEW}'::jsonb, '${VIEW}'::jsonb, '${old}'::timestamptz from generate_series(1, ${waybillsForPurge}) i`).execute(db);
    for (const party of ['sender', 'recipient']) {
      await sql.raw(`insert into waybill_parties (waybill, party, subject_id, name_ct, phone_ct, address_ct, id_number_ct, phone_bidx, id_bidx) select 'RT' || lpad(i::text, 12, '0'), '${party}', ${ct}, ${ct}, ${ct}, ${ct}, ${party === 'sender' ? ct : 'null'}, ${ct}, null from generate_series(1, ${waybillsForPurge}) i`).execute(db);
    }
    await sql`analyze`.execute(db);
    const retention = createRetention({ db, audit, clock, policy: DEFAULT_RETENTION });
    t = performance.now();
    const purged = await retention.run({ actor: 'bench', batchSize: 500 });
    const purgeMs = ms(t);
    const fields = Object.values(purged.purged).reduce((a, b) => a + b, 0);
    // The limit: the same rows' ciphertexts nulled in the same batches, nothing else.
    await sql.raw(`update waybill_parties set name_ct = ${ct}, phone_ct = ${ct}, address_ct = ${ct} where waybill like 'RT%'`).execute(db);
    t = performance.now();
    for (let i = 1; i <= waybillsForPurge; i += 250) {
      await sql.raw(`update waybill_parties set name_ct = null, phone_ct = null, address_ct = null, id_number_ct = null where waybill between 'RT${String(i).padStart(12, '0')}' and 'RT${String(Math.min(i + 249, waybillsForPurge)).padStart(12, '0')}'`).execute(db);
    }
    const bareMs = ms(t);
    console.log(`retention: ${fmt(purged.records)} rows (${fmt(fields)} fields) in ${purged.batches} audited batches, ${fmt(purgeMs)} ms = ${fmt(purged.records / (purgeMs / 1000))} rows/s (${fmt(fields / (purgeMs / 1000))} fields/s); bare batched UPDATEs ${fmt(bareMs)} ms = ${fmt(purged.records / (bareMs / 1000))} rows/s → ${(bareMs / purgeMs).toFixed(3)} × bare; longest a reveal waits: one batch ≈ ${fmt(purgeMs / purged.batches)} ms`);

    }
    // ---- 1. access report over AUDIT entries
    const base = 1_000_000_000;
    if (PARTS.includes('access')) {
    const W = Math.max(PERSON_WAYBILLS * 10, Math.floor(AUDIT / 20));
    t = performance.now();
    // A bulk load builds the secondary indexes once, after the rows (as a restore would): kept
    // during the insert, each million costs ~75 s of index maintenance on this machine.
    const indexes = (await sql`select indexname, indexdef from pg_indexes where tablename = 'audit_log' and indexname not in (select conname from pg_constraint where conrelid = 'audit_log'::regclass)`.execute(db)).rows;
    for (const { indexname } of indexes) await sql.raw(`drop index ${indexname}`).execute(db);
    // Entries beyond the writer's chain (seq offset): the report reads them, nothing verifies them.
    for (let i = 0; i < AUDIT; i += 1_000_000) {
      const n = Math.min(1_000_000, AUDIT - i);
      await sql.raw(`insert into audit_log (seq, ts, kind, account, role, site, waybill, fields, purpose, decision, detail, prev_hash, hash)
        select ${base + i} + g, now() - (g || ' seconds')::interval, 'access.reveal', 'c' || (g % 500), 'courier', 'OUT-1',
               'AR' || lpad(((${i} + g) % ${W})::text, 12, '0'), 'recipient.phone,recipient.address', 'delivery', 'allowed', '{"basis":"assignment"}'::jsonb, '\\x00'::bytea, '\\x00'::bytea
        from generate_series(1, ${n}) g`).execute(db);
    }
    for (const { indexdef } of indexes) await sql.raw(indexdef).execute(db);
    await sql`analyze audit_log`.execute(db);
    const genMs = ms(t);
    const phone = '13800000000';
    const bidx = blindIndex(keyring.blindIndexKey, 'phone', phone);
    const personWaybills = Array.from({ length: PERSON_WAYBILLS }, (_, k) => `AR${String(Math.floor((k * W) / PERSON_WAYBILLS)).padStart(12, '0')}`);
    await db.insertInto('waybills').values(personWaybills.map((waybill) => ({ waybill, origin_site: 'S', dest_site: 'S', origin_city: null, dest_city: null, masked: VIEW, label: VIEW, created_at: new Date() }))).execute();
    await db.insertInto('waybill_parties').values(personWaybills.map((waybill) => ({ waybill, party: 'recipient', subject_id: bidx, name_ct: Buffer.alloc(8), phone_ct: Buffer.alloc(8), address_ct: Buffer.alloc(8), id_number_ct: null, phone_bidx: bidx, id_bidx: null }))).execute();
    const subjects = createSubjects({ db, audit, clock, keyring });
    const req = await subjects.file({ kind: 'access', phone, identity_verified: true }, { kind: 'system', name: 'bench' }, { ip: null, requestId: 'bench' });
    const reports = createAccessReports({ db, audit, clock, subjects });
    await reports.build(req.id);
    const runs = [];
    let report;
    for (let k = 0; k < 5; k++) {
      t = performance.now();
      report = await reports.build(req.id);
      accessReportMarkdown(report);
      runs.push(ms(t));
    }
    const bare = [];
    for (let k = 0; k < 5; k++) {
      t = performance.now();
      await db.selectFrom('audit_log').select((eb) => eb.fn.countAll().as('n')).where('waybill', 'in', personWaybills).where('kind', '=', 'access.reveal').execute();
      bare.push(ms(t));
    }
    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    console.log(`access report: ${fmt(AUDIT)} audit entries generated in ${fmt(genMs)} ms; one person (${PERSON_WAYBILLS} waybills, ${fmt(report.reveals.length)} reveals listed): median ${fmt(med(runs))} ms incl. Markdown; bare indexed count of the same rows ${med(bare).toFixed(1)} ms → ${(med(bare) / med(runs)).toFixed(3)} × bare`);

    }
    // ---- 3. breach report for BREACH records
    if (PARTS.includes('breach')) {
    const from = new Date(Date.now() - 2 * 3_600_000);
    await sql.raw(`insert into waybills select 'BR' || lpad(i::text, 12, '0'), 'S', 'S', null, null, '${VIEW}'::jsonb, '${VIEW}'::jsonb, now() from generate_series(1, ${BREACH}) i`).execute(db);
    for (const party of ['sender', 'recipient']) {
      await sql.raw(`insert into waybill_parties (waybill, party, subject_id, name_ct, phone_ct, address_ct, id_number_ct, phone_bidx, id_bidx) select 'BR' || lpad(i::text, 12, '0'), '${party}', decode(md5('${party}' || (i % ${Math.floor(BREACH * 0.8)})), 'hex'), ${ct}, ${ct}, ${ct}, null, ${ct}, null from generate_series(1, ${BREACH}) i`).execute(db);
    }
    await sql.raw(`insert into audit_log (seq, ts, kind, account, role, site, device, waybill, fields, purpose, decision, detail, prev_hash, hash)
      select ${base + AUDIT + 10} + g, now() - interval '1 hour' + (g || ' milliseconds')::interval, 'access.reveal', 'leaker', 'manager', 'OUT-1', 'pc-leak', 'BR' || lpad(g::text, 12, '0'),
             'recipient.name,recipient.phone,recipient.address', 'audit', 'allowed', '{"basis":"city"}'::jsonb, '\\x00'::bytea, '\\x00'::bytea
      from generate_series(1, ${BREACH}) g`).execute(db);
    await sql`analyze`.execute(db);
    const breach = createBreachReports({ db, audit, clock });
    t = performance.now();
    const r = await breach.build({ kind: 'accounts', accounts: ['leaker'], from: from.toISOString(), to: new Date().toISOString() });
    const buildMs = ms(t);
    t = performance.now();
    const doc = breachReportDoc(r);
    toMarkdown(doc);
    const pdf = await toPdf(doc);
    const docx = await toDocx(doc);
    const renderMs = ms(t);
    t = performance.now();
    await sql`select count(distinct p.waybill) as records, count(distinct p.subject_id) as people from waybill_parties p where p.party = 'recipient' and p.waybill in (select waybill from audit_log where account = 'leaker' and kind = 'access.reveal' and decision = 'allowed' and ts >= ${from})`.execute(db);
    const bareBreach = ms(t);
    console.log(`breach report: ${fmt(r.records)} records, ${fmt(r.people)} people built in ${fmt(buildMs)} ms, rendered (Markdown + PDF ${fmt(pdf.length / 1024)} KiB + DOCX ${fmt(docx.length / 1024)} KiB) in ${fmt(renderMs)} ms; total ${((buildMs + renderMs) / 1000).toFixed(1)} s against the 4-hour reporting limit (${((buildMs + renderMs) / (4 * 3_600_000)).toExponential(1)} of it); bare SQL count ${fmt(bareBreach)} ms → ${(bareBreach / buildMs).toFixed(3)} × bare`);
    }
  } finally {
    await store.close();
    await dropDatabase(PG_ADMIN, name);
  }
}

await main();
