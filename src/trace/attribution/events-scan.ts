/**
 * The events-file scanner's inner loop: complete NDJSON lines in, counts out. Chunks are decoded
 * as latin1 (one byte, one character: cheap, and V8's string search runs on them), lines are
 * walked with one newline search each, and a line is looked at only when it holds `reveal"` or
 * `export"`. On an allowed reveal the fast path finds `account`, `waybill`, `result` and `fields`
 * by string search bounded to the line and hashes the waybill in place; a string is made only for
 * the account (a map key) and for a waybill whose hash is among the leaked ones. A leaked record's
 * line, an export, and any line the fast path cannot read exactly (spaces after colons, escapes,
 * a key found where it is not a key) are parsed as JSON: slower, never skipped
 * (docs/decisions/0012-attribution-scan.md).
 *
 * A part is plain data (maps, arrays, one bitmap) so that a worker can post it back whole.
 */
import type { Exposure } from './score.js';

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

const NONE = -1;
const BAD = -2;

/**
 * Counts per account on the fast path without making a string a line: an open-addressing table
 * keyed by the FNV hash of the account's characters, compared in place; a string is made once per
 * account.
 */
function createAccountCounter() {
  let slots = new Int32Array(1 << 12);
  let arena = new Uint8Array(1 << 16);
  let used = 0;
  const starts: number[] = [];
  const lengths: number[] = [];
  const hashes: number[] = [];
  const counts: number[] = [];
  const place = (h: number) => {
    let i = h & (slots.length - 1);
    while (slots[i] !== 0) i = (i + 1) & (slots.length - 1);
    return i;
  };
  const same = (k: number, bytes: Uint8Array, from: number, to: number) => {
    if (lengths[k] !== to - from) return false;
    for (let i = from, j = starts[k]!; i < to; i++, j++) if (bytes[i] !== arena[j]) return false;
    return true;
  };
  return {
    /** Counts one line for the account in bytes [from, to). */
    add(bytes: Uint8Array, from: number, to: number): void {
      let h = 0x811c9dc5;
      for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
      const mask = slots.length - 1;
      for (let i = h & mask; ; i = (i + 1) & mask) {
        const k = slots[i]! - 1;
        if (k === -1) break;
        if (hashes[k] === h && same(k, bytes, from, to)) {
          counts[k]!++;
          return;
        }
      }
      if (used + to - from > arena.length) {
        const bigger = new Uint8Array(Math.max(arena.length * 2, used + to - from));
        bigger.set(arena.subarray(0, used));
        arena = bigger;
      }
      arena.set(bytes.subarray(from, to), used);
      starts.push(used);
      lengths.push(to - from);
      used += to - from;
      hashes.push(h);
      counts.push(1);
      if (starts.length * 2 > slots.length) {
        slots = new Int32Array(slots.length * 2);
        for (let k = 0; k < starts.length; k++) slots[place(hashes[k]!)] = k + 1;
      } else slots[place(h)] = starts.length;
    },
    /** Counts by account (the account's UTF-8 bytes as latin1). */
    counts: (): Map<string, number> => new Map(starts.map((at, k) => [Buffer.from(arena.buffer, arena.byteOffset + at, lengths[k]).toString('latin1'), counts[k]!])),
  };
}

const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const ACTION = bytesOf('"action":');
const WAYBILL = bytesOf(',"waybill":"');
const FIELDS = bytesOf(',"fields":[');
const ALLOWED = bytesOf('allowed"');
const DENIED = bytesOf('denied"');
/** `key`'s bytes at `at`. */
const bytesAt = (b: Uint8Array, at: number, key: Uint8Array): boolean => {
  for (let i = 0; i < key.length; i++) if (b[at + i] !== key[i]) return false;
  return true;
};

export interface ChunkScanner {
  /** Scans the complete lines in bytes [0, end) (the last one may lack its newline only at the end of the file). */
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
  const accounts = createAccountCounter();
  const markSeen = (h: number) => {
    const i = h & (SEEN_BITS - 1);
    seen[i >> 3]! |= 1 << (i & 7);
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
    if (e === null || typeof e !== 'object') {
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

  /**
   * Where the value of `key` (written `name":"` or `name":`) starts: looked for from `hint` (where
   * the usual layout puts it), then from the line's start; NONE when absent, BAD when not plainly
   * a key (no quote, or no `,`/`{` before it: whitespace, escapes). No startsWith here: on these
   * large external strings it costs more than a search.
   */
  const valueAt = (text: string, key: string, hint: number, start: number, end: number): number => {
    let k = text.indexOf(key, hint);
    if ((k === -1 || k >= end) && hint > start) k = text.indexOf(key, start);
    if (k === -1 || k >= end) return NONE;
    const c = text.charCodeAt(k - 2);
    return text.charCodeAt(k - 1) === 34 && (c === 44 || c === 123) ? k + key.length : BAD;
  };
  /** The closing quote of a string value starting at `from`; BAD when it is escaped or past the line. */
  const closeAt = (text: string, from: number, end: number): number => {
    const to = text.indexOf('"', from);
    return to === -1 || to >= end || text.charCodeAt(to - 1) === 92 ? BAD : to;
  };

  /**
   * One reveal line (`at`: its `reveal"`); false when it must be parsed instead. Keys are looked for
   * where the usual layout puts them first, then anywhere in the line: with no nested object in
   * the line (no `{` after its first character), a key found is the line's own key.
   */
  const fast = (text: string, b: Uint8Array, start: number, end: number, at: number): boolean => {
    if (at - 11 < start || !bytesAt(b, at - 10, ACTION)) return false;
    let c = b[at - 11];
    if (c !== 44 && c !== 123) return false;
    const brace = text.indexOf('{', start + 1);
    if (brace !== -1 && brace < end) return false;
    const w = bytesAt(b, at + 7, WAYBILL) ? at + 7 + WAYBILL.length : valueAt(text, 'waybill":"', start, start, end);
    if (w < 0) return false;
    // The waybill's end and hash in one pass (an escape: parse instead).
    let h = 0x811c9dc5;
    let we = w;
    for (; we < end && (c = b[we]!) !== 34; we++) {
      if (c === 92) return false;
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (we >= end) return false;
    let f = bytesAt(b, we + 1, FIELDS) ? we + FIELDS.length : valueAt(text, 'fields":', we, start, end);
    if (f === BAD) return false;
    if (f !== NONE) {
      if (b[f] !== 91) return false;
      c = b[++f];
      if (c === 93) return true; // a masked answer
      if (c !== 34) return false; // not plainly a list of names
    }
    const r = valueAt(text, 'result":"', f === NONE ? we : f, start, end);
    if (r < 0) return false;
    if (bytesAt(b, r, DENIED)) return true; // nothing was shown
    if (!bytesAt(b, r, ALLOWED)) return false;
    const a = valueAt(text, 'account":"', start, start, end);
    if (a < 0) return false;
    let ae = a;
    for (; ae < end && (c = b[ae]!) !== 34; ae++) if (c === 92) return false;
    if (ae >= end) return false;
    h >>>= 0;
    const i = h & (LEAK_BITS - 1);
    // A leaked record's line is read in full (time, device, network): the JSON path.
    if (leakBits[i >> 3]! & (1 << (i & 7)) && leaked.has(text.slice(w, we))) return false;
    stats.reveals++;
    markSeen(h);
    accounts.add(b, a, ae);
    return true;
  };

  const scan = (bytes: Buffer, end: number): void => {
    const text = bytes.toString('latin1', 0, end);
    const len = end;
    const none = len + 1;
    const find = (needle: string, from: number) => {
      const i = text.indexOf(needle, from);
      return i === -1 ? none : i;
    };
    let r = find('reveal"', 0);
    let x = find('export"', 0);
    for (let s = 0; s < len; ) {
      let nl = text.indexOf('\n', s);
      if (nl === -1) nl = len;
      stats.lines++;
      if (x < nl) {
        while (x < nl && text.charCodeAt(x - 1) !== 34) x = find('export"', x + 1);
        if (x < nl) parsedLine(text, s, nl, 'export');
        if (x < nl) x = find('export"', nl);
      }
      if (r < nl) {
        while (r < nl && text.charCodeAt(r - 1) !== 34) r = find('reveal"', r + 1);
        if (r < nl && !fast(text, bytes, s, nl, r)) parsedLine(text, s, nl, 'reveal');
        if (r < nl) r = find('reveal"', nl);
      }
      s = nl + 1;
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
