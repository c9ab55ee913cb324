/**
 * The access history from an NDJSON file of contract events (`--events`), read at close to the
 * speed of a bare read: only lines whose action is `reveal` or `export` are looked at, fields are
 * found by byte search and hashed in place (no string unless the account is new or the waybill is
 * one of the leaked ones), and only lines about leaked records are parsed as JSON. A line the fast
 * path cannot read (spaces after colons, escapes) is parsed as JSON instead: never skipped.
 *
 * The universe (distinct records shown) is estimated by linear counting over a 2^24-bit map.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import type { Exposure, History } from './score.js';

const CHUNK = 8 * 1024 * 1024;
const REVEAL = Buffer.from('"reveal"');
const EXPORT = Buffer.from('"export"');
const ACTION = Buffer.from('"action":');
const ACCOUNT = Buffer.from('"account":"');
const WAYBILL = Buffer.from('"waybill":"');
const DENIED = Buffer.from('"denied"');
const BITS = 1 << 24;

function fnv(buf: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

export interface ScanStats {
  lines: number;
  reveals: number;
  parsed: number;
  bad: number;
}

/** Reads every byte once, counting lines: the baseline the scan is measured against. */
export function bareRead(path: string): { bytes: number; lines: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  let lines = 0;
  try {
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0; ) {
      bytes += n;
      for (let i = buf.indexOf(10, 0); i !== -1 && i < n; i = buf.indexOf(10, i + 1)) lines++;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, lines };
}

export function historyFromFile(path: string, leaked: ReadonlySet<string>): History & { stats: ScanStats } {
  const wanted = new Map<number, string[]>();
  for (const w of leaked) {
    const b = Buffer.from(w);
    const h = fnv(b, 0, b.length);
    wanted.set(h, [...(wanted.get(h) ?? []), w]);
  }
  const accounts = new Map<number, Array<{ bytes: Buffer; n: number }>>();
  const volume = new Map<string, number>();
  const seen = new Uint8Array(BITS / 8);
  let set = 0;
  const exposures: Exposure[] = [];
  const stats: ScanStats = { lines: 0, reveals: 0, parsed: 0, bad: 0 };

  const countAccount = (buf: Buffer, from: number, to: number, by: number): void => {
    const h = fnv(buf, from, to);
    let list = accounts.get(h);
    if (!list) accounts.set(h, (list = []));
    let entry = list.find((e) => e.bytes.length === to - from && buf.compare(e.bytes, 0, e.bytes.length, from, to) === 0);
    if (!entry) list.push((entry = { bytes: Buffer.from(buf.subarray(from, to)), n: 0 }));
    entry.n += by;
  };
  const markSeen = (h: number) => {
    const i = h & (BITS - 1);
    const bit = 1 << (i & 7);
    if (!(seen[i >> 3]! & bit)) {
      seen[i >> 3]! |= bit;
      set++;
    }
  };
  const isLeaked = (buf: Buffer, from: number, to: number, h: number) => {
    const c = wanted.get(h);
    return c !== undefined && c.includes(buf.toString('latin1', from, to));
  };

  /** A whole line as JSON: the slow, always-right path. */
  const parsedLine = (buf: Buffer, start: number, end: number, only: 'reveal' | 'export'): void => {
    stats.parsed++;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(buf.toString('utf8', start, end)) as Record<string, unknown>;
    } catch {
      stats.bad++;
      return;
    }
    if (e.type !== 'access' || e.action !== only || e.result === 'denied' || typeof e.account !== 'string') return;
    if (e.action === 'reveal' && Array.isArray(e.fields) && e.fields.length === 0) return;
    const list = e.action === 'export' ? (Array.isArray(e.waybills) ? e.waybills.filter((w): w is string => typeof w === 'string') : []) : typeof e.waybill === 'string' ? [e.waybill] : [];
    if (!list.length) return;
    if (e.action === 'reveal') stats.reveals++;
    volume.set(e.account, (volume.get(e.account) ?? 0) + list.length);
    const ts = Date.parse(String(e.ts));
    for (const w of list) {
      const b = Buffer.from(w);
      markSeen(fnv(b, 0, b.length));
      if (leaked.has(w)) exposures.push({ account: e.account, waybill: w, ts, device: typeof e.device === 'string' ? e.device : null, ip: typeof e.ip === 'string' ? e.ip : null, via: e.action === 'export' ? 'export' : 'reveal' });
    }
  };

  const lineAt = (buf: Buffer, pos: number, limit: number): [number, number] => [buf.lastIndexOf(10, pos) + 1, Math.min(limit, (buf.indexOf(10, pos) + 1 || limit + 1) - 1)];

  /** One reveal line on the fast path; false when it must be parsed instead. */
  const fast = (buf: Buffer, start: number, end: number, at: number): boolean => {
    if (at < start + ACTION.length || buf.compare(ACTION, 0, ACTION.length, at - ACTION.length, at) !== 0) return false;
    const d = buf.indexOf(DENIED, start);
    if (d !== -1 && d < end) return false;
    const a = buf.indexOf(ACCOUNT, start);
    const w = buf.indexOf(WAYBILL, start);
    if (a === -1 || a >= end || w === -1 || w >= end) return false;
    const a0 = a + ACCOUNT.length;
    const a1 = buf.indexOf(34, a0);
    const w0 = w + WAYBILL.length;
    const w1 = buf.indexOf(34, w0);
    if (a1 >= end || w1 >= end || buf[a1 - 1] === 92 || buf[w1 - 1] === 92) return false;
    // An empty `fields` (a masked answer) is not a record shown in full.
    const f = buf.indexOf('"fields":[]', start);
    if (f !== -1 && f < end) return true;
    const h = fnv(buf, w0, w1);
    // A leaked record's line is read in full (time, device, network): the JSON path.
    if (isLeaked(buf, w0, w1, h)) return false;
    stats.reveals++;
    countAccount(buf, a0, a1, 1);
    markSeen(h);
    return true;
  };

  const fd = openSync(path, 'r');
  let buf = Buffer.allocUnsafe(CHUNK);
  let carry = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, carry, buf.length - carry, null);
      const total = carry + n;
      if (total === 0) break;
      const lastNl = n === 0 ? total : buf.lastIndexOf(10, total - 1);
      if (lastNl === -1) {
        if (n === 0) break;
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
        carry = total;
        continue;
      }
      const limit = n === 0 ? total : lastNl + 1;
      for (let i = buf.indexOf(10, 0); i !== -1 && i < limit; i = buf.indexOf(10, i + 1)) stats.lines++;
      if (n === 0 && total > 0 && buf[total - 1] !== 10) stats.lines++;
      for (const needle of [REVEAL, EXPORT]) {
        let done = -1;
        for (let at = buf.indexOf(needle, 0); at !== -1 && at < limit; at = buf.indexOf(needle, at + 1)) {
          if (at < done) continue;
          const [start, end] = lineAt(buf, at, limit);
          done = end;
          if (needle === EXPORT) parsedLine(buf, start, end, 'export');
          else if (!fast(buf, start, end, at)) parsedLine(buf, start, end, 'reveal');
        }
      }
      if (n === 0) break;
      carry = total - limit;
      buf.copy(buf, 0, limit, total);
    }
  } finally {
    closeSync(fd);
  }
  for (const list of accounts.values()) {
    for (const e of list) {
      const name = e.bytes.toString('utf8');
      if (e.n) volume.set(name, (volume.get(name) ?? 0) + e.n);
    }
  }
  // Linear counting: distinct ≈ −m·ln(empty / m).
  const universe = Math.round(-BITS * Math.log(Math.max(1, BITS - set) / BITS));
  return { volume, universe, exposures, stats };
}
