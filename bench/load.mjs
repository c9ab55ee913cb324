// A small closed-loop HTTP load generator (keep-alive, fixed concurrency) shared by the benches.
import http from 'node:http';

/**
 * Runs `concurrency` loops for `seconds`, each sending requests made by `makeRequest(i)`.
 * Returns requests/s, latency percentiles (ms) and status counts.
 */
export async function load({ url, seconds, concurrency, makeRequest }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const latencies = [];
  const statuses = {};
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  const one = (req) =>
    new Promise((resolve, reject) => {
      const body = req.body ? JSON.stringify(req.body) : undefined;
      const r = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: req.method ?? 'GET',
          path: req.path,
          headers: { ...(req.headers ?? {}), ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        },
      );
      r.on('error', reject);
      if (body) r.write(body);
      r.end();
    });
  const loop = async () => {
    while (performance.now() < deadline) {
      const i = n++;
      const t0 = performance.now();
      const status = await one(makeRequest(i));
      latencies.push(performance.now() - t0);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN;
  return { rps: latencies.length / elapsed, p50: pct(50), p99: pct(99), requests: latencies.length, statuses };
}
