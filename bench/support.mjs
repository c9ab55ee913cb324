// What the benches share: command-line options, a `warden serve` child and its address, a JSON
// API call, a bounded-concurrency loop, and a throw-away PostgreSQL database.
import { spawn } from 'node:child_process';
import pg from 'pg';

/** `--name value` from the command line, or `def`. */
export const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};

/** Starts `node args…` and resolves with the child and the URL it listens on (from its log). */
export function startChild(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let started = false;
    const onData = (d) => {
      if (started) return; // keep draining the pipe, keep nothing
      out = (out + d.toString()).slice(-64_000);
      const m = /"url":"(http:\/\/[^"]+)"|LISTENING (http:\/\/\S+)/.exec(out);
      if (m) {
        started = true;
        resolve({ child, url: m[1] ?? m[2] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`child exited ${code}: ${out.slice(-2000)}`)));
  });
}

/** Stops a child started by startChild and waits for it to exit. */
export async function stopChild(child) {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

/** One JSON API call; anything but 2xx throws with the answer's start. */
export async function api(url, method, path, token, body) {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Runs fn(0 … count-1), `width` at a time. */
export async function concurrently(count, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await fn(next++);
  }));
}

async function adminQuery(adminUrl, text) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** Creates (or re-creates) database `name` next to `adminUrl` and returns its URL. */
export async function freshDatabase(adminUrl, name) {
  await adminQuery(adminUrl, `drop database if exists ${name}`);
  await adminQuery(adminUrl, `create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export const dropDatabase = (adminUrl, name) => adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
