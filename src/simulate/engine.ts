/**
 * Plays the world day by day. Each simulated day produces its actions into per-day buckets
 * (an action can land on a later day: a night sort, a parcel's arrival two days on); a day's
 * bucket is complete, sorted and handed out as soon as that day has been generated, because no
 * later day ever produces an action earlier than its own local midnight. Memory therefore holds
 * a few days of actions and the parcels in flight, however long the run.
 */
import type { Role } from '../contracts/events.js';
import { type SimAction, F_NA, F_NONE, F_NP, F_NPA, blankAction } from './action.js';
import { Rng, hashString, mix } from './rng.js';
import { DayArena } from './arena.js';
import { resetFragmentCache } from './serialize.js';
import { DAY, HOUR, MINUTE, cstDate } from './time.js';
import { type Account, type City, type Device, type Site, type World, dayStart, deviceOn, surgeDayIndex, weekdayOf, worksOn } from './world.js';

/** What the engine calls on a planned scenario (src/simulate/scenarios/): once at start, then once a day. */
export interface ScenarioHooks {
  prepare?(sim: Simulation): void;
  run?(sim: Simulation, d: number): void;
}

export interface Session {
  id: string;
  start: number;
  end: number;
  device: Device;
  ip: string;
  city: string;
}

export interface DayPlan {
  account: Account;
  day: number;
  start: number;
  end: number;
  sessions: Session[];
  /** the login actions of the day, in session order */
  logins: SimAction[];
}

export interface Parcel {
  waybill: string;
  origin: Site;
  dest: Site;
  originRoute: number;
  destRoute: number;
  /** hash used to spread work deterministically */
  h: number;
  /** recipient collects at the outlet counter instead of a door delivery */
  counter: boolean;
  /** delivery attempts so far */
  attempts: number;
}

export interface SimDay {
  day: number;
  /** local (CST) date */
  date: string;
  actions: SimAction[];
}

/** A day as serialized bytes (the file writer's fast path). */
export interface SimDayBytes {
  day: number;
  date: string;
  arena: DayArena;
}

interface OutletDay {
  owner: (Account | undefined)[];
  present: Account[];
  temps: Account[];
  staff: DayPlan[];
}

const WEEKDAY_FACTOR = [0.75, 1.05, 1.0, 1.0, 1.0, 1.0, 0.85]; // Sun..Sat

/** Waybill number: carrier prefix, '7', the origin outlet's 4-digit block, an 8-digit sequence. */
export function waybillNumber(prefix: string, block: number, seq: number): string {
  return `${prefix}7${block}${String(seq).padStart(8, '0')}`;
}

/** Where a parcel goes, fixed by its origin and sequence number (so a live driver can recompute it). */
const PARCEL_LABEL = hashString('parcel');
export function parcelRoute(w: World, origin: Site, seq: number): Parcel {
  const h1 = mix(w.seed, PARCEL_LABEL, origin.index, seq);
  const h2 = mix(h1, 0x51ed270b);
  const r = new Rng(h1, h2, mix(h2, 0x2545f491)); // = Rng.derive(seed, 'parcel', origin, seq), without the allocations
  const cities = w.cities;
  let destCity: City = origin.city;
  if (cities.length > 1 && !r.chance(0.35)) {
    // weight other cities by their number of outlets (all equal here) => uniform among the others
    const k = r.int(cities.length - 1);
    destCity = cities[k >= origin.city.index ? k + 1 : k]!;
  }
  const dest = r.pick(destCity.outlets);
  return {
    waybill: waybillNumber(w.params.carrierPrefix, origin.block, seq),
    origin,
    dest,
    originRoute: r.int(origin.routes),
    destRoute: r.int(dest.routes),
    h: r.u32(),
    counter: r.chance(0.25),
    attempts: 0,
  };
}

export class Simulation {
  readonly world: World;
  readonly scenarios: readonly ScenarioHooks[];
  private readonly buckets = new Map<number, SimAction[]>();
  private readonly arenas = new Map<number, DayArena>();
  private lastArenaDay = -1;
  private lastArena: DayArena | undefined;
  /** 'objects': days hold SimAction objects (API, live driver); 'bytes': serialized arenas (files) */
  private readonly mode: 'objects' | 'bytes';
  /** per tag: distinct waybills shown in full by its allowed access actions */
  readonly exposed = new Map<number, Set<string>>();
  private readonly plans = new Map<number, DayPlan | null>();
  private readonly outletDays = new Map<number, OutletDay>();
  /** next sequence number per outlet */
  private readonly seq: number[];
  /** parcels due at their destination outlet, by day */
  private readonly arrivals = new Map<number, Parcel[]>();
  /** waybills touching each city (origin or destination), by creation day */
  private readonly recent = new Map<number, string[]>();
  private readonly surgeDay: number | undefined;
  private sessionCounter = 0;
  private ticketCounter = 0;
  /** reveals per account per local hour for watched accounts (ring members keep under limits) */
  readonly watched = new Set<string>();
  readonly revealCount = new Map<string, number>();
  /** per-device app-build overrides (malware), from a day on */
  readonly appOverride = new Map<string, { fromDay: number; hash: string; tag: number }>();
  /**
   * Scenario hooks on an account's assignments (after the assign action is pushed). Hooks draw
   * from their own random streams, so the rest of the world stays the same with or without them.
   */
  readonly assignHooks = new Map<string, (assign: SimAction, plan: DayPlan) => void>();
  /** day currently being generated */
  day = 0;

  constructor(world: World, scenarios: readonly ScenarioHooks[], mode: 'objects' | 'bytes' = 'objects') {
    this.world = world;
    this.mode = mode;
    this.scenarios = scenarios;
    this.seq = world.outlets.map((o) => o.seqStart);
    this.surgeDay = surgeDayIndex(world);
    for (const s of scenarios) s.prepare?.(this);
  }

  // ------------------------------------------------------------ output

  push(a: SimAction): void {
    const d = Math.floor((a.t - this.world.t0) / DAY);
    if (d < this.day) throw new Error(`internal: action at ${new Date(a.t).toISOString()} is before day ${this.day}`);
    if (d >= this.world.params.days) return; // beyond the horizon
    if (a.tag !== 0 && a.type === 'access' && a.result === 'allowed' && a.fields && a.fields.length > 0) {
      let set = this.exposed.get(a.tag);
      if (!set) {
        set = new Set();
        this.exposed.set(a.tag, set);
      }
      if (a.waybill) set.add(a.waybill);
      if (a.waybills) for (const wb of a.waybills) set.add(wb);
    }
    if (this.mode === 'bytes') {
      let ar = d === this.lastArenaDay ? this.lastArena : this.arenas.get(d);
      if (!ar) {
        ar = new DayArena();
        this.arenas.set(d, ar);
      }
      this.lastArenaDay = d;
      this.lastArena = ar;
      ar.addAction(a);
    } else {
      let b = this.buckets.get(d);
      if (!b) {
        b = [];
        this.buckets.set(d, b);
      }
      b.push(a);
    }
    if (a.type === 'access' && a.action === 'reveal' && a.account !== undefined && this.watched.has(a.account)) {
      const k = `${a.account}@${Math.floor((a.t - this.world.t0) / HOUR)}`;
      this.revealCount.set(k, (this.revealCount.get(k) ?? 0) + 1);
    }
  }

  /** Generates every day in order, yielding each one's actions sorted by time. */
  *run(): Generator<SimDay> {
    if (this.mode !== 'objects') throw new Error('run() needs a simulation in objects mode');
    for (let d = 0; d < this.world.params.days; d++) {
      this.day = d;
      this.generateDay(d);
      const actions = this.buckets.get(d) ?? [];
      this.buckets.delete(d);
      sortByTime(actions);
      this.forget(d);
      yield { day: d, date: cstDate(dayStart(this.world, d)), actions };
    }
  }

  /** The same days as serialized arenas (sort with `arena.order()`). */
  *runBytes(): Generator<SimDayBytes> {
    if (this.mode !== 'bytes') throw new Error('runBytes() needs a simulation in bytes mode');
    for (let d = 0; d < this.world.params.days; d++) {
      this.day = d;
      resetFragmentCache();
      this.generateDay(d);
      const arena = this.arenas.get(d) ?? new DayArena();
      this.arenas.delete(d);
      this.lastArenaDay = -1;
      this.lastArena = undefined;
      this.forget(d);
      yield { day: d, date: cstDate(dayStart(this.world, d)), arena };
    }
  }

  private forget(d: number): void {
    for (const k of this.plans.keys()) if (Math.floor(k / 1_000_000) < d - 1) this.plans.delete(k);
    for (const k of this.outletDays.keys()) if (Math.floor(k / 100_000) < d) this.outletDays.delete(k);
    this.arrivals.delete(d);
    for (const k of this.recent.keys()) if (k % 100_000 < d - 7) this.recent.delete(k);
    for (const k of this.revealCount.keys()) {
      const h = Number(k.slice(k.lastIndexOf('@') + 1));
      if (h < (d - 1) * 24) this.revealCount.delete(k);
    }
  }

  // ------------------------------------------------------------ people and sessions

  /** The person's working day: shift and sessions (with their login/logout actions), or undefined. */
  planFor(a: Account, d: number, force = false): DayPlan | undefined {
    const key = d * 1_000_000 + a.index;
    const cached = this.plans.get(key);
    if (cached !== undefined && (cached !== null || !force)) return cached ?? undefined;
    if (d >= this.world.params.days || d < this.day) return undefined;
    if (!force && !worksOn(this.world, a, d)) {
      this.plans.set(key, null);
      return undefined;
    }
    const w = this.world;
    const r = Rng.derive(w.seed, 'plan', a.index, d);
    const base = dayStart(w, d);
    const start = base + (a.shiftStart + r.range(-12, 12)) * MINUTE + r.int(60_000);
    const end = base + (a.shiftEnd + r.range(-15, 15)) * MINUTE + r.int(60_000);
    const device = deviceOn(a, d);
    const travel = a.travel.get(d);
    const sessions: Session[] = [];
    const split = a.role === 'courier' ? r.chance(0.25) : a.role === 'customer_service' ? r.chance(0.15) : false;
    const cuts = split ? [start, base + (12 * 60 + r.range(0, 110)) * MINUTE + r.int(60_000), end] : [start, end];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const sStart = i === 0 ? cuts[0]! : cuts[i]! + r.range(1, 20) * MINUTE;
      const sEnd = cuts[i + 1]!;
      sessions.push({
        id: `s${(++this.sessionCounter).toString(36)}${r.hex(6)}`,
        start: sStart,
        end: sEnd,
        device,
        ip: travel ? `${travel.net}.${r.range(2, 250)}` : this.ipFor(a, device, r),
        city: travel ? travel.city.def.en : a.city.def.en,
      });
    }
    const plan: DayPlan = { account: a, day: d, start, end, sessions, logins: [] };
    this.plans.set(key, plan);
    this.emitSessions(plan, r);
    return plan;
  }

  ipFor(a: Account, device: Device, r: Rng): string {
    if (device.kind === 'pda' || device.kind === 'phone') {
      // mobile operator CGNAT: a couple of usual /24s, now and then another one in the city
      if (r.chance(0.06)) return `${r.pick(a.city.mobile)}.${r.range(0, 255)}.${r.range(1, 254)}`;
      return `${r.chance(0.8) ? a.nets[0] : a.nets[1]}.${r.range(1, 254)}`;
    }
    return `${a.site.net}.${device.host}`;
  }

  appHashFor(device: Device, d: number): string {
    const o = this.appOverride.get(device.id);
    if (o && d >= o.fromDay) return o.hash;
    const apps = this.world.apps;
    switch (device.app) {
      case 'courier': {
        const u = this.world.appUpdateDay.get(device.id);
        return u !== undefined && d >= u ? apps.courierNew : apps.courierOld;
      }
      case 'terminal':
        return apps.terminal;
      case 'scanner':
        return apps.scanner;
      default:
        return apps.web;
    }
  }

  private emitSessions(p: DayPlan, r: Rng): void {
    const a = p.account;
    p.sessions.forEach((s, i) => {
      const newDevice = s.device.fromDay === p.day && a.devices[0] !== s.device;
      const firstDay = p.day === a.startDay && a.startDay > 0;
      if (i === 0 && r.chance(0.03)) {
        // a mistyped password first
        const f = this.act(s.start - r.range(8, 70) * 1000, 'login', a, s);
        f.session = undefined;
        f.result = 'failure';
        f.mfa = false;
        f.appHash = this.appHashFor(s.device, p.day);
        this.push(f);
      }
      const l = this.act(s.start, 'login', a, s);
      l.result = 'success';
      l.mfa = a.mfa || newDevice || firstDay;
      l.appHash = this.appHashFor(s.device, p.day);
      const o = this.appOverride.get(s.device.id);
      if (o && p.day >= o.fromDay) l.tag = o.tag; // the trojanised build's logins belong to the attack
      this.push(l);
      p.logins.push(l);
      this.push(this.act(s.end, 'logout', a, s));
    });
  }

  /** A new action by an account in a session (or none). */
  act(t: number, type: SimAction['type'], a: Account, s: Session | undefined): SimAction {
    // nothing happens in a session before its login
    if (s && type !== 'login' && t <= s.start) t = s.start + 1000;
    const x = blankAction(t, type);
    x.account = a.id;
    x.role = a.role;
    x.site = a.site.code;
    if (s) {
      x.device = s.device.id;
      x.ip = s.ip;
      x.city = s.city;
      x.session = s.id;
    }
    return x;
  }

  /** Moves t inside the plan's working time (a minute in from either edge). */
  clamp(p: DayPlan, t: number, r: Rng): number {
    if (t < p.start + MINUTE) return p.start + MINUTE + r.int(10 * MINUTE);
    if (t > p.end - MINUTE) return p.end - MINUTE - r.int(10 * MINUTE);
    return t;
  }

  sessionAt(p: DayPlan, t: number): Session {
    for (const s of p.sessions) if (t < s.end) return s;
    return p.sessions[p.sessions.length - 1]!;
  }

  /** An access action by a planned person at (clamped) time t. */
  access(p: DayPlan, t: number, action: SimAction['action'], r: Rng): SimAction {
    const tt = this.clamp(p, t, r);
    const s = this.sessionAt(p, tt);
    const x = this.act(tt < s.start ? s.start + 1000 : tt, 'access', p.account, s);
    x.action = action;
    x.result = 'allowed';
    return x;
  }

  // ------------------------------------------------------------ who does the work

  private staffIndex: Map<Site, Map<Role, Account[]>> | undefined;
  private coverers: Account[] | undefined;
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
      const p = this.planFor(s, d);
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
    return this.planFor(c, d) ?? this.planFor(c, d, true)!;
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
    const forced = this.planFor(any, d, true)!;
    od.staff.push(forced);
    return forced;
  }

  /** A sorting-centre operator on the night shift of day d. */
  sorterAt(sc: Site, d: number, h: number): DayPlan {
    const staff = this.staffOf(sc, 'sorting');
    const on: DayPlan[] = [];
    for (const s of staff) {
      const p = this.planFor(s, d);
      if (p) on.push(p);
    }
    if (on.length > 0) return on[h % on.length]!;
    return this.planFor(staff[h % staff.length]!, d, true)!;
  }

  // ------------------------------------------------------------ volume

  volumeFactor(d: number): number {
    let f = WEEKDAY_FACTOR[weekdayOf(this.world, d)]!;
    if (this.surgeDay !== undefined) {
      const k = d - this.surgeDay;
      const factors = this.world.params.surge.factors;
      if (k >= 0 && k < factors.length) f *= factors[k]!;
      if (k === -1) f *= 1.15; // pre-sale orders ship the day before
    }
    return f;
  }

  isSurge(d: number): boolean {
    return this.surgeDay !== undefined && d >= this.surgeDay && d < this.surgeDay + this.world.params.surge.factors.length;
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

  static pickFrom(lists: string[][], r: Rng): string | undefined {
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

  private remember(city: City, d: number, wb: string): void {
    const k = city.index * 100_000 + d;
    let l = this.recent.get(k);
    if (!l) {
      l = [];
      this.recent.set(k, l);
    }
    l.push(wb);
  }

  /** Highest sequence number allocated so far at an outlet (for enumeration attacks). */
  seqRange(o: Site): [number, number] {
    return [o.seqStart, this.seq[o.index]! - 1];
  }

  nextTicket(): string {
    return `TK${String(++this.ticketCounter).padStart(8, '0')}`;
  }

  // ------------------------------------------------------------ a day

  private generateDay(d: number): void {
    const w = this.world;
    // everyone who works today logs in and out, busy or not
    for (const a of w.accounts) this.planFor(a, d);
    const rDay = Rng.derive(w.seed, 'day', d);
    const vf = this.volumeFactor(d);
    for (const o of w.outlets) {
      const r = Rng.derive(w.seed, 'outlet-day', o.index, d);
      const n = Math.max(0, Math.round(o.routes * w.params.parcelsPerCourier * vf * (0.9 + 0.2 * r.next())));
      // numbers are allocated in order of creation at the origin
      const times: number[] = new Array(n);
      const base = dayStart(w, d);
      for (let i = 0; i < n; i++) {
        // orders come in 08:00-19:30, busiest late morning and mid-afternoon
        const hour = r.chance(0.5) ? 9 + r.next() * 3 : r.chance(0.6) ? 13.5 + r.next() * 3.5 : 8 + r.next() * 11.5;
        times[i] = base + Math.floor(hour * HOUR) + r.int(60_000);
      }
      times.sort((a, b) => a - b);
      for (let i = 0; i < n; i++) this.newParcel(o, d, r, times[i]!);
    }
    for (const o of w.outlets) this.outletChores(o, d);
    const due = this.arrivals.get(d) ?? [];
    const rDel = Rng.derive(w.seed, 'deliveries', d);
    for (const p of due) this.deliver(p, d, rDel);
    this.customerService(d, rDay);
    this.office(d, rDay);
    for (const s of this.scenarios) s.run?.(this, d);
  }

  private newParcel(o: Site, d: number, r: Rng, tc: number): void {
    const w = this.world;
    const seq = this.seq[o.index]!;
    this.seq[o.index] = seq + 1;
    const parcel = parcelRoute(w, o, seq);
    const wbAct = blankAction(tc, 'waybill');
    wbAct.waybill = parcel.waybill;
    wbAct.originSite = o.code;
    wbAct.destSite = parcel.dest.code;
    wbAct.destCity = parcel.dest.city.def.en;
    this.push(wbAct);
    this.remember(o.city, d, parcel.waybill);
    if (parcel.dest.city !== o.city) this.remember(parcel.dest.city, d, parcel.waybill);

    let pickedUp: number;
    if (r.chance(0.82)) {
      // a courier collects it from the sender
      const p = this.courierFor(o, parcel.originRoute, d, parcel.h);
      const tAssign = this.clamp(p, tc + r.range(1, 25) * MINUTE + r.int(60_000), r);
      const as = this.act(tAssign, 'assign', p.account, undefined);
      as.waybill = parcel.waybill;
      as.task = 'pickup';
      this.push(as);
      this.assignHooks.get(p.account.id)?.(as, p);
      let tScan = Math.min(tAssign + r.range(20, 200) * MINUTE, p.end - r.range(1, 15) * MINUTE);
      if (tScan <= tAssign) tScan = tAssign + r.range(2, 10) * MINUTE;
      if (r.chance(0.85)) {
        const tRev = tAssign + Math.floor((tScan - tAssign) * (0.1 + 0.6 * r.next()));
        const s = this.sessionAt(p, tRev);
        const x = this.act(Math.max(tRev, s.start + 1000), 'access', p.account, s);
        x.action = 'reveal';
        x.waybill = parcel.waybill;
        x.fields = F_NPA;
        x.purpose = 'pickup';
        x.result = 'allowed';
        this.push(x);
        if (r.chance(0.22)) {
          const t2 = x.t + Math.floor((tScan - x.t) * r.next());
          const s2 = this.sessionAt(p, t2);
          const y = this.act(Math.max(t2, s2.start + 1000), 'access', p.account, s2);
          y.action = 'reveal';
          y.waybill = parcel.waybill;
          y.fields = F_NP;
          y.purpose = 'pickup';
          y.result = 'allowed';
          this.push(y);
        }
      }
      const s = this.sessionAt(p, tScan);
      const sc = this.act(Math.max(tScan, s.start + 1000), 'scan', p.account, s);
      sc.waybill = parcel.waybill;
      sc.op = 'pickup';
      this.push(sc);
      pickedUp = sc.t;
    } else {
      // dropped off at the outlet counter: the clerk checks the sender and takes it in
      const p = this.clerkAt(o, d, tc);
      const t = this.clamp(p, tc, r);
      if (r.chance(0.4)) {
        const x = this.access(p, t, 'reveal', r);
        x.waybill = parcel.waybill;
        x.fields = F_NP;
        x.purpose = 'pickup';
        this.push(x);
      }
      const s = this.sessionAt(p, t + MINUTE);
      const sc = this.act(t + MINUTE, 'scan', p.account, s);
      sc.waybill = parcel.waybill;
      sc.op = 'pickup';
      this.push(sc);
      pickedUp = sc.t;
    }

    // line-haul to the city's sorting centre in the evening, sorted and sent on overnight
    const eve = dayStart(w, d) + 19 * HOUR;
    const tArrive = Math.max(pickedUp + r.range(40, 120) * MINUTE, eve + r.int(4 * HOUR));
    const sorter = this.sorterAt(o.city.sorting, d, parcel.h);
    this.scanAt(sorter, tArrive, parcel.waybill, 'arrive', r);
    const tDepart = tArrive + r.range(50, 240) * MINUTE;
    if (r.chance(0.004)) this.printLabel(sorter, tArrive + r.range(1, 40) * MINUTE, parcel.waybill, r);
    this.scanAt(sorter, tDepart, parcel.waybill, 'depart', r);

    let deliveryDay = d + 1;
    if (parcel.dest.city !== o.city) {
      deliveryDay = d + (r.chance(0.7) ? 2 : 3);
      const dd = deliveryDay - 1;
      if (dd < w.params.days) {
        const s2 = this.sorterAt(parcel.dest.city.sorting, dd, parcel.h >>> 5);
        const t1 = dayStart(w, dd) + 20 * HOUR + r.int(5 * HOUR);
        this.scanAt(s2, t1, parcel.waybill, 'arrive', r);
        this.scanAt(s2, t1 + r.range(40, 180) * MINUTE, parcel.waybill, 'depart', r);
      }
    }
    if (deliveryDay < w.params.days) this.due(deliveryDay, parcel);
  }

  private due(d: number, p: Parcel): void {
    let l = this.arrivals.get(d);
    if (!l) {
      l = [];
      this.arrivals.set(d, l);
    }
    l.push(p);
  }

  private scanAt(p: DayPlan, t: number, wb: string, op: SimAction['op'], r: Rng): number {
    const tt = this.clamp(p, t, r);
    const s = this.sessionAt(p, tt);
    const x = this.act(Math.max(tt, s.start + 1000), 'scan', p.account, s);
    x.waybill = wb;
    x.op = op;
    this.push(x);
    return x.t;
  }

  private printLabel(p: DayPlan, t: number, wb: string, r: Rng): void {
    const x = this.access(p, t, 'print', r);
    x.waybill = wb;
    x.fields = F_NONE;
    x.purpose = 'other';
    this.push(x);
  }

  private deliver(parcel: Parcel, d: number, r: Rng): void {
    const w = this.world;
    const o = parcel.dest;
    const base = dayStart(w, d);
    parcel.attempts++;
    // the van reaches the outlet early; a clerk scans it in (later if only the late shift is on)
    let tIn = base + 7 * HOUR;
    if (parcel.attempts === 1) {
      const clerk = this.clerkAt(o, d, base + 7 * HOUR);
      tIn = this.scanAt(clerk, base + Math.floor((6.6 + r.next() * 1.6) * HOUR), parcel.waybill, 'arrive', r);
    }
    if (parcel.counter) {
      // parcel station: the recipient collects it; the clerk checks name and phone
      const t = Math.max(base + Math.floor((9.5 + r.next() * 11) * HOUR), tIn + r.range(10, 90) * MINUTE);
      const clerk = this.clerkAt(o, d, t);
      const x = this.access(clerk, t, 'reveal', r);
      x.waybill = parcel.waybill;
      x.fields = F_NP;
      x.purpose = 'delivery';
      this.push(x);
      const s = this.sessionAt(clerk, x.t + 30_000);
      const y = this.act(x.t + r.range(20, 120) * 1000, 'scan', clerk.account, s);
      y.waybill = parcel.waybill;
      y.op = 'delivered';
      this.push(y);
      return;
    }
    const p = this.courierFor(o, parcel.destRoute, d, parcel.h);
    const tAssign = this.clamp(p, Math.max(base + Math.floor((7 + r.next() * 1.5) * HOUR), tIn + r.range(2, 20) * MINUTE), r);
    const as = this.act(tAssign, 'assign', p.account, undefined);
    as.waybill = parcel.waybill;
    as.task = 'delivery';
    this.push(as);
    this.assignHooks.get(p.account.id)?.(as, p);
    const wave = tAssign > base + 12.5 * HOUR || r.chance(0.3) ? 13 + r.next() : 8.4 + r.next();
    const tOut = Math.max(this.clamp(p, base + Math.floor(wave * HOUR), r), tAssign + MINUTE);
    const sOut = this.sessionAt(p, tOut);
    const ofd = this.act(Math.max(tOut, sOut.start + 1000), 'scan', p.account, sOut);
    ofd.waybill = parcel.waybill;
    ofd.op = 'out_for_delivery';
    this.push(ofd);
    let tDel = ofd.t + r.range(15, 360) * MINUTE;
    if (tDel > p.end - 2 * MINUTE) tDel = Math.max(ofd.t + 2 * MINUTE, p.end - r.range(2, 30) * MINUTE);
    if (r.chance(0.9)) {
      const tRev = Math.max(tAssign + 30_000, ofd.t - r.range(0, 30) * MINUTE + Math.floor((tDel - ofd.t) * 0.8 * r.next()));
      const s = this.sessionAt(p, tRev);
      const x = this.act(Math.max(tRev, s.start + 1000), 'access', p.account, s);
      x.action = 'reveal';
      x.waybill = parcel.waybill;
      x.fields = F_NPA;
      x.purpose = 'delivery';
      x.result = 'allowed';
      this.push(x);
      if (r.chance(0.3)) {
        const t2 = Math.min(tDel - 30_000, x.t + r.range(5, 90) * MINUTE);
        if (t2 > x.t) {
          const y = this.act(t2, 'access', p.account, this.sessionAt(p, t2));
          y.action = 'reveal';
          y.waybill = parcel.waybill;
          y.fields = r.chance(0.5) ? F_NP : F_NA;
          y.purpose = 'delivery';
          y.result = 'allowed';
          this.push(y);
        }
      }
    }
    if (r.chance(0.007)) {
      // a colleague at the same outlet looks the recipient up to help (no assignment of their own)
      const od = this.outletDay(o, d);
      const helper = od.present[(parcel.h >>> 7) % Math.max(1, od.present.length)];
      const hp = helper && helper !== p.account ? this.planFor(helper, d) : undefined;
      if (hp) {
        const x = this.access(hp, tAssign + r.range(10, 240) * MINUTE, 'reveal', r);
        x.waybill = parcel.waybill;
        x.fields = F_NP;
        x.purpose = 'delivery';
        this.push(x);
      }
    }
    if (r.chance(0.035) && parcel.attempts < 3 && d + 1 < w.params.days) {
      this.due(d + 1, parcel); // nobody home: tomorrow again
      return;
    }
    const sDel = this.sessionAt(p, tDel);
    const del = this.act(Math.max(tDel, sDel.start + 1000), 'scan', p.account, sDel);
    del.waybill = parcel.waybill;
    del.op = 'delivered';
    this.push(del);
  }

  /** Clerks' own work besides scans: problem parcels, re-delivery calls. */
  private outletChores(o: Site, d: number): void {
    const r = Rng.derive(this.world.seed, 'chores', o.index, d);
    const od = this.outletDay(o, d);
    const pool = this.recentPool(o.city, d, 2);
    for (const p of od.staff) {
      const views = r.range(3, 12);
      for (let i = 0; i < views; i++) {
        const wb = Simulation.pickFrom(pool, r);
        if (!wb) break;
        const x = this.access(p, p.start + r.int(p.end - p.start), 'view', r);
        x.waybill = wb;
        x.fields = F_NONE;
        x.purpose = 'delivery';
        this.push(x);
      }
    }
  }

  // ------------------------------------------------------------ customer service

  private customerService(d: number, r: Rng): void {
    const w = this.world;
    const agents = this.staffOf(w.csCentre, 'customer_service');
    const plans: DayPlan[] = [];
    for (const a of agents) {
      const p = this.planFor(a, d);
      if (p) plans.push(p);
    }
    if (plans.length === 0) return;
    const pool = this.recentPool(undefined, d, 3);
    const surge = this.isSurge(d) ? 1.4 : 1;
    for (const p of plans) {
      const load = p.account.load.get(d) ?? 1;
      const contacts = Math.round(r.range(28, 44) * surge * load);
      for (let i = 0; i < contacts; i++) {
        const wb = Simulation.pickFrom(pool, r);
        if (!wb) return;
        const t = p.start + MINUTE + r.int(Math.max(1, p.end - p.start - 20 * MINUTE));
        this.contact(p, t, wb, pool, r);
      }
    }
  }

  private contact(p: DayPlan, t: number, wb: string, pool: string[][], r: Rng): void {
    if (r.chance(0.55)) {
      // the customer phones in: search by their phone number, then look at the parcel
      const x = this.access(p, t, 'search', r);
      const found = [wb];
      if (r.chance(0.25)) {
        const other = Simulation.pickFrom(pool, r);
        if (other && other !== wb) found.push(other);
      }
      x.waybills = found;
      x.fields = F_NONE;
      x.purpose = 'customer_service';
      this.push(x);
      let t2 = x.t + r.range(20, 240) * 1000;
      if (r.chance(0.5)) {
        const v = this.access(p, t2, 'view', r);
        v.waybill = wb;
        v.fields = F_NONE;
        v.purpose = 'customer_service';
        this.push(v);
        t2 = v.t + r.range(10, 300) * 1000;
      }
      if (r.chance(0.75)) {
        const y = this.access(p, Math.min(t2, x.t + 12 * MINUTE), 'reveal', r);
        y.waybill = wb;
        y.fields = r.chance(0.6) ? F_NPA : F_NA;
        y.purpose = 'customer_service';
        this.push(y);
      }
      if (r.chance(0.25)) this.ticketLife(p, t2 + MINUTE, wb, r, false);
    } else {
      this.ticketLife(p, t, wb, r, true);
    }
  }

  /** A ticket assigned to the agent, worked (reveals citing it) and closed later. */
  private ticketLife(p: DayPlan, t: number, wb: string, r: Rng, work: boolean): void {
    const id = this.nextTicket();
    const tt = this.clamp(p, t, r);
    const open = this.act(tt, 'ticket', p.account, undefined);
    open.ticket = id;
    open.waybill = wb;
    open.status = 'open';
    this.push(open);
    let last = tt;
    if (work) {
      const n = r.chance(0.85) ? (r.chance(0.3) ? 2 : 1) : 0;
      for (let i = 0; i < n; i++) {
        const x = this.access(p, last + r.range(1, 40) * MINUTE, 'reveal', r);
        if (x.t <= last) x.t = last + 1000;
        x.waybill = wb;
        x.fields = i === 0 ? F_NP : F_NPA;
        x.purpose = 'customer_service';
        x.ticket = id;
        this.push(x);
        last = x.t;
      }
    }
    const close = this.act(last + r.range(30, 26 * 60) * MINUTE, 'ticket', p.account, undefined);
    close.ticket = id;
    close.waybill = wb;
    close.status = 'closed';
    this.push(close);
  }

  // ------------------------------------------------------------ managers, IT, security

  private office(d: number, r: Rng): void {
    const w = this.world;
    for (const a of w.accounts) {
      if (a.role !== 'manager' && a.role !== 'it_admin' && a.role !== 'security_analyst') continue;
      const p = this.planFor(a, d);
      if (!p) continue;
      const span = p.end - p.start;
      if (a.role === 'manager') {
        const pool = this.recentPool(a.city, d, 3);
        const views = r.range(3, 14);
        for (let i = 0; i < views; i++) {
          const wb = Simulation.pickFrom(pool, r);
          if (!wb) break;
          const x = this.access(p, p.start + r.int(span), 'view', r);
          x.waybill = wb;
          x.fields = F_NONE;
          x.purpose = 'audit';
          this.push(x);
        }
        const reveals = r.range(2, 10);
        for (let i = 0; i < reveals; i++) {
          const wb = Simulation.pickFrom(pool, r);
          if (!wb) break;
          const x = this.access(p, p.start + r.int(span), 'reveal', r);
          x.waybill = wb;
          x.fields = F_NP;
          x.purpose = 'audit';
          this.push(x);
        }
        if (r.chance(0.15)) {
          // a small report of problem parcels
          const n = r.range(10, 40);
          const list = new Set<string>();
          for (let i = 0; i < n * 2 && list.size < n; i++) {
            const wb = Simulation.pickFrom(pool, r);
            if (wb) list.add(wb);
          }
          if (list.size > 0) {
            const x = this.access(p, p.start + r.int(span), 'export', r);
            x.waybills = [...list];
            x.fields = F_NPA;
            x.purpose = 'audit';
            this.push(x);
          }
        }
      } else {
        const pool = this.recentPool(undefined, d, 2);
        const views = r.range(1, a.role === 'security_analyst' ? 16 : 6);
        for (let i = 0; i < views; i++) {
          const wb = Simulation.pickFrom(pool, r);
          if (!wb) break;
          const x = this.access(p, p.start + r.int(span), 'view', r);
          x.waybill = wb;
          x.fields = F_NONE;
          x.purpose = 'other';
          this.push(x);
        }
        if (a.role === 'security_analyst' && r.chance(0.3)) {
          const wb = Simulation.pickFrom(pool, r);
          if (wb) {
            const x = this.access(p, p.start + r.int(span), 'reveal', r);
            x.waybill = wb;
            x.fields = F_NP;
            x.purpose = 'other';
            x.ticket = `CASE-${String(mix(w.seed, d, a.index) % 10000).padStart(4, '0')}`;
            this.push(x);
          }
        }
      }
    }
  }
}

/**
 * Sorts a day's actions by time, stable for equal times: a counting pass over one-second
 * buckets, then insertion sort inside each bucket (a handful of actions each), O(n).
 */
export function sortByTime(actions: SimAction[]): void {
  const n = actions.length;
  if (n < 2) return;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = actions[i]!.t;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const width = 1000;
  const nb = Math.floor((max - min) / width) + 1;
  const counts = new Uint32Array(nb + 1);
  for (let i = 0; i < n; i++) counts[Math.floor((actions[i]!.t - min) / width) + 1]!++;
  for (let b = 1; b <= nb; b++) counts[b]! += counts[b - 1]!;
  const out: SimAction[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = actions[i]!;
    out[counts[Math.floor((a.t - min) / width)]!++] = a;
  }
  // insertion sort: buckets are already in order and each is tiny
  for (let i = 1; i < n; i++) {
    const a = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]!.t > a.t) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = a;
  }
  for (let i = 0; i < n; i++) actions[i] = out[i]!;
}
