/**
 * People's working days: a person's shift, sessions (device, network, city) and the logins and
 * logouts that open and close them, planned once per person and day from `plan/<account>/<day>`.
 */
import type { DayOutput } from './day-output.js';
import { Rng } from './rng.js';
import { act } from './sessions.js';
import type { DayPlan, Session } from './sim-types.js';
import { MINUTE } from './time.js';
import { type Account, type Device, type World, dayStart, deviceOn, worksOn } from './world.js';

export class People {
  private readonly plans = new Map<number, DayPlan | null>();
  private sessionCounter = 0;
  /** per-device app-build overrides (malware), from a day on */
  readonly appOverride = new Map<string, { fromDay: number; hash: string; tag: number }>();

  constructor(
    private readonly world: World,
    private readonly out: DayOutput,
  ) {}

  /** The person's working day: shift and sessions (with their login/logout actions), or undefined. */
  planFor(a: Account, d: number, force = false): DayPlan | undefined {
    const key = d * 1_000_000 + a.index;
    const cached = this.plans.get(key);
    if (cached !== undefined && (cached !== null || !force)) return cached ?? undefined;
    if (d >= this.world.params.days || d < this.out.day) return undefined;
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

  private ipFor(a: Account, device: Device, r: Rng): string {
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
        const f = act(s.start - r.range(8, 70) * 1000, 'login', a, s);
        f.session = undefined;
        f.result = 'failure';
        f.mfa = false;
        f.appHash = this.appHashFor(s.device, p.day);
        this.out.push(f);
      }
      const l = act(s.start, 'login', a, s);
      l.result = 'success';
      l.mfa = a.mfa || newDevice || firstDay;
      l.appHash = this.appHashFor(s.device, p.day);
      const o = this.appOverride.get(s.device.id);
      if (o && p.day >= o.fromDay) l.tag = o.tag; // the trojanised build's logins belong to the attack
      this.out.push(l);
      p.logins.push(l);
      this.out.push(act(s.end, 'logout', a, s));
    });
  }

  /** Drops plans older than the day before d. */
  forget(d: number): void {
    for (const k of this.plans.keys()) if (Math.floor(k / 1_000_000) < d - 1) this.plans.delete(k);
  }
}
