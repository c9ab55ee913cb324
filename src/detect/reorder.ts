/**
 * The reorder buffer: events held sorted by (event time, arrival order) until the engine's
 * watermark passes them. A ring of capacity `mask + 1` (a power of two, doubled when full):
 * `size` events from `head`. In-order arrivals append in O(1); an out-of-order one is placed by
 * binary search (after every buffered event of the same time, so ties keep arrival order).
 * No allocation per event.
 */
import type { ActivityEvent } from '../contracts/events.js';

export class ReorderBuffer {
  private mask: number;
  private ev: Array<ActivityEvent | undefined>;
  private ts: Float64Array;
  private head = 0;
  /** Events buffered now. */
  size = 0;
  /** The most ever buffered at once. */
  maxSize = 0;
  /** Arrivals that had to be placed before already-buffered events. */
  reordered = 0;

  constructor(capacity = 1024) {
    let cap = 1;
    while (cap < capacity) cap *= 2;
    this.mask = cap - 1;
    this.ev = new Array<ActivityEvent | undefined>(cap).fill(undefined);
    this.ts = new Float64Array(cap);
  }

  insert(event: ActivityEvent, t: number): void {
    if (this.size > this.mask) this.grow();
    const mask = this.mask;
    const ts = this.ts;
    const ev = this.ev;
    const head = this.head;
    const n = this.size;
    if (n === 0 || t >= ts[(head + n - 1) & mask]!) {
      const j = (head + n) & mask;
      ev[j] = event;
      ts[j] = t;
    } else {
      // Out of order: binary search the first buffered time > t (stable for equal times), then
      // shift the later ones up by one.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ts[(head + mid) & mask]! <= t) lo = mid + 1;
        else hi = mid;
      }
      for (let i = n; i > lo; i--) {
        const to = (head + i) & mask;
        const from = (head + i - 1) & mask;
        ev[to] = ev[from];
        ts[to] = ts[from]!;
      }
      const j = (head + lo) & mask;
      ev[j] = event;
      ts[j] = t;
      this.reordered++;
    }
    this.size = n + 1;
    if (this.size > this.maxSize) this.maxSize = this.size;
  }

  /** Hands every buffered event at or before `upTo` to `handle`, oldest first. */
  releaseUpTo(upTo: number, handle: (event: ActivityEvent, t: number) => void): void {
    while (this.size > 0 && this.ts[this.head]! <= upTo) {
      const head = this.head;
      const event = this.ev[head]!;
      const t = this.ts[head]!;
      this.ev[head] = undefined;
      this.head = (head + 1) & this.mask;
      this.size--;
      handle(event, t);
    }
  }

  private grow(): void {
    const cap = (this.mask + 1) * 2;
    const ev = new Array<ActivityEvent | undefined>(cap).fill(undefined);
    const ts = new Float64Array(cap);
    for (let i = 0; i < this.size; i++) {
      const j = (this.head + i) & this.mask;
      ev[i] = this.ev[j];
      ts[i] = this.ts[j]!;
    }
    this.ev = ev;
    this.ts = ts;
    this.head = 0;
    this.mask = cap - 1;
  }
}
