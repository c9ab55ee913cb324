/**
 * The events-file scanner's inner loop: newline-ended NDJSON lines in, counts out. Nothing is
 * decoded: each line is walked once over its bytes (./events-walk.ts), which finds its end and,
 * for an access reveal, where its account and waybill are. A reveal's waybill is hashed in place
 * (the distinct-records bitmap, the leaked-hash bitmap) and its account counted in place (a
 * string only for a new account). A leaked record's line, an export, a non-ASCII waybill, and any
 * line the walk cannot read exactly that may be a reveal or export (it names one, or holds an
 * escape) are parsed as JSON: slower, never skipped (docs/decisions/0012-attribution-scan.md).
 *
 * A part is plain data (maps, arrays, one bitmap) so that a worker can post it back whole.
 */
import type { Exposure } from './score.js';
import { EXPORT, ODD, REVEAL, walked, walkLine, type Walked } from './events-walk.js';

/** The distinct-records estimate uses linear counting over this many bits. */
export const SEEN_BITS = 1 << 24;
/** Leaked waybills' hashes, as a bitmap: a line's waybill becomes a string only on a hit here. */
const LEAK_BITS = 1 << 23;

export interface ScanStats {
  lines: number;
  reveals: number;
  parsed: number;
  bad: number;
}

export interface ScanPart {
  /** Records shown in full per account, from the fast path: keys are the account's UTF-8 bytes read as latin1. */
  latinVolume: Map<string, number>;
  /** The same from parsed lines (keys are real strings). */
  volume: Map<string, number>;
  /** One bit per waybill hash (SEEN_BITS), for the distinct-records estimate. */
  seen: Uint8Array;
  exposures: Exposure[];
  stats: ScanStats;
}

/** FNV-1a over UTF-16 code units: the waybill hash (waybills are ASCII, so latin1 and UTF-8 agree). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Typed arrays twice as long (growth of the account table's columns). */
const grown = <T extends Int32Array | Float64Array>(a: T): T => {
  const x = new (a.constructor as new (n: number) => T)(a.length * 2);
  x.set(a);
  return x;
};

/**
 * Counts per account on the fast path without making a string a line: an open-addressing table
 * keyed by the FNV hash of the account's bytes, compared in place; accounts are numbered in order
 * of appearance and their hash, bytes (in an arena) and count kept in typed arrays.
 */
class AccountCounter {
  private slots = new Int32Array(1 << 12);
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  private size = 0;
  private hashes = new Int32Array(1 << 11);
  private starts = new Int32Array(1 << 11);
  private ends = new Int32Array(1 << 11);
  private tally = new Float64Array(1 << 11);

  /** Counts one line for the account in bytes [from, to). */
  add(b: Uint8Array, from: number, to: number): void {
    let h = 0x811c9dc5;
    for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const slots = this.slots;
    const mask = slots.length - 1;
    let at = h & mask;
    for (let k; (k = slots[at]!) !== 0; at = (at + 1) & mask) {
      k--;
      if (this.hashes[k] !== h) continue;
      let j = this.starts[k]!;
      if (this.ends[k]! - j !== to - from) continue;
      const arena = this.arena;
      let i = from;
      while (i < to && b[i] === arena[j]) i++, j++;
      if (i === to) {
        this.tally[k]!++;
        return;
      }
    }
    this.insert(b, from, to, h, at);
  }

  private insert(b: Uint8Array, from: number, to: number, h: number, at: number): void {
    const k = this.size++;
    if (k === this.hashes.length) {
      this.hashes = grown(this.hashes);
      this.starts = grown(this.starts);
      this.ends = grown(this.ends);
      this.tally = grown(this.tally);
    }
    if (this.used + to - from > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.used + to - from));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    this.arena.set(b.subarray(from, to), this.used);
    this.hashes[k] = h;
    this.starts[k] = this.used;
    this.used += to - from;
    this.ends[k] = this.used;
    this.tally[k] = 1;
    if (this.size * 2 <= this.slots.length) {
      this.slots[at] = k + 1;
      return;
    }
    this.slots = new Int32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let x = 0; x < this.size; x++) {
      let p = this.hashes[x]! & mask;
      while (this.slots[p] !== 0) p = (p + 1) & mask;
      this.slots[p] = x + 1;
    }
  }

  /** Counts by account (the account's UTF-8 bytes as latin1). */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (let k = 0; k < this.size; k++) out.set(Buffer.from(this.arena.buffer, this.arena.byteOffset + this.starts[k]!, this.ends[k]! - this.starts[k]!).toString('latin1'), this.tally[k]!);
    return out;
  }
}

const bytesOf = (s: string) => Buffer.from(s, 'latin1');
/** A line the walk cannot read is parsed when it may be an access reveal or export: it names one, or holds an escape. */
const REVEAL_Q = bytesOf('reveal"');
const EXPORT_Q = bytesOf('export"');

export interface ChunkScanner {
  /** Scans the lines in bytes [0, end), every one ended by a newline (the reader adds one to a file's last line). */
  scan(bytes: Buffer, end: number): void;
  part: ScanPart;
}

export function createChunkScanner(leaked: ReadonlySet<string>): ChunkScanner {
  const part: ScanPart = { latinVolume: new Map(), volume: new Map(), seen: new Uint8Array(SEEN_BITS / 8), exposures: [], stats: { lines: 0, reveals: 0, parsed: 0, bad: 0 } };
  const { volume, seen, exposures, stats } = part;
  const leakBits = new Uint8Array(LEAK_BITS / 8);
  for (const w of leaked) {
    const i = hashString(w) & (LEAK_BITS - 1);
    leakBits[i >> 3]! |= 1 << (i & 7);
  }
  const accounts = new AccountCounter();
  const markSeen = (h: number) => {
    const i = h & (SEEN_BITS - 1);
    seen[i >> 3]! |= 1 << (i & 7);
  };

  /** A whole line as JSON: the slow, always-right path. */
  const parsedLine = (bytes: Buffer, start: number, end: number): void => {
    stats.parsed++;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(bytes.toString('utf8', start, end)) as Record<string, unknown>;
    } catch {
      stats.bad++;
      return;
    }
    if (e === null || typeof e !== 'object') {
      stats.bad++;
      return;
    }
    if (e.type !== 'access' || (e.action !== 'reveal' && e.action !== 'export') || e.result === 'denied' || typeof e.account !== 'string') return;
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

  /** A reveal the walk read: counted here, unless its waybill is a leaked one's or not ASCII (then parsed). */
  const reveal = (b: Buffer, s: number, w: Walked): void => {
    let h = 0x811c9dc5;
    let high = 0;
    for (let i = w.waybill, c; i < w.waybillEnd; i++) {
      high |= c = b[i]!;
      h = Math.imul(h ^ c, 0x01000193);
    }
    h >>>= 0;
    const i = h & (LEAK_BITS - 1);
    if (high & 0x80 || (leakBits[i >> 3]! & (1 << (i & 7)) && leaked.has(b.toString('latin1', w.waybill, w.waybillEnd)))) return parsedLine(b, s, w.end);
    stats.reveals++;
    markSeen(h);
    accounts.add(b, w.account, w.accountEnd);
  };

  const w = walked();
  const scan = (bytes: Buffer, end: number): void => {
    for (let s = 0; s < end; ) {
      stats.lines++;
      const kind = walkLine(bytes, s, w);
      if (kind === REVEAL) reveal(bytes, s, w);
      else if (kind === EXPORT) parsedLine(bytes, s, w.end);
      else if (kind === ODD) {
        const e = bytes.indexOf(10, s);
        const line = bytes.subarray(s, e);
        if (line.includes(92) || line.includes(REVEAL_Q) || line.includes(EXPORT_Q)) parsedLine(bytes, s, e);
        s = e + 1;
        continue;
      }
      s = w.end + 1;
    }
  };

  return {
    scan,
    get part() {
      // Fold the fast-path counts into the part (idempotent: the index is rebuilt from scratch each time).
      part.latinVolume = accounts.counts();
      return part;
    },
  };
}

/** Adds `b` into `a` (the parts of one file, in file order). */
export function mergeParts(a: ScanPart, b: ScanPart): ScanPart {
  for (const [k, n] of b.latinVolume) a.latinVolume.set(k, (a.latinVolume.get(k) ?? 0) + n);
  for (const [k, n] of b.volume) a.volume.set(k, (a.volume.get(k) ?? 0) + n);
  for (let i = 0; i < a.seen.length; i++) a.seen[i]! |= b.seen[i]!;
  for (const e of b.exposures) a.exposures.push(e);
  a.stats.lines += b.stats.lines;
  a.stats.reveals += b.stats.reveals;
  a.stats.parsed += b.stats.parsed;
  a.stats.bad += b.stats.bad;
  return a;
}

/** Bits set in a bitmap. */
export function popcount(bits: Uint8Array): number {
  const words = new Uint32Array(bits.buffer, bits.byteOffset, bits.byteLength >> 2);
  let n = 0;
  for (let i = 0; i < words.length; i++) {
    let v = words[i]!;
    v = v - ((v >>> 1) & 0x55555555);
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
  }
  return n;
}
