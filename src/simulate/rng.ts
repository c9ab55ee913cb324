/**
 * Seeded pseudo-random numbers for the simulator. Output must be byte-identical for a seed, so
 * nothing in src/simulate may call Math.random or read the clock: every draw comes from here.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, 32-bit operations
 * only, passes PractRand to terabytes; plenty for synthetic data and fast in V8.
 */

/** 32-bit FNV-1a style hash of a string, then a murmur finaliser; stable across platforms. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** Murmur3 32-bit finaliser: spreads every input bit over the output. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines integers into one 32-bit hash (order matters). */
export function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = fmix((h ^ (p >>> 0)) + Math.imul(h, 31));
    // fold in the high part of numbers above 2^32 (waybill sequences, timestamps)
    const hi = Math.floor(p / 4294967296);
    if (hi !== 0) h = fmix(h ^ (hi >>> 0));
  }
  return h >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, seed2 = 0x6a09e667, seed3 = 0xbb67ae85) {
    this.a = seed >>> 0;
    this.b = seed2 >>> 0;
    this.c = seed3 >>> 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A new generator for a named sub-stream; the same (seed, labels) always gives the same stream. */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    const parts = labels.map((l) => (typeof l === 'string' ? hashString(l) : l));
    const h1 = mix(seed, ...parts);
    const h2 = mix(h1, 0x51ed270b);
    const h3 = mix(h2, 0x2545f491);
    return new Rng(h1, h2, h3);
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new Error('pick from an empty array');
    return arr[Math.floor(this.next() * arr.length)]!;
  }

  /** Approximately normal (sum of three uniforms), mean 0, sd 1; bounded to ±3. */
  normal(): number {
    return (this.next() + this.next() + this.next() - 1.5) * 2;
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Lowercase hex string of n characters. */
  hex(n: number): string {
    let s = '';
    while (s.length < n) s += this.u32().toString(16).padStart(8, '0');
    return s.slice(0, n);
  }

  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
  }
}

/** Weighted choice by binary search over cumulative weights; build once, draw many times. */
export class WeightedTable<T> {
  private readonly cum: Float64Array;
  private readonly total: number;

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    if (items.length === 0 || items.length !== weights.length) throw new Error('weighted table needs matching items and weights');
    this.cum = new Float64Array(items.length);
    let acc = 0;
    for (let i = 0; i < weights.length; i++) {
      acc += weights[i]!;
      this.cum[i] = acc;
    }
    this.total = acc;
  }

  draw(rng: Rng): T {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}
