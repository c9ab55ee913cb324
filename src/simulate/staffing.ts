/** Who does the work: route owners and stand-ins at an outlet, the clerk on duty, the night sorter. */
import type { Role } from '../contracts/events.js';
import type { People } from './people.js';
import type { DayPlan, OutletDay } from './sim-types.js';
import { type Account, type Site, type World, worksOn } from './world.js';

export class Staffing {
  private readonly outletDays = new Map<number, OutletDay>();
  private staffIndex: Map<Site, Map<Role, Account[]>> | undefined;
  private coverers: Account[] | undefined;

  constructor(
    private readonly world: World,
    private readonly people: People,
  ) {}

  staffOf(site: Site, role: Role): Account[] {
    if (!this.staffIndex) {
      this.staffIndex = new Map();
      for (const a of this.world.accounts) {
        let m = this.staffIndex.get(a.site);
        if (!m) this.staffIndex.set(a.site, (m = new Map()));
        let l = m.get(a.role);
        if (!l) m.set(a.role, (l = []));
        l.push(a);
      }
    }
    return this.staffIndex.get(site)?.get(role) ?? [];
  }

  outletDay(o: Site, d: number): OutletDay {
    const key = d * 100_000 + o.index;
    let od = this.outletDays.get(key);
    if (od) return od;
    const couriers = this.staffOf(o, 'courier');
    const owner: (Account | undefined)[] = new Array(o.routes).fill(undefined);
    const present: Account[] = [];
    const temps: Account[] = [];
    for (const c of couriers) {
      if (!worksOn(this.world, c, d) || c.cover.has(d)) continue;
      if (c.temp || c.route < 0) temps.push(c);
      else {
        present.push(c);
        if (c.route < o.routes) owner[c.route] = c;
      }
    }
    // colleagues from other outlets covering a route here
    this.coverers ??= this.world.accounts.filter((a) => a.role === 'courier' && a.cover.size > 0);
    for (const c of this.coverers) {
      const cv = c.cover.get(d);
      if (cv && cv.outlet === o && worksOn(this.world, c, d)) {
        owner[cv.route] = c;
        present.push(c);
      }
    }
    const staff: DayPlan[] = [];
    for (const s of this.staffOf(o, 'outlet_staff')) {
      const p = this.people.planFor(s, d);
      if (p) staff.push(p);
    }
    od = { owner, present, temps, staff };
    this.outletDays.set(key, od);
    return od;
  }

  /** The courier who handles route r of outlet o on day d (h spreads shared work). */
  courierFor(o: Site, route: number, d: number, h: number): DayPlan {
    const od = this.outletDay(o, d);
    let c = od.owner[route];
    if (c && od.temps.length > 0 && h % 3 === 0) c = od.temps[(h >>> 2) % od.temps.length];
    if (!c) {
      const pool = od.present.length + od.temps.length > 0 ? [...od.present, ...od.temps] : this.staffOf(o, 'courier');
      c = pool[(h >>> 3) % pool.length]!;
    }
    return this.people.planFor(c, d) ?? this.people.planFor(c, d, true)!;
  }

  /** An outlet clerk on duty around time t (the one whose shift covers it, else the nearest). */
  clerkAt(o: Site, d: number, t: number): DayPlan {
    const od = this.outletDay(o, d);
    let best: DayPlan | undefined;
    let bestGap = Infinity;
    for (const p of od.staff) {
      const gap = t < p.start ? p.start - t : t > p.end ? t - p.end : 0;
      if (gap < bestGap) {
        best = p;
        bestGap = gap;
      }
    }
    if (best) return best;
    const any = this.staffOf(o, 'outlet_staff')[0]!;
    const forced = this.people.planFor(any, d, true)!;
    od.staff.push(forced);
    return forced;
  }

  /** A sorting-centre operator on the night shift of day d. */
  sorterAt(sc: Site, d: number, h: number): DayPlan {
    const staff = this.staffOf(sc, 'sorting');
    const on: DayPlan[] = [];
    for (const s of staff) {
      const p = this.people.planFor(s, d);
      if (p) on.push(p);
    }
    if (on.length > 0) return on[h % on.length]!;
    return this.people.planFor(staff[h % staff.length]!, d, true)!;
  }

  /** Drops outlet rosters of days before d. */
  forget(d: number): void {
    for (const k of this.outletDays.keys()) if (Math.floor(k / 100_000) < d) this.outletDays.delete(k);
  }
}
