/**
 * The parcel book: sequence numbers per outlet, parcels due at their destination by day, the
 * recent waybills of each city (what clerks, agents, managers and attackers draw from), tickets.
 */
import type { Rng } from './rng.js';
import type { Parcel } from './sim-types.js';
import type { City, Site, World } from './world.js';

/** A uniform pick across several lists, without joining them. */
export function pickFrom(lists: string[][], r: Rng): string | undefined {
  let n = 0;
  for (const l of lists) n += l.length;
  if (n === 0) return undefined;
  let i = r.int(n);
  for (const l of lists) {
    if (i < l.length) return l[i];
    i -= l.length;
  }
  return undefined;
}

export class ParcelLedger {
  /** next sequence number per outlet */
  private readonly seq: number[];
  /** parcels due at their destination outlet, by day */
  private readonly arrivals = new Map<number, Parcel[]>();
  /** waybills touching each city (origin or destination), by creation day */
  private readonly recent = new Map<number, string[]>();
  private ticketCounter = 0;

  constructor(private readonly world: World) {
    this.seq = world.outlets.map((o) => o.seqStart);
  }

  /** The next sequence number of an outlet (allocated in order of creation). */
  allocate(o: Site): number {
    const seq = this.seq[o.index]!;
    this.seq[o.index] = seq + 1;
    return seq;
  }

  /** Highest sequence number allocated so far at an outlet (for enumeration attacks). */
  seqRange(o: Site): [number, number] {
    return [o.seqStart, this.seq[o.index]! - 1];
  }

  remember(city: City, d: number, wb: string): void {
    const k = city.index * 100_000 + d;
    let l = this.recent.get(k);
    if (!l) {
      l = [];
      this.recent.set(k, l);
    }
    l.push(wb);
  }

  /** Recent waybills that touch a city (or any city), created in the last `lookback` days up to d. */
  recentPool(city: City | undefined, d: number, lookback: number): string[][] {
    const lists: string[][] = [];
    const cities = city ? [city] : this.world.cities;
    for (let k = Math.max(0, d - lookback + 1); k <= d; k++) {
      for (const c of cities) {
        const l = this.recent.get(c.index * 100_000 + k);
        if (l && l.length > 0) lists.push(l);
      }
    }
    return lists;
  }

  due(d: number, p: Parcel): void {
    let l = this.arrivals.get(d);
    if (!l) {
      l = [];
      this.arrivals.set(d, l);
    }
    l.push(p);
  }

  arrivalsOn(d: number): Parcel[] {
    return this.arrivals.get(d) ?? [];
  }

  nextTicket(): string {
    return `TK${String(++this.ticketCounter).padStart(8, '0')}`;
  }

  /** Drops day d's arrivals (delivered by now) and pools more than a week old. */
  forget(d: number): void {
    this.arrivals.delete(d);
    for (const k of this.recent.keys()) if (k % 100_000 < d - 7) this.recent.delete(k);
  }
}
