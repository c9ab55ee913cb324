#!/usr/bin/env node
// Same alerts before and after an engine change: `npm run build && node bench/detect-same.mjs
// --save ref.json [--presets tiny,default] [--seeds 1,2,3]` before it, `... --against ref.json`
// after it. Each world is simulated (`warden simulate --preset P --seed N`, kept in bench/out/),
// replayed through dist/'s engine, and summarised: alert count, per detector, ids and a SHA-256
// of the alert NDJSON bytes. --against exits 1 and names the first difference when any differs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const { createDetectionEngine } = await import(join(root, 'dist', 'detect', 'engine.js'));
const { openInput, replay } = await import(join(root, 'dist', 'detect', 'replay.js'));

const outDir = join(here, 'out');
mkdirSync(outDir, { recursive: true });

function worldFile(preset, seed) {
  const file = join(outDir, `same-${preset}-${seed}.ndjson`);
  if (existsSync(file)) return file;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'warden.js'), 'simulate', '--preset', preset, '--seed', String(seed), '--out', file, '--quiet'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`simulate ${preset} ${seed} failed`);
  return file;
}

async function digest(file) {
  const hash = createHash('sha256');
  const ids = [];
  const byDetector = {};
  const output = new Writable({
    write(chunk, _e, cb) {
      hash.update(chunk);
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const a = JSON.parse(line);
        ids.push(a.id);
        byDetector[a.detector] = (byDetector[a.detector] ?? 0) + 1;
      }
      cb();
    },
  });
  const summary = await replay({ engine: createDetectionEngine({}), input: await openInput(file), output });
  return { events: summary.events_read, alerts: ids.length, byDetector, suppressed: summary.suppressed_repeats, sha256: hash.digest('hex'), ids };
}

const presets = arg('--presets', 'tiny,default').split(',');
const seeds = arg('--seeds', '1,2,3').split(',').map(Number);
const result = {};
for (const p of presets) {
  for (const s of seeds) {
    const d = await digest(worldFile(p, s));
    result[`${p}-${s}`] = d;
    console.log(`${p} seed ${s}: ${d.events} events, ${d.alerts} alerts (${d.suppressed} folded), sha256 ${d.sha256.slice(0, 16)}`);
  }
}
const save = arg('--save');
if (save) writeFileSync(save, JSON.stringify(result));
const against = arg('--against');
if (against) {
  const ref = JSON.parse(readFileSync(against, 'utf8'));
  let same = true;
  for (const [k, d] of Object.entries(result)) {
    const r = ref[k];
    if (!r) continue;
    if (r.sha256 === d.sha256) continue;
    same = false;
    const i = r.ids.findIndex((id, j) => d.ids[j] !== id);
    console.log(`${k}: DIFFERENT — ${r.alerts} alerts before, ${d.alerts} now; by detector before ${JSON.stringify(r.byDetector)}, now ${JSON.stringify(d.byDetector)}; first differing alert #${i < 0 ? Math.min(r.ids.length, d.ids.length) : i}`);
  }
  console.log(same ? 'same alerts, byte for byte, on every world' : 'alerts differ');
  process.exit(same ? 0 : 1);
}
