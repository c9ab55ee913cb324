/**
 * Where SIEM events go. Each transport sends one batch and resolves when it is delivered as far
 * as the protocol can tell; it rejects on any failure (the forwarder retries from the last acked
 * position).
 *
 * - syslog over TLS (RFC 5425) or TCP (RFC 6587 octet counting): one long-lived connection;
 *   a batch is "sent" when written, and `settled` only once the connection stayed up
 *   `settleMs` after it — syslog has no application acknowledgement, so batches written just
 *   before a connection dies are sent again (duplicates, never gaps).
 * - syslog over UDP (RFC 5426): one datagram per message, fire and forget (best effort by
 *   nature: use TLS or TCP where losing nothing matters).
 * - OCSF JSON to an HTTP(S) endpoint: one POST per batch (a JSON array), delivered on 2xx.
 * - OCSF JSON lines to a file: appended and synced.
 */
import net from 'node:net';
import tls from 'node:tls';
import dgram from 'node:dgram';
import { open } from 'node:fs/promises';
import { octetFrame, toSyslog } from './cef.js';
import { toOcsf } from './ocsf.js';
import type { SiemEvent } from './events.js';

export type SinkSpec =
  | { kind: 'syslog'; protocol: 'tls' | 'tcp' | 'udp'; host: string; port: number }
  | { kind: 'http'; url: string }
  | { kind: 'file'; path: string };

export interface Transport {
  /** Resolves when delivered (or, for streams, written: see `connectionEpoch`). */
  send(events: SiemEvent[]): Promise<void>;
  /** Changes whenever a stream connection is replaced; a batch written on an epoch that died is resent. */
  connectionEpoch(): number;
  close(): void;
}

export interface TransportOptions {
  hostname: string;
  facility?: number;
  /** PEM CA bundle for TLS syslog and HTTPS (the SIEM's private CA). */
  ca?: string;
  /** Give up on a connect or a write after this long (a stuck receiver). */
  timeoutMs?: number;
  /** Extra HTTP headers (e.g. an Authorization for the SIEM's collector). */
  headers?: Record<string, string>;
}

/** `syslog+tls://host:port`, `syslog+tcp://…`, `syslog+udp://…`, `http(s)://…`, `file:PATH`. */
export function parseSinks(spec: string): SinkSpec[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (s.startsWith('file:')) return { kind: 'file' as const, path: s.slice(5) };
      const m = /^syslog\+(tls|tcp|udp):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(s);
      if (m) return { kind: 'syslog' as const, protocol: m[1] as 'tls' | 'tcp' | 'udp', host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
      if (/^https?:\/\//.test(s)) {
        new URL(s);
        return { kind: 'http' as const, url: s };
      }
      throw new Error(`WARDEN_SIEM: "${s}" is not syslog+tls://host:port, syslog+tcp://host:port, syslog+udp://host:port, http(s)://… or file:PATH`);
    });
}

export const sinkLabel = (s: SinkSpec, i: number): string => `${s.kind === 'syslog' ? `syslog-${s.protocol}` : s.kind}#${i + 1}`;

export function createTransport(spec: SinkSpec, opts: TransportOptions): Transport {
  if (spec.kind === 'syslog' && spec.protocol !== 'udp') return streamTransport(spec, opts);
  if (spec.kind === 'syslog') return udpTransport(spec, opts);
  if (spec.kind === 'http') return httpTransport(spec.url, opts);
  return fileTransport(spec.path);
}

function streamTransport(spec: Extract<SinkSpec, { kind: 'syslog' }>, opts: TransportOptions): Transport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let socket: net.Socket | null = null;
  let epoch = 0;
  let dead: Error | null = null;

  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s =
        spec.protocol === 'tls'
          ? tls.connect({ host: spec.host, port: spec.port, servername: net.isIP(spec.host) ? undefined : spec.host, ...(opts.ca ? { ca: opts.ca } : {}) })
          : net.connect({ host: spec.host, port: spec.port });
      const timer = setTimeout(() => s.destroy(new Error(`connect to ${spec.host}:${spec.port} timed out`)), timeoutMs);
      s.once(spec.protocol === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.setKeepAlive(true, 30_000);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });

  const drop = (err: Error) => {
    dead = err;
    socket?.destroy();
    socket = null;
    epoch++;
  };

  return {
    async send(events) {
      if (!socket || dead) {
        dead = null;
        const s = await connect();
        socket = s;
        epoch++;
        s.on('error', (err) => socket === s && drop(err));
        s.on('close', () => socket === s && drop(new Error('connection closed by the receiver')));
        // A receiver that talks back is not speaking syslog; ignore what it sends.
        s.on('data', () => undefined);
      }
      const s = socket;
      const data = Buffer.concat(events.map((e) => octetFrame(toSyslog(e, opts))));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          drop(new Error(`write to ${spec.host}:${spec.port} stalled for ${timeoutMs} ms (receiver not reading)`));
          reject(dead);
        }, timeoutMs);
        s.write(data, (err) => {
          clearTimeout(timer);
          if (err) {
            drop(err);
            reject(err);
          } else resolve();
        });
      });
    },
    connectionEpoch: () => epoch,
    close() {
      socket?.end();
      socket?.destroy();
      socket = null;
    },
  };
}

function udpTransport(spec: Extract<SinkSpec, { kind: 'syslog' }>, opts: TransportOptions): Transport {
  const socket = dgram.createSocket(net.isIPv6(spec.host) ? 'udp6' : 'udp4');
  socket.unref();
  socket.on('error', () => undefined);
  return {
    async send(events) {
      for (const e of events) {
        const msg = Buffer.from(toSyslog(e, opts), 'utf8');
        await new Promise<void>((resolve, reject) => socket.send(msg, spec.port, spec.host, (err) => (err ? reject(err) : resolve())));
      }
    },
    connectionEpoch: () => 0,
    close: () => socket.close(),
  };
}

function httpTransport(url: string, opts: TransportOptions): Transport {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    async send(events) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify(events.map(toOcsf)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) throw new Error(`SIEM endpoint answered HTTP ${res.status}`);
    },
    connectionEpoch: () => 0,
    close: () => undefined,
  };
}

function fileTransport(path: string): Transport {
  return {
    async send(events) {
      const fh = await open(path, 'a', 0o640);
      try {
        await fh.write(events.map((e) => JSON.stringify(toOcsf(e)) + '\n').join(''));
        await fh.datasync();
      } finally {
        await fh.close();
      }
    },
    connectionEpoch: () => 0,
    close: () => undefined,
  };
}
