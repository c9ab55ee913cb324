/**
 * What the multi-process tests share (test/e2e/bus-nats, worker-response, cross-process, crash):
 * a spawned `warden` process (serve or watch) whose output can be waited on, reaching NATS
 * JetStream (required under CI=true, skipped with a message otherwise) and one JSON request to a
 * spawned `warden serve`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';

const BIN = new URL('../../bin/warden.js', import.meta.url).pathname;

/** A `warden` child process: its output so far, a wait for a line of it, and a stop that resolves on exit. */
export interface WardenProcess {
  child: ChildProcess;
  out(): string;
  /** The first match of `re` in the output; throws (and kills the process) on exit or timeout. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (SIGTERM by default) unless the process has exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `warden ARGS` with only PATH and `env` in its environment (stdout and stderr kept). */
export function spawnWarden(args: string[], env: Record<string, string>, opts: { cwd?: string } = {}): WardenProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    out: () => text,
    async waitFor(re, ms = 60_000) {
      const until = Date.now() + ms;
      for (;;) {
        const m = re.exec(text);
        if (m) return m;
        if (!running() || Date.now() > until) {
          if (running()) child.kill('SIGKILL');
          throw new Error(`warden ${args.join(' ')}: no ${re} (exit ${child.exitCode ?? child.signalCode}):\n${text.slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (running()) child.kill(signal);
      await exited;
    },
  };
}

/** `warden serve` started, with the URL it printed once listening. */
export async function startServe(env: Record<string, string>, opts: { cwd?: string } = {}): Promise<WardenProcess & { url: string }> {
  const p = spawnWarden(['serve'], env, opts);
  const url = (await p.waitFor(/"url":"(http:\/\/[^"]+)"/))[1]!;
  return Object.assign(p, { url });
}

export const NATS_SERVER = '127.0.0.1:4222';

/** A connection to JetStream, or null off CI when it is unreachable (under CI=true: an error). */
export async function natsReachable(server = NATS_SERVER): Promise<NatsConnection | null> {
  try {
    const nc = await connect({ servers: server, timeout: 2000 });
    await (await nc.jetstreamManager()).getAccountInfo();
    return nc;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`CI=true but NATS JetStream at ${server} is unreachable: ${(err as Error).message}`);
    return null;
  }
}

/** One JSON request (bearer token optional); the body parsed when there is one. */
export async function callJson(url: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
