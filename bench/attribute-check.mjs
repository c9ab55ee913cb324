#!/usr/bin/env node
// Same answers before and after a change to attribution: `node bench/attribute-check.mjs --base DIR [--events N] [--rows N]`
//
// DIR is a dist/ built from the earlier commit, kept under bench/out/ so that it finds
// node_modules (e.g. `git stash; npm run build; cp -r dist bench/out/base-dist; git stash pop;
// npm run build`). Runs `attribute` with the events file through both builds and compares the
// JSON byte for byte, on:
//   1. the files bench/attribute.mjs generated (run it first; --events/--rows pick them), and
//   2. fixtures in the tests' style (src/trace/attribution/*.test.ts): reveals in the usual
//      layout, one in 97 with spaces after colons, masked views and denied reveals, exports, and a
//      dump with junk rows — written here to bench/out/check-*.
// Exits 1 on any difference.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const base = resolve(arg('base', join(here, 'out', 'base-dist')));
const head = join(here, '..', 'dist');
const N = Number(arg('events', '10000000'));
const ROWS = Number(arg('rows', '100000'));
const out = join(here, 'out');
mkdirSync(out, { recursive: true });

async function run(dist, events, dump) {
  const { readDump } = await import(join(dist, 'trace', 'attribution', 'dump.js'));
  const { attribute, waybillOnlyResolver } = await import(join(dist, 'trace', 'attribution', 'attribute.js'));
  const { historyFromFile } = await import(join(dist, 'trace', 'attribution', 'events-file.js'));
  const d = await readDump(readFileSync(dump));
  const r = await attribute(d, waybillOnlyResolver, async (leaked) => historyFromFile(events, leaked), { foundAt: Date.parse('2026-12-01T00:00:00Z'), limit: 100, seenOnly: true });
  return JSON.stringify(r, null, 2);
}

function fixtures() {
  let seed = 99;
  const int = (n) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  const wb = (i) => `SF7${String(3_000_000_000 + i)}`;
  const lines = [];
  const own = new Map();
  let t = Date.parse('2026-06-01T00:00:00Z');
  for (let i = 0; i < 200_000; i++) {
    t += 1000 + int(60_000);
    const account = i % 50 === 0 ? 'src' : `acct-${int(150)}`;
    const waybill = wb(int(20_000));
    if (account === 'src') own.set(waybill, true);
    const e = { id: `e${i}`, ts: new Date(t).toISOString(), type: 'access', account, role: 'courier', device: `${account}-pda`, ip: '10.0.0.1', action: 'reveal', waybill, fields: ['name', 'phone'], purpose: 'delivery', result: 'allowed' };
    lines.push(i % 97 === 0 ? JSON.stringify(e, null, 1).replace(/\n/g, '') : JSON.stringify(e));
    if (i % 50 === 7) lines.push(JSON.stringify({ ...e, id: `v${i}`, action: 'view', fields: [] }), JSON.stringify({ ...e, id: `d${i}`, account: 'denied-one', result: 'denied' }));
    if (i % 1000 === 3) lines.push(JSON.stringify({ ...e, id: `x${i}`, action: 'export', waybill: undefined, waybills: [wb(int(20_000)), wb(int(20_000))] }));
  }
  const events = join(out, 'check-events.ndjson');
  writeFileSync(events, lines.join('\n') + '\n');
  const rows = ['运单号,收件人,手机号,收货地址'];
  for (const w of own.keys()) rows.push(`${w},张三,138****0000,北京市朝阳区****`);
  for (let i = 0; i < 400; i++) rows.splice(1 + int(rows.length - 1), 0, i % 2 ? `备注：第${i}页,,,` : `SF9${String(int(1e11)).padStart(11, '0')},,,`);
  const dump = join(out, 'check-dump.csv');
  writeFileSync(dump, rows.join('\n'));
  return { events, dump };
}

const cases = [['fixtures', fixtures()]];
const benchEvents = join(out, `attr-events-${N}.ndjson`);
const benchDump = join(out, `attr-dump-${N}-${ROWS}.csv`);
if (existsSync(benchEvents) && existsSync(benchDump)) cases.push([`bench ${N} events, ${ROWS} rows`, { events: benchEvents, dump: benchDump }]);
else console.log(`no bench files for --events ${N} --rows ${ROWS}: run bench/attribute.mjs first (fixtures only)`);

let failed = false;
for (const [name, { events, dump }] of cases) {
  const a = await run(base, events, dump);
  const b = await run(head, events, dump);
  const same = a === b;
  failed ||= !same;
  console.log(`${name}: ${same ? 'identical' : 'DIFFERENT'} (${a.length} bytes of JSON)`);
  if (!same) {
    writeFileSync(join(out, 'check-base.json'), a);
    writeFileSync(join(out, 'check-head.json'), b);
    console.log(`  written to bench/out/check-base.json and check-head.json`);
  }
}
process.exit(failed ? 1 : 0);
