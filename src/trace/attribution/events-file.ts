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
const BITS = 1 << 24;

export interface ScanStats {
  lines: number;
  reveals: number;
  parsed: number;
  bad: number;
}

/** Reads every byte once and nothing more: the baseline the scan is measured against. */
export function bareRead(path: string): { bytes: number } {
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  try {
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0; ) bytes += n;
  } finally {
    closeSync(fd);
  }
  return { bytes };
}

/** A string hash (FNV-1a over UTF-16 code units) for the distinct-records estimate. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Chunks are decoded as latin1 (one byte, one character: fast, and the byte offsets survive), so
 * field search is V8's string search; a line read in full is decoded again as UTF-8.
 */
export function historyFromFile(path: string, leaked: ReadonlySet<string>): History & { stats: ScanStats } {
  const latinVolume = new Map<string, number>();
  const volume = new Map<string, number>();
  const seen = new Uint8Array(BITS / 8);
  let set = 0;
  const exposures: Exposure[] = [];
  const stats: ScanStats = { lines: 0, reveals: 0, parsed: 0, bad: 0 };
  const markSeen = (h: number) => {
    const i = h & (BITS - 1);
    const bit = 1 << (i & 7);
    if (!(seen[i >> 3]! & bit)) {
      seen[i >> 3]! |= bit;
      set++;
    }
  };

  /** A whole line as JSON: the slow, always-right path. */
  const parsedLine = (text: string, start: number, end: number, only: 'reveal' | 'export'): void => {
    stats.parsed++;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(Buffer.from(text.slice(start, end), 'latin1').toString('utf8')) as Record<string, unknown>;
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
      markSeen(hashString(w));
      if (leaked.has(w)) exposures.push({ account: e.account, waybill: w, ts, device: typeof e.device === 'string' ? e.device : null, ip: typeof e.ip === 'string' ? e.ip : null, via: e.action === 'export' ? 'export' : 'reveal' });
    }
  };

  /** A field's value on the fast path: [from, to) inside the line, or null (absent, or escaped). */
  const field = (text: string, key: string, start: number, end: number): [number, number] | null => {
    const k = text.indexOf(key, start);
    if (k === -1 || k >= end) return null;
    const from = k + key.length;
    const to = text.indexOf('"', from);
    if (to === -1 || to > end || text.charCodeAt(to - 1) === 92) return null;
    return [from, to];
  };

  /** One reveal line on the fast path; false when it must be parsed instead. */
  const fast = (text: string, start: number, end: number, at: number): boolean => {
    if (!text.startsWith('"action":', at - 9) || at - 9 < start) return false;
    const result = field(text, '"result":"', start, end);
    if (!result) return false;
    if (text.charCodeAt(result[0]) !== 97) return true; // not "allowed": nothing was shown
    const f = text.indexOf('"fields":', start);
    if (f !== -1 && f < end && text.startsWith('[]', f + 9)) return true; // a masked answer
    const a = field(text, '"account":"', start, end);
    const w = field(text, '"waybill":"', start, end);
    if (!a || !w) return false;
    const waybill = text.slice(w[0], w[1]);
    // A leaked record's line is read in full (time, device, network): the JSON path.
    if (leaked.has(waybill)) return false;
    stats.reveals++;
    const account = text.slice(a[0], a[1]);
    latinVolume.set(account, (latinVolume.get(account) ?? 0) + 1);
    markSeen(hashString(waybill));
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
      const lastNl = n === 0 ? total - 1 : buf.lastIndexOf(10, total - 1);
      if (lastNl === -1) {
        // A line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, total);
        buf = bigger;
        carry = total;
        continue;
      }
      const limit = lastNl + 1;
      const text = buf.toString('latin1', 0, limit);
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) stats.lines++;
      if (n === 0 && text.charCodeAt(text.length - 1) !== 10) stats.lines++;
      for (const needle of ['"reveal"', '"export"']) {
        let done = -1;
        for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
          if (at < done) continue;
          const start = text.lastIndexOf('\n', at) + 1;
          const nl = text.indexOf('\n', at);
          const end = nl === -1 ? text.length : nl;
          done = end;
          if (needle === '"export"') parsedLine(text, start, end, 'export');
          else if (!fast(text, start, end, at)) parsedLine(text, start, end, 'reveal');
        }
      }
      if (n === 0) break;
      carry = total - limit;
      buf.copy(buf, 0, limit, total);
    }
  } finally {
    closeSync(fd);
  }
  for (const [k, n] of latinVolume) {
    const name = Buffer.from(k, 'latin1').toString('utf8');
    volume.set(name, (volume.get(name) ?? 0) + n);
  }
  // Linear counting: distinct ≈ −m·ln(empty / m).
  const universe = Math.round(-BITS * Math.log(Math.max(1, BITS - set) / BITS));
  return { volume, universe, exposures, stats };
}
