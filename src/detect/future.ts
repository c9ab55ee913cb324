/**
 * Events from the far future (a device with a wrong clock, a forged ts) must not move the engine's
 * clock: one event stamped next year would otherwise release the whole reorder buffer, make every
 * later event "late" and let sweeps expire every profile. Such events are held aside here, sorted
 * by time, until the engine's own clock comes within reach of them (then they join the reorder
 * buffer like any other event), until enough of them agree that the stream really moved on (the
 * engine then moves its clock to their median time, never to a lone outlier), or the stream ends
 * (flush). Bounded: past `cap` the furthest one
 * is dropped and counted — never silently.
 */
import type { ActivityEvent } from '../contracts/events.js';

export class FutureHold {
  private readonly ts: number[] = [];
  private readonly evs: ActivityEvent[] = [];
  held = 0;
  dropped = 0;

  constructor(private readonly cap: number) {}

  get size(): number {
    return this.ts.length;
  }

  /** Holds an event (stable for equal times). */
  add(ev: ActivityEvent, t: number): void {
    this.held++;
    let lo = 0;
    let hi = this.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ts[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    this.ts.splice(lo, 0, t);
    this.evs.splice(lo, 0, ev);
    if (this.ts.length > this.cap) {
      this.ts.pop();
      this.evs.pop();
      this.dropped++;
    }
  }

  /** The median held time (undefined when nothing is held). */
  medianTime(): number {
    return this.ts[this.ts.length >> 1]!;
  }

  /** Takes out, in time order, every held event at or before `upTo`. */
  takeUpTo(upTo: number, into: (ev: ActivityEvent, t: number) => void): void {
    let n = 0;
    while (n < this.ts.length && this.ts[n]! <= upTo) n++;
    if (n === 0) return;
    const ts = this.ts.splice(0, n);
    const evs = this.evs.splice(0, n);
    for (let i = 0; i < n; i++) into(evs[i]!, ts[i]!);
  }
}
