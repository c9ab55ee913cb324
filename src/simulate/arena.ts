/**
 * A day's actions as bytes: each action's serialized body goes into fixed-size Buffer chunks,
 * with its time, chunk, offset, length and tag in typed arrays. Nothing per action survives on
 * the JS heap, so the garbage collector never copies a day's worth of objects; sorting works on
 * typed arrays and writing is memcpy.
 */
import type { SimAction } from './action.js';
import { type Frag, type PieceWriter, writeBody } from './serialize.js';

const CHUNK = 1 << 23;

/** Buffer's native one-byte writer (Node has it on every Buffer; @types/node does not list it). */
type Latin1Writable = Buffer & { latin1Write(s: string, offset: number): number };

export class DayArena implements PieceWriter {
  chunks: Buffer[] = [Buffer.allocUnsafe(CHUNK)];
  private cur: Latin1Writable = this.chunks[0] as Latin1Writable;
  /** the same memory as `cur`, as a plain Uint8Array: `set` and indexing are faster on it */
  private cur8 = new Uint8Array(this.cur.buffer, this.cur.byteOffset, this.cur.length);
  private used = 0;
  n = 0;
  t = new Float64Array(1 << 14);
  chunk = new Uint16Array(1 << 14);
  start = new Uint32Array(1 << 14);
  len = new Uint32Array(1 << 14);
  tag = new Uint16Array(1 << 14);

  add(t: number, body: string, tag: number): void {
    if (this.n === this.t.length) this.growIndex();
    // bodies are ASCII, so bytes = length
    if (this.used + body.length > this.cur.length) {
      const b = Buffer.allocUnsafe(Math.max(CHUNK, body.length));
      this.chunks.push(b);
      this.cur = b as Latin1Writable;
      this.used = 0;
    }
    const i = this.n++;
    this.t[i] = t;
    this.chunk[i] = this.chunks.length - 1;
    this.start[i] = this.used;
    const w = this.cur.latin1Write(body, this.used);
    this.len[i] = w;
    this.used += w;
    this.tag[i] = tag;
  }

  /** Serializes an action's body straight into the current chunk. */
  addAction(a: SimAction): void {
    if (this.n === this.t.length) this.growIndex();
    // room for the longest body: a search or export lists its waybills
    const need = 2048 + (a.waybills ? a.waybills.length * 24 : 0);
    if (this.used + need > this.cur.length) {
      const b = Buffer.allocUnsafe(Math.max(CHUNK, need));
      this.chunks.push(b);
      this.cur = b as Latin1Writable;
      this.cur8 = new Uint8Array(b.buffer, b.byteOffset, b.length);
      this.used = 0;
    }
    const i = this.n++;
    const from = this.used;
    this.t[i] = a.t;
    this.chunk[i] = this.chunks.length - 1;
    this.start[i] = from;
    writeBody(a, this);
    this.len[i] = this.used - from;
    this.tag[i] = a.tag;
  }

  /** PieceWriter: appends an ASCII piece (room was made by addAction). */
  w(piece: string): void {
    const n = piece.length;
    if (n > 40) {
      this.used += this.cur.latin1Write(piece, this.used);
      return;
    }
    // short pieces: a JS loop beats a call into C++
    const b = this.cur8;
    let o = this.used;
    for (let k = 0; k < n; k++) b[o++] = piece.charCodeAt(k);
    this.used = o;
  }

  /** PieceWriter: appends a cached piece's bytes. */
  f(frag: Frag): void {
    const src = frag.b;
    const n = src.length;
    if (n > 12) {
      this.cur8.set(src, this.used);
      this.used += n;
      return;
    }
    const b = this.cur8;
    let o = this.used;
    for (let k = 0; k < n; k++) b[o++] = src[k]!;
    this.used = o;
  }

  /** Copies entry i's bytes into target at offset; returns the number of bytes. */
  copy(i: number, target: Buffer, offset: number): number {
    const s = this.start[i]!;
    return this.chunks[this.chunk[i]!]!.copy(target, offset, s, s + this.len[i]!);
  }

  private growIndex(): void {
    const m = this.t.length * 2;
    const t = new Float64Array(m);
    t.set(this.t);
    this.t = t;
    const c = new Uint16Array(m);
    c.set(this.chunk);
    this.chunk = c;
    const s = new Uint32Array(m);
    s.set(this.start);
    this.start = s;
    const l = new Uint32Array(m);
    l.set(this.len);
    this.len = l;
    const g = new Uint16Array(m);
    g.set(this.tag);
    this.tag = g;
  }

  /** Indices in time order, stable for equal times (counting sort on seconds, insertion inside). */
  order(): Uint32Array {
    const n = this.n;
    const t = this.t;
    const out = new Uint32Array(n);
    if (n === 0) return out;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = t[i]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const nb = Math.floor((max - min) / 1000) + 1;
    const counts = new Uint32Array(nb + 1);
    for (let i = 0; i < n; i++) counts[Math.floor((t[i]! - min) / 1000) + 1]!++;
    for (let b = 1; b <= nb; b++) counts[b]! += counts[b - 1]!;
    for (let i = 0; i < n; i++) out[counts[Math.floor((t[i]! - min) / 1000)]!++] = i;
    for (let i = 1; i < n; i++) {
      const k = out[i]!;
      const tk = t[k]!;
      let j = i - 1;
      while (j >= 0 && t[out[j]!]! > tk) {
        out[j + 1] = out[j]!;
        j--;
      }
      out[j + 1] = k;
    }
    return out;
  }
}
