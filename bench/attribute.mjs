#!/usr/bin/env node
// Leak attribution benchmark: `npm run build && node bench/attribute.mjs [--events 10000000] [--rows 100000] [--rounds 2] [--dist DIR]`
//
// 1. Generates (once; kept in bench/out/, not committed) N contract access events — reveals,
//    masked views, searches, logins — by 20,000 accounts over 5,000,000 waybills, two of which
//    (src-a, src-b) reveal tens of thousands of records they later leak; and a leaked CSV of
//    --rows rows (Chinese headers): 60% from src-a, 30% from src-b, 10% junk.
// 2. In the same run, alternating, for --rounds rounds: a bare read of the events file (every byte,
//    counting lines) and the full `warden attribute --events` path (read the dump, match, scan the
//    history, rank). Prints both, their ratio, and the top suspects (the sources must lead).
// --dist runs another build (e.g. main's dist/, for before/after in turn); default ../dist.
import { createWriteStream, existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(arg('dist', join(here, '..', 'dist')));
if (!existsSync(join(dist, 'trace', 'attribution', 'attribute.js'))) {
  console.error(`bench/attribute.mjs: ${dist} is missing the trace domain; run \`npm run build\` first`);
  process.exit(2);
}
const { readDump } = await import(join(dist, 'trace', 'attribution', 'dump.js'));
const { attribute, waybillOnlyResolver } = await import(join(dist, 'trace', 'attribution', 'attribute.js'));
const { bareRead, historyFromFile } = await import(join(dist, 'trace', 'attribution', 'events-file.js'));

const N = Number(arg('events', '10000000'));
const ROWS = Number(arg('rows', '100000'));
const ROUNDS = Number(arg('rounds', '2'));
const out = join(here, 'out');
mkdirSync(out, { recursive: true });
const eventsPath = join(out, `attr-events-${N}.ndjson`);
const dumpPath = join(out, `attr-dump-${N}-${ROWS}.csv`);
const sourcesPath = join(out, `attr-sources-${N}.json`);

let seed = 0x2545f491;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const WAYBILLS = 5_000_000;
const wb = (i) => `SF7${String(3_000_000_000 + i)}`;

async function generate() {
  const t0 = performance.now();
  const stream = createWriteStream(eventsPath, { highWaterMark: 1 << 22 });
  const write = (s) => (stream.write(s) ? null : new Promise((r) => stream.once('drain', r)));
  const sources = { 'src-a': [], 'src-b': [] };
  let ts = Date.parse('2026-05-01T00:00:00Z');
  let buf = '';
  for (let i = 0; i < N; i++) {
    ts += 1 + int(5);
    const t = new Date(ts).toISOString();
    const r = rand();
    // The two sources reveal a steady share of all reveals (src-b slower), inside ordinary work.
    const account = r < 0.012 ? 'src-a' : r < 0.018 ? 'src-b' : `acct-${int(20000)}`;
    const device = account.startsWith('src') ? `${account}-pc` : `${account}-pda`;
    const ip = `10.${int(256)}.${int(256)}.${int(256)}`;
    const k = rand();
    let line;
    if (k < 0.6 || account.startsWith('src')) {
      const w = wb(int(WAYBILLS));
      if (account.startsWith('src')) sources[account].push(w);
      line = `{"id":"e${i}","ts":"${t}","type":"access","account":"${account}","role":"courier","site":"OUT-${int(3000)}","device":"${device}","ip":"${ip}","action":"reveal","waybill":"${w}","fields":["name","phone","address"],"purpose":"delivery","result":"${k < 0.58 || account.startsWith('src') ? 'allowed' : 'denied'}"}\n`;
    } else if (k < 0.85) {
      line = `{"id":"e${i}","ts":"${t}","type":"access","account":"${account}","role":"courier","site":"OUT-${int(3000)}","device":"${device}","ip":"${ip}","action":"view","waybill":"${wb(int(WAYBILLS))}","fields":[],"result":"allowed"}\n`;
    } else if (k < 0.93) {
      line = `{"id":"e${i}","ts":"${t}","type":"access","account":"${account}","role":"customer_service","device":"${device}","ip":"${ip}","action":"search","waybills":["${wb(int(WAYBILLS))}","${wb(int(WAYBILLS))}"],"fields":[],"result":"allowed"}\n`;
    } else {
      line = `{"id":"e${i}","ts":"${t}","type":"login","account":"${account}","role":"courier","device":"${device}","ip":"${ip}","result":"success","mfa":false}\n`;
    }
    buf += line;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  await write(buf);
  await new Promise((r) => stream.end(r));
  writeFileSync(sourcesPath, JSON.stringify({ a: sources['src-a'].length, b: sources['src-b'].length }));
  // The dump: 60% src-a, 30% src-b, 10% junk, shuffled, as a Chinese-headed CSV.
  const rows = ['运单号,收件人,手机号,收货地址'];
  for (let i = 0; i < ROWS; i++) {
    const r = rand();
    if (r < 0.6) rows.push(`${sources['src-a'][int(sources['src-a'].length)]},王**,138****0000,北京市朝阳区****`);
    else if (r < 0.9) rows.push(`${sources['src-b'][int(sources['src-b'].length)]},李**,139****0000,上海市浦东新区****`);
    else rows.push(r < 0.95 ? `第${i}页 合计,,,` : `SF9${String(int(1e11)).padStart(11, '0')},,,`);
  }
  writeFileSync(dumpPath, rows.join('\n') + '\n');
  console.log(`generated ${N} events (${(statSync(eventsPath).size / 1e9).toFixed(2)} GB) and a ${ROWS}-row dump in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (!existsSync(eventsPath) || !existsSync(dumpPath)) await generate();
console.log(`events file ${(statSync(eventsPath).size / 1e9).toFixed(2)} GB; load average before ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const bare = [];
const full = [];
const bareCpu = [];
const fullCpu = [];
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let last;
for (let round = 0; round < ROUNDS; round++) {
  let t = performance.now();
  let c = cpu();
  bareRead(eventsPath);
  bare.push((performance.now() - t) / 1000);
  bareCpu.push(cpu() - c);
  t = performance.now();
  c = cpu();
  const dump = await readDump(readFileSync(dumpPath));
  last = await attribute(dump, waybillOnlyResolver, async (leaked) => historyFromFile(eventsPath, leaked), { foundAt: Date.now(), limit: 5, seenOnly: true });
  full.push((performance.now() - t) / 1000);
  fullCpu.push(cpu() - c);
  console.log(`round ${round + 1}: bare read ${bare.at(-1).toFixed(2)} s wall / ${bareCpu.at(-1).toFixed(2)} s CPU, attribution ${full.at(-1).toFixed(2)} s wall / ${fullCpu.at(-1).toFixed(2)} s CPU (${last.records} records, ${N} events), ratio ${(full.at(-1) / bare.at(-1)).toFixed(2)} wall, ${(fullCpu.at(-1) / bareCpu.at(-1)).toFixed(2)} CPU`);
}
const best = (xs) => Math.min(...xs);
console.log(`best: bare read ${best(bare).toFixed(2)} s wall (${best(bareCpu).toFixed(2)} s CPU), attribution ${best(full).toFixed(2)} s wall (${best(fullCpu).toFixed(2)} s CPU; target < 10 s), ratio ${(best(full) / best(bare)).toFixed(2)} wall, ${(best(fullCpu) / best(bareCpu)).toFixed(2)} CPU`);
console.log(`dump: matched ${last.matched}, unmatched ${last.unmatched}, records ${last.records}; sources ${last.sources.join(', ')}`);
for (const s of last.suspects.slice(0, 4)) console.log(`  ${s.account} score ${s.score.toFixed(0)} matched ${s.matched} volume ${s.volume} devices ${s.devices.join(',')}`);
console.log(`load average after ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
