// Capacity on loopback, bounded: (1) audited reveals/s and p99 through 1 and 2 gateway processes on
// one PostgreSQL, publishing to NATS JetStream, as ratios to a bare Fastify route in the same run;
// (2) events/s through JetStream into detection workers (`warden watch`), against the detection
// engine alone on the same events in this process; (3) event-to-alert latency at a sustained rate,
// end to end: a request's audit entry → bus → engine → alert stored → response enforced (the same
// account's next request refused), with detection in the gateway (in-process bus) and in a worker
// on JetStream.
// Usage: npm run build && node bench/scale.mjs [--seconds 8] [--concurrency 32] [--events 60000]
//   [--rate 500] [--probes 40] [--parts gateways,jetstream,latency]
//   [--pg postgres://postgres@127.0.0.1:5432/test] [--nats nats://127.0.0.1:4222]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { load } from './load.mjs';
import { api, arg, concurrently, dropDatabase, freshDatabase, startChild, stopChild } from './support.mjs';

const SECONDS = Number(arg('seconds', 8));
const CONCURRENCY = Number(arg('concurrency', 32));
const EVENTS = Number(arg('events', 60_000));
const RATE = Number(arg('rate', 500));
const PROBES = Number(arg('probes', 40));
const PARTS = arg('parts', 'gateways,jetstream,latency').split(',');
const PG_ADMIN = arg('pg', 'postgres://postgres@127.0.0.1:5432/test');
const NATS = arg('nats', 'nats://127.0.0.1:4222');
const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'warden.js');
const { routeEvent } = await import(join(ROOT, 'dist', 'events', 'nats-bus.js'));
const sim = await import(join(ROOT, 'dist', 'simulate', 'index.js'));
const { createDetectionEngine } = await import(join(ROOT, 'dist', 'detect', 'engine.js'));
const { resolveConfig } = await import(join(ROOT, 'dist', 'detect', 'config.js'));

const COURIERS = 40;
const WAYBILLS = Number(arg('waybills', 2000));
const PARTY = (i) => ({ name: '王小明', phone: `139${String(10000000 + i).padStart(8, '0')}`, address: '北京市朝阳区建国路88号3号楼2单元501室' });
const wb = (i) => `SF${String(100000000000 + i)}`;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
/** The pids of processes named `name` (nats-server: the JetStream server's own CPU). */
function pidsNamed(name) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name) out.push(Number(d));
    } catch {}
  }
  return out;
}
const cpuOf = (pids) => pids.reduce((a, p) => a + cpuSeconds(p), 0);

/** A deployment: a fresh database, a fresh stream, shared keys; each process started with `env`. */
async function deployment(name, extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-scale-'));
  const suffix = randomBytes(3).toString('hex');
  const policy = join(dir, 'policy.json');
  const big = { per_minute: 1_000_000, per_hour: 10_000_000, per_day: 100_000_000 };
  writeFileSync(policy, JSON.stringify({ quotas: { courier: { account: big, device: big, site: big } } }));
  const db = `warden_scale_${name}_${process.pid}`;
  const env = {
    WARDEN_ADMIN_TOKEN: randomBytes(16).toString('hex'),
    WARDEN_MASTER_KEY: randomBytes(32).toString('base64'),
    WARDEN_AUDIT_SIGNING_KEY: randomBytes(32).toString('base64'),
    WARDEN_PORT: '0',
    WARDEN_LOG_LEVEL: 'info',
    WARDEN_POLICY_FILE: policy,
    WARDEN_DB_POOL: '12',
    WARDEN_DATABASE_URL: await freshDatabase(PG_ADMIN, db),
    WARDEN_BUS_STREAM: `SCALE_${name.toUpperCase()}_${suffix}`,
    WARDEN_BUS_SUBJECT: `scale${suffix}.events`,
    ...extra,
  };
  const children = [];
  const gateways = [];
  return {
    env,
    async serve() {
      const { child, url } = await startChild([BIN, 'serve'], env);
      children.push(child);
      gateways.push(child.pid);
      return url;
    },
    gateways,
    async watch(partition) {
      const child = spawn(process.execPath, [BIN, 'watch', '--partition', String(partition)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      await new Promise((resolve, reject) => {
        const on = (d) => ((out += d), /detection worker consuming/.test(out) && resolve());
        child.stdout.on('data', on);
        child.stderr.on('data', on);
        child.once('exit', (code) => reject(new Error(`watch exited ${code}: ${out.slice(-1500)}`)));
      });
      return child;
    },
    async dispose() {
      for (const c of children) if (c.exitCode === null) await stopChild(c);
      if (env.WARDEN_BUS) {
        const nc = await connect({ servers: new URL(NATS).host });
        await (await nc.jetstreamManager()).streams.delete(env.WARDEN_BUS_STREAM).catch(() => undefined);
        await nc.close();
      }
      await dropDatabase(PG_ADMIN, db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Couriers with sessions, waybills assigned to them; returns the reveal request maker. */
async function seed(url, admin) {
  await api(url, 'POST', '/api/v1/sites', admin, { code: 'OUT-1', kind: 'outlet', city: '北京' });
  const tokens = [];
  for (let c = 0; c < COURIERS; c++) {
    await api(url, 'POST', '/api/v1/accounts', admin, { id: `c${c}`, role: 'courier', site: 'OUT-1', password: 'bench-password' });
    tokens.push((await api(url, 'POST', '/api/v1/sessions', null, { account: `c${c}`, password: 'bench-password', device: `pda-${c}` })).token);
  }
  await concurrently(WAYBILLS, 8, (i) => api(url, 'POST', '/api/v1/waybills', admin, { waybill: wb(i), origin_site: 'OUT-1', dest_site: 'OUT-1', sender: PARTY(i + 500000), recipient: PARTY(i) }));
  await concurrently(WAYBILLS, 8, (i) => api(url, 'POST', '/api/v1/assignments', admin, { waybill: wb(i), account: `c${i % COURIERS}`, task: 'delivery' }));
  return (i) => {
    const w = i % WAYBILLS;
    return { method: 'POST', path: `/api/v1/waybills/${wb(w)}/reveal`, headers: { authorization: `Bearer ${tokens[w % COURIERS]}` }, body: { fields: ['recipient.phone', 'recipient.name'], purpose: 'delivery' } };
  };
}

/** Closed-loop load split over several gateways; p99 is the worst gateway's. */
async function loadOver(urls, request, seconds) {
  const rs = await Promise.all(urls.map((url, k) => load({ url, seconds, concurrency: Math.max(1, Math.round(CONCURRENCY / urls.length)), makeRequest: (i) => request(i * urls.length + k) })));
  const statuses = {};
  for (const r of rs) for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  return { rps: rs.reduce((a, r) => a + r.rps, 0), p50: Math.max(...rs.map((r) => r.p50)), p99: Math.max(...rs.map((r) => r.p99)), statuses };
}

async function benchGateways() {
  const { child, url } = await startChild([join(ROOT, 'bench', 'bare-server.mjs')], {});
  const bareReq = () => ({ method: 'POST', path: '/bare', body: { fields: ['recipient.phone'], purpose: 'delivery' } });
  await load({ url, seconds: 2, concurrency: CONCURRENCY, makeRequest: bareReq });
  const b0 = cpuSeconds(child.pid);
  const bare = await load({ url, seconds: SECONDS, concurrency: CONCURRENCY, makeRequest: bareReq });
  bare.cpuUs = ((cpuSeconds(child.pid) - b0) / (bare.rps * SECONDS)) * 1e6;
  child.kill('SIGTERM');
  const rows = [['bare Fastify route', bare]];
  for (const n of [1, 2]) {
    const d = await deployment(`gw${n}`, { WARDEN_BUS: NATS, WARDEN_BUS_PARTITIONS: '2', WARDEN_DETECT: 'off' });
    try {
      const urls = [await d.serve()];
      const request = await seed(urls[0], d.env.WARDEN_ADMIN_TOKEN);
      // Sessions live in the shared store: the second gateway takes the same tokens.
      for (let k = 1; k < n; k++) urls.push(await d.serve());
      await loadOver(urls, request, 2);
      const nats = pidsNamed('nats-server');
      const c0 = cpuOf(d.gateways);
      const n0 = cpuOf(nats);
      const r = await loadOver(urls, request, SECONDS);
      const requests = r.rps * SECONDS;
      r.cpuUs = ((cpuOf(d.gateways) - c0) / requests) * 1e6;
      r.natsUs = ((cpuOf(nats) - n0) / requests) * 1e6;
      rows.push([`audited reveal, ${n} gateway process${n > 1 ? 'es' : ''} (PostgreSQL, JetStream bus)`, r]);
    } finally {
      await d.dispose();
    }
  }
  console.log(`\n## Gateways: concurrency ${CONCURRENCY}, ${SECONDS} s per run, ${COURIERS} couriers over ${WAYBILLS} waybills\n`);
  console.log('| run | req/s | ratio to bare | p50 ms | p99 ms | p99 ratio | server CPU µs/request (ratio to bare) | nats-server CPU µs/request | statuses |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const [name, r] of rows) {
    const nats = r.natsUs === undefined ? '' : r.natsUs.toFixed(0);
    console.log(`| ${name} | ${r.rps.toFixed(0)} | ${(r.rps / bare.rps).toFixed(3)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p99 / bare.p99).toFixed(1)}× | ${r.cpuUs.toFixed(0)} (${(r.cpuUs / bare.cpuUs).toFixed(1)}×) | ${nats} | ${JSON.stringify(r.statuses)} |`);
  }
}

function worldEvents(n) {
  // The simulator's default company (seed 11), its first n events (days enough to hold them).
  const run = sim.createSimulation(sim.resolveParams({ seed: 11, days: Math.max(2, Math.ceil(n / 50_000) + 1) }, 'default'));
  const ser = new sim.LineSerializer();
  const events = [];
  for (const a of sim.actions(run)) {
    if (events.length >= n) break;
    events.push(JSON.parse(ser.line(a, `e${events.length + 1}`)));
  }
  return events;
}

async function consumerInfos(jsm, stream, parts) {
  return Promise.all(Array.from({ length: parts }, (_, p) => jsm.consumers.info(stream, `warden-detect-${p}`)));
}

async function benchJetStream() {
  const events = worldEvents(EVENTS);
  // The limit nearest to the worker: the engine alone, in this process, on the same events.
  const engine = createDetectionEngine(resolveConfig({}));
  // Warm-up on a copy, then CPU time (not wall time: the machine is shared) of one pass.
  const warm = createDetectionEngine(resolveConfig({}));
  for (const e of events.slice(0, 10_000)) warm.process(e);
  const u0 = process.cpuUsage();
  for (const e of events) engine.process(e);
  engine.flush();
  const u1 = process.cpuUsage(u0);
  const engineRate = events.length / ((u1.user + u1.system) / 1e6);
  let t;
  const rows = [];
  for (const parts of arg('js-parts', '1,2').split(',').map(Number)) {
    const d = await deployment(`js${parts}`, { WARDEN_BUS: NATS, WARDEN_BUS_PARTITIONS: String(parts) });
    const nc = await connect({ servers: new URL(NATS).host });
    try {
      await d.serve(); // creates the schema, the keyring and the stream
      const js = nc.jetstream();
      const jsm = await nc.jetstreamManager();
      // An external producer publishing the contract straight to the stream (routeEvent), 512 in flight.
      const natsPub = pidsNamed('nats-server');
      const np0 = cpuOf(natsPub);
      t = performance.now();
      let messages = 0;
      const inflight = new Set();
      for (const e of events) {
        const data = Buffer.from(JSON.stringify(e));
        for (const r of routeEvent(e, d.env.WARDEN_BUS_SUBJECT, parts)) {
          const p = js.publish(r.subject, data, { msgID: r.msgId }).then(() => inflight.delete(p));
          inflight.add(p);
          messages++;
          if (inflight.size >= 512) await Promise.race(inflight);
        }
      }
      await Promise.all(inflight);
      const publishS = (performance.now() - t) / 1000;
      const natsPubUs = ((cpuOf(natsPub) - np0) / messages) * 1e6;
      // Workers start on a full stream: their drain rate is detection's throughput through JetStream.
      t = performance.now();
      const workers = [];
      // One after the other: two node processes booting at once on a small machine slow both.
      for (let p = 0; p < parts; p++) workers.push(await d.watch(p));
      const natsPids = pidsNamed('nats-server');
      const w0 = cpuOf(workers.map((w) => w.pid));
      const n0 = cpuOf(natsPids);
      for (;;) {
        const infos = await consumerInfos(jsm, d.env.WARDEN_BUS_STREAM, parts).catch(() => null);
        if (infos && infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0)) break;
        if (performance.now() - t > 120_000) throw new Error('workers did not drain in 120 s');
        await sleep(100);
      }
      const drainS = (performance.now() - t) / 1000;
      const workerCpu = cpuOf(workers.map((w) => w.pid)) - w0;
      const natsCpu = cpuOf(natsPids) - n0;
      rows.push({ parts, messages, publish: messages / publishS, detect: events.length / drainS, drainS, perCpu: events.length / workerCpu, natsUs: (natsCpu / messages) * 1e6, natsPubUs });
    } finally {
      await nc.close();
      await d.dispose();
    }
  }
  console.log(`\n## Events through JetStream into detection: ${events.length} contract events of the simulator's default company (seed 11)\n`);
  console.log(`engine alone (this process, no bus, no store): ${engineRate.toFixed(0)} events per CPU-second\n`);
  console.log('| workers (partitions) | messages (broadcast copies included) | publish msgs/s | detection events/s, wall (drain) | events per worker CPU-second | ratio to engine alone | nats-server CPU µs/message: publish / consume |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.parts} | ${r.messages} | ${r.publish.toFixed(0)} | ${r.detect.toFixed(0)} (${r.drainS.toFixed(1)} s) | ${r.perCpu.toFixed(0)} | ${(r.perCpu / engineRate).toFixed(2)} | ${r.natsPubUs.toFixed(1)} / ${r.natsUs.toFixed(1)} |`);
}

/**
 * Probe accounts each walk six near-sequential waybill numbers of another outlet (denied: no work,
 * not their site; the sixth makes five near-sequential hits, a medium enumeration alert, and the
 * bench's detection config answers its score with `suspend`) while background reveals and
 * producer events run open loop at a fixed rate. Measured per probe from the answer to the sixth
 * request, by two pollers running side by side: when the alert is first listed, and when the
 * probe's next request is first refused (each figure is when the request that first saw it was
 * sent, its own answer time excluded); the enforcement is also counted from the sending of the
 * sixth request (an upper bound: that request's own time included).
 */
const WALK = 6;
async function benchLatency(mode) {
  const extra = mode === 'nats' ? { WARDEN_BUS: NATS, WARDEN_BUS_PARTITIONS: '1' } : {};
  const dir = mkdtempSync(join(tmpdir(), 'warden-scale-detect-'));
  const cfg = join(dir, 'detect.json');
  writeFileSync(cfg, JSON.stringify({ time: { reorder_window_seconds: 0 }, response: { step_up: 30, throttle: 30, suspend: 30 } }));
  const d = await deployment(`lat${mode.replace(/[^a-z]/g, "")}`, { ...extra, WARDEN_DETECT_CONFIG: cfg });
  try {
    const url = await d.serve();
    const admin = d.env.WARDEN_ADMIN_TOKEN;
    if (mode === 'nats') await d.watch(0);
    const request = await seed(url, admin);
    // The walked parcels belong to another outlet: a courier's own site explains an access.
    await api(url, 'POST', '/api/v1/sites', admin, { code: 'OUT-2', kind: 'outlet', city: '上海' });
    await api(url, 'POST', '/api/v1/accounts', admin, { id: 'sa1', role: 'security_analyst', site: null, password: 'bench-password' });
    const analyst = (await api(url, 'POST', '/api/v1/sessions', null, { account: 'sa1', password: 'bench-password', device: 'sa-desk' })).token;
    const probes = [];
    for (let p = 0; p < PROBES; p++) {
      await api(url, 'POST', '/api/v1/accounts', admin, { id: `probe${p}`, role: 'courier', site: 'OUT-1', password: 'bench-password' });
      const token = (await api(url, 'POST', '/api/v1/sessions', null, { account: `probe${p}`, password: 'bench-password', device: `probe-pda-${p}` })).token;
      const base = 300000 + p * 100;
      for (let k = 0; k < WALK; k++) await api(url, 'POST', '/api/v1/waybills', admin, { waybill: wb(base + k), origin_site: 'OUT-2', dest_site: 'OUT-2', sender: PARTY(base + k), recipient: PARTY(base + k) });
      probes.push({ id: `probe${p}`, token, base });
    }
    // Background: reveals and producer events at a fixed total rate, open loop (sent on schedule
    // whatever the answers do; at most 64 unanswered, beyond that a send is skipped and counted: a rate the machine cannot sustain shows there, not as an ever-growing queue).
    let stop = false;
    let sent = 0;
    let skipped = 0;
    let errors = 0;
    let inflight = 0;
    const fire = (p) => {
      inflight++;
      p.then((r) => r.arrayBuffer()).catch(() => void errors++).finally(() => void inflight--);
    };
    const background = (async () => {
      let i = 0;
      const started = performance.now();
      while (!stop) {
        const due = Math.floor(((performance.now() - started) / 1000) * RATE);
        while (sent + skipped < due) {
          i++;
          if (inflight >= 64) {
            skipped++;
            continue;
          }
          const r = request(i);
          if (i % 2 === 0) fire(fetch(url + r.path, { method: 'POST', headers: { ...r.headers, 'content-type': 'application/json' }, body: JSON.stringify(r.body) }));
          else fire(fetch(`${url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/x-ndjson' }, body: JSON.stringify({ id: `bg-${i}`, ts: new Date().toISOString(), type: 'scan', account: `ext-${i % 97}`, role: 'courier', waybill: wb(i % WAYBILLS), op: 'arrive', site: 'OUT-1' }) + '\n' }));
          sent++;
        }
        await sleep(5);
      }
    })();
    await sleep(2000);
    const alerted = [];
    const enforced = [];
    const fromRequest = [];
    const t0 = performance.now();
    const REFUSED = ['account_suspended', 'step_up_required', 'throttled', 'session_ended'];
    for (const p of probes) {
      const reveal = async (w) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await fetch(`${url}/api/v1/waybills/${wb(w)}/reveal`, { method: 'POST', headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ fields: ['recipient.phone'], purpose: 'delivery' }) });
          } catch (err) {
            if (attempt >= 3) throw err;
          }
        }
      };
      let walked = 0;
      for (let k = 0; k < WALK; k++) {
        walked = performance.now();
        await (await reveal(p.base + k)).arrayBuffer();
      }
      const at = performance.now();
      const poll = async (check) => {
        while (performance.now() - at < 10_000) {
          const sentAt = performance.now();
          if (await check()) return Math.max(1, sentAt - at);
          await sleep(2);
        }
        return Infinity;
      };
      const [seen, refused] = await Promise.all([
        poll(async () => (await api(url, 'GET', `/api/v1/alerts?account=${p.id}&min_severity=medium`, analyst)).alerts.length > 0),
        poll(async () => {
          // The walked numbers are never the probe's work (403 no_work_context): only a response counts.
          const r = await reveal(p.base);
          const code = (await r.json().catch(() => ({})))?.error?.code;
          return r.status === 401 || REFUSED.includes(code);
        }),
      ]);
      alerted.push(seen);
      enforced.push(refused);
      // The same, counted from the sending of the sixth request (its own answer time included: an upper bound).
      fromRequest.push(refused + (at - walked));
    }
    const probeS = (performance.now() - t0) / 1000;
    stop = true;
    await background;
    return { mode, alerted, enforced, fromRequest, rate: sent / (probeS + 2), skipped, errors };
  } finally {
    await d.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (PARTS.includes('gateways')) await benchGateways();
if (PARTS.includes('jetstream')) await benchJetStream();
if (PARTS.includes('latency')) {
  const rows = [];
  for (const mode of ['in-process', 'nats']) rows.push(await benchLatency(mode));
  console.log(`\n## Event-to-alert latency: ${PROBES} probes, background ${RATE} requests/s (half reveals, half producer events), PostgreSQL\n`);
  console.log('| detection | background req/s sent (skipped: 64 unanswered) | alert stored p50 / p99 ms | response enforced p50 / p99 ms | from the sixth request sent p50 / p99 ms | p99 ratio to 1 s (from the request) | missed (10 s) | background errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const miss = r.enforced.filter((x) => x === Infinity).length;
    const which = (xs) => xs.flatMap((x, i) => (x === Infinity ? [i] : [])).join(', ') || 'none';
    if (miss) console.error(`${r.mode}: probes never refused within 10 s: ${which(r.enforced)}; alert never listed: ${which(r.alerted)}`);
    console.log(`| ${r.mode === 'nats' ? 'worker on JetStream (1 partition)' : 'in the gateway (in-process bus)'} | ${r.rate.toFixed(0)} (${r.skipped}) | ${pct(r.alerted, 50).toFixed(0)} / ${pct(r.alerted, 99).toFixed(0)} | ${pct(r.enforced, 50).toFixed(0)} / ${pct(r.enforced, 99).toFixed(0)} | ${pct(r.fromRequest, 50).toFixed(0)} / ${pct(r.fromRequest, 99).toFixed(0)} | ${(pct(r.fromRequest, 99) / 1000).toFixed(2)} | ${miss} | ${r.errors} |`);
  }
}
