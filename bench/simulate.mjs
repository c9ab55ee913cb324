#!/usr/bin/env node
// Measures `warden simulate` write throughput (events/s) against a bare loop that writes
// pre-serialized lines of the same average size to the same kind of file, in the same run.
// Usage: node bench/simulate.mjs [--preset default|large|tiny] [--days N] [--gz] [--dir DIR]
// Needs the compiled code: npm run build.
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const preset = opt('preset', 'default');
const days = opt('days', undefined);
const gz = args.includes('--gz');
const dir = opt('dir', fileURLToPath(new URL('./out/', import.meta.url)));
const dist = new URL('../dist/simulate/index.js', import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  console.error('bench/simulate: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const sim = await import(dist.href);
mkdirSync(dir, { recursive: true });
const ext = gz ? '.ndjson.gz' : '.ndjson';
const simFile = join(dir, `simulate${ext}`);
const bareFile = join(dir, `bare${ext}`);

const params = sim.resolveParams(days ? { days: Number(days) } : {}, preset);
const run = sim.createSimulation(params);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const { summary } = await sim.writeSimulation(run, { out: simFile });
const simSeconds = (performance.now() - t0) / 1000;
const simCpu = process.cpuUsage(cpu0); // both threads: the generator worker and the writer
const simCpuSeconds = (simCpu.user + simCpu.system) / 1e6;
const rssAfterSim = Math.round(process.resourceUsage().maxRSS / 1024);
const simRate = summary.events / simSeconds;

// the bare loop: the same number of lines of the same average size, same chunking, same stream kind
const lineLen = Math.max(2, Math.round(summary.bytes / summary.events));
const line = `${'x'.repeat(lineLen - 1)}\n`;
const perChunk = Math.max(1, Math.floor((1 << 20) / lineLen));
const chunkText = line.repeat(perChunk);
const t1 = performance.now();
const file = createWriteStream(bareFile, { highWaterMark: 1 << 20 });
let sink = file;
if (gz) {
  sink = createGzip({ level: 4, chunkSize: 1 << 16 });
  sink.pipe(file);
}
let written = 0;
while (written < summary.events) {
  const n = Math.min(perChunk, summary.events - written);
  const buf = Buffer.from(n === perChunk ? chunkText : line.repeat(n), 'latin1');
  written += n;
  if (!sink.write(buf)) await once(sink, 'drain');
}
sink.end();
await finished(file);
const bareSeconds = (performance.now() - t1) / 1000;
const bareRate = summary.events / bareSeconds;

const result = {
  preset,
  days: params.days,
  outlets: params.cities * params.outletsPerCity,
  file: ext,
  events: summary.events,
  bytes: summary.bytes,
  simulate_seconds: +simSeconds.toFixed(3),
  simulate_events_per_s: Math.round(simRate),
  simulate_cpu_seconds: +simCpuSeconds.toFixed(3),
  simulate_events_per_cpu_s: Math.round(summary.events / simCpuSeconds),
  load_average: os.loadavg().map((x) => +x.toFixed(2)),
  bare_seconds: +bareSeconds.toFixed(3),
  bare_events_per_s: Math.round(bareRate),
  ratio: +(simRate / bareRate).toFixed(3),
  peak_rss_mb_after_simulate: rssAfterSim,
  file_mb: +(statSync(simFile).size / 1e6).toFixed(1),
};
console.log(
  `simulate: ${result.events} events (${(result.bytes / 1e6).toFixed(0)} MB as text) in ${result.simulate_seconds} s = ${result.simulate_events_per_s} events/s\n` +
    `bare loop: same lines of ${lineLen} bytes in ${result.bare_seconds} s = ${result.bare_events_per_s} events/s\n` +
    `ratio simulate/bare: ${result.ratio}; peak RSS ${rssAfterSim} MB; CPU ${result.simulate_cpu_seconds} s over both threads ` +
    `(${result.simulate_events_per_cpu_s} events per CPU-second); load average ${result.load_average.join(' ')} on ${os.cpus().length} cores`,
);
console.log(JSON.stringify(result));
if (!args.includes('--keep')) {
  rmSync(simFile, { force: true });
  rmSync(bareFile, { force: true });
}
