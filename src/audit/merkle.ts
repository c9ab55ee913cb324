/**
 * RFC 6962 / RFC 9162 Merkle tree over the audit entries: pure functions, no I/O.
 *
 *   leaf hash  = SHA-256(0x00 ‖ leaf data)        (leaf data = the entry's canonical form)
 *   node hash  = SHA-256(0x01 ‖ left ‖ right)
 *   MTH(D[n])  = split at the largest power of two below n, left subtree complete
 *
 * Invariants:
 * - Every range hashed by a proof is an RFC 6962 subtree [a, b): `a` is a multiple of the
 *   smallest power of two ≥ b − a, so its hash is the right fold of its aligned decomposition
 *   (`decompose`). Proof generation is therefore "which aligned subtrees" (pure) plus a lookup.
 * - A Frontier (compact range) holds one hash per set bit of the tree size, O(log n): appending
 *   a leaf and computing the root are O(log n), and it serialises for storage beside the head.
 * - Sizes are JS numbers (< 2^53); no bitwise operators on them.
 */
import * as crypto from 'node:crypto';

export const HASH_BYTES = 32;
export const EMPTY_ROOT = crypto.createHash('sha256').digest();

// The one-shot crypto.hash (Node ≥ 20.12) skips a Hash object per call: this runs twice per
// audit entry on the request path.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer | string, enc: 'buffer') => Buffer }).hash;
const sha256 = oneShot ? (data: Buffer) => oneShot('sha256', data, 'buffer') : (data: Buffer) => crypto.createHash('sha256').update(data).digest();

export function leafHash(data: string | Buffer): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const buf = Buffer.allocUnsafe(1 + bytes.length);
  buf[0] = 0;
  bytes.copy(buf, 1);
  return sha256(buf);
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);
  buf[0] = 1;
  left.copy(buf, 1);
  right.copy(buf, 1 + HASH_BYTES);
  return sha256(buf);
}

/** A complete, aligned subtree: leaves [index·2^level, (index+1)·2^level). */
export interface Subtree {
  level: number;
  index: number;
}

export type Range = readonly [start: number, end: number];

const pow2 = (level: number) => 2 ** level;

/** Largest power of two strictly below n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The aligned complete subtrees covering [a, b), left to right (sizes never grow). */
export function decompose(a: number, b: number): Subtree[] {
  const out: Subtree[] = [];
  let at = a;
  while (at < b) {
    let level = 0;
    while (at % pow2(level + 1) === 0 && at + pow2(level + 1) <= b) level++;
    out.push({ level, index: at / pow2(level) });
    at += pow2(level);
  }
  return out;
}

/** MTH(D[a:b]) from its aligned subtrees' hashes (see the header for why a right fold). */
export function rangeHash(range: Range, subtree: (s: Subtree) => Buffer): Buffer {
  const [a, b] = range;
  if (b <= a) return EMPTY_ROOT;
  const parts = decompose(a, b).map(subtree);
  let acc = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) acc = nodeHash(parts[i]!, acc);
  return acc;
}

/** The ranges whose hashes form PATH(m, D[n]) (RFC 6962 §2.1.1), leaf to root. */
export function inclusionRanges(m: number, n: number): Range[] {
  if (!(m >= 0 && m < n)) throw new RangeError(`leaf ${m} is outside a tree of size ${n}`);
  const out: Range[] = [];
  const walk = (m: number, a: number, b: number): void => {
    if (b - a <= 1) return;
    const k = splitPoint(b - a);
    if (m < k) {
      walk(m, a, a + k);
      out.push([a + k, b]);
    } else {
      walk(m - k, a + k, b);
      out.push([a, a + k]);
    }
  };
  walk(m, 0, n);
  return out;
}

/** The ranges whose hashes form PROOF(m, D[n]) (RFC 6962 §2.1.2), 0 < m ≤ n. */
export function consistencyRanges(m: number, n: number): Range[] {
  if (!(m > 0 && m <= n)) throw new RangeError(`no consistency proof from size ${m} to size ${n}`);
  const out: Range[] = [];
  const sub = (m: number, a: number, b: number, whole: boolean): void => {
    if (m === b - a) {
      if (!whole) out.push([a, b]);
      return;
    }
    const k = splitPoint(b - a);
    if (m <= k) {
      sub(m, a, a + k, whole);
      out.push([a + k, b]);
    } else {
      sub(m - k, a + k, b, false);
      out.push([a, a + k]);
    }
  };
  sub(m, 0, n, true);
  return out;
}

/** Every aligned subtree a list of ranges needs, without duplicates. */
export function subtreesOf(ranges: readonly Range[]): Subtree[] {
  const seen = new Map<string, Subtree>();
  for (const [a, b] of ranges) for (const s of decompose(a, b)) seen.set(`${s.level}/${s.index}`, s);
  return [...seen.values()];
}

const isOdd = (x: number) => x % 2 === 1;
const half = (x: number) => Math.floor(x / 2);

/** RFC 9162 §2.1.3.2: does `path` prove leaf `index` with hash `leaf` in a tree of `size` with `root`? */
export function verifyInclusion(index: number, size: number, leaf: Buffer, path: readonly Buffer[], root: Buffer): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!(isOdd(fn) || fn === 0)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2: does `proof` show that the tree of `first` leaves is a prefix of the tree of `second`? */
export function verifyConsistency(first: number, second: number, firstRoot: Buffer, secondRoot: Buffer, proof: readonly Buffer[]): boolean {
  if (!(Number.isSafeInteger(first) && Number.isSafeInteger(second) && first >= 0 && first <= second)) return false;
  if (first === second) return proof.length === 0 && firstRoot.equals(secondRoot);
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!(isOdd(fn) || fn === 0)) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}

function isPowerOfTwo(x: number): boolean {
  let p = 1;
  while (p < x) p *= 2;
  return p === x;
}

/**
 * The compact range [0, size): the roots of the complete subtrees for each set bit of `size`,
 * highest level first. Appending returns the complete subtrees the leaf finished, so a caller
 * can store those at the levels it keeps.
 */
export class Frontier {
  private constructor(
    private count: number,
    private readonly hashes: Buffer[],
  ) {}

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /** From storage: `bytes` holds popcount(size) hashes, highest level first. */
  static parse(size: number, bytes: Uint8Array): Frontier {
    const levels = setBits(size);
    if (bytes.length !== levels.length * HASH_BYTES) {
      throw new Error(`a frontier for tree size ${size} holds ${levels.length} hashes, found ${bytes.length} bytes`);
    }
    const hashes = levels.map((_, i) => Buffer.from(bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)));
    return new Frontier(size, hashes);
  }

  get size(): number {
    return this.count;
  }

  clone(): Frontier {
    return new Frontier(this.count, [...this.hashes]);
  }

  /** Adds one leaf; returns the complete subtrees it finished at `minLevel` and above (≥ 1), lowest first. */
  append(leaf: Buffer, minLevel = 1): Array<Subtree & { hash: Buffer }> {
    let done: Array<Subtree & { hash: Buffer }> | null = null;
    let node = leaf;
    let level = 0;
    let size = this.count;
    while (isOdd(size)) {
      node = nodeHash(this.hashes.pop()!, node);
      level++;
      size = half(size);
      // The leaf just added has index `count`; the node it finished ends there.
      if (level >= minLevel) (done ??= []).push({ level, index: Math.floor(this.count / pow2(level)), hash: node });
    }
    this.hashes.push(node);
    this.count++;
    return done ?? NONE;
  }

  root(): Buffer {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let acc = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) acc = nodeHash(this.hashes[i]!, acc);
    return acc;
  }

  serialize(): Buffer {
    return Buffer.concat(this.hashes);
  }
}

const NONE: Array<Subtree & { hash: Buffer }> = [];

/** Levels of the set bits of n, highest first. */
function setBits(n: number): number[] {
  const out: number[] = [];
  let level = 0;
  let x = n;
  while (x > 0) {
    if (isOdd(x)) out.push(level);
    x = half(x);
    level++;
  }
  return out.reverse();
}
