/**
 * A parcel's life in honest hands: created at its origin, collected by the route's courier or
 * dropped at the counter, line-hauled and sorted overnight (another night in the destination city
 * when it travels), then collected at the destination's counter or delivered by the route's
 * courier, who sees the recipient's details shortly before the door. About 10 events per parcel.
 */
import { type SimAction, F_NA, F_NONE, F_NP, F_NPA, blankAction } from './action.js';
import { Rng } from './rng.js';
import { parcelRoute } from './route.js';
import { access, act, clamp, sessionAt } from './sessions.js';
import type { DayPlan, Parcel } from './sim-types.js';
import { HOUR, MINUTE } from './time.js';
import { type Site, dayStart } from './world.js';
import type { Work } from './work.js';

/** The day's new parcels at an outlet (volume factor vf), numbered in order of creation. */
export function newParcels(k: Work, o: Site, d: number, vf: number): void {
  const w = k.world;
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
  for (let i = 0; i < n; i++) newParcel(k, o, d, r, times[i]!);
}

/** A new parcel at outlet o at time tc: its waybill, collection, evening line-haul and sorting. */
function newParcel(k: Work, o: Site, d: number, r: Rng, tc: number): void {
  const w = k.world;
  const seq = k.ledger.allocate(o);
  const parcel = parcelRoute(w, o, seq);
  const wbAct = blankAction(tc, 'waybill');
  wbAct.waybill = parcel.waybill;
  wbAct.originSite = o.code;
  wbAct.destSite = parcel.dest.code;
  wbAct.destCity = parcel.dest.city.def.en;
  k.out.push(wbAct);
  k.ledger.remember(o.city, d, parcel.waybill);
  if (parcel.dest.city !== o.city) k.ledger.remember(parcel.dest.city, d, parcel.waybill);

  let pickedUp: number;
  if (r.chance(0.82)) {
    // a courier collects it from the sender
    const p = k.staff.courierFor(o, parcel.originRoute, d, parcel.h);
    const tAssign = clamp(p, tc + r.range(1, 25) * MINUTE + r.int(60_000), r);
    const as = act(tAssign, 'assign', p.account, undefined);
    as.waybill = parcel.waybill;
    as.task = 'pickup';
    k.out.push(as);
    k.assignHooks.get(p.account.id)?.(as, p);
    let tScan = Math.min(tAssign + r.range(20, 200) * MINUTE, p.end - r.range(1, 15) * MINUTE);
    if (tScan <= tAssign) tScan = tAssign + r.range(2, 10) * MINUTE;
    if (r.chance(0.85)) {
      const tRev = tAssign + Math.floor((tScan - tAssign) * (0.1 + 0.6 * r.next()));
      const s = sessionAt(p, tRev);
      const x = act(Math.max(tRev, s.start + 1000), 'access', p.account, s);
      x.action = 'reveal';
      x.waybill = parcel.waybill;
      x.fields = F_NPA;
      x.purpose = 'pickup';
      x.result = 'allowed';
      k.out.push(x);
      if (r.chance(0.22)) {
        const t2 = x.t + Math.floor((tScan - x.t) * r.next());
        const s2 = sessionAt(p, t2);
        const y = act(Math.max(t2, s2.start + 1000), 'access', p.account, s2);
        y.action = 'reveal';
        y.waybill = parcel.waybill;
        y.fields = F_NP;
        y.purpose = 'pickup';
        y.result = 'allowed';
        k.out.push(y);
      }
    }
    const s = sessionAt(p, tScan);
    const sc = act(Math.max(tScan, s.start + 1000), 'scan', p.account, s);
    sc.waybill = parcel.waybill;
    sc.op = 'pickup';
    k.out.push(sc);
    pickedUp = sc.t;
  } else {
    // dropped off at the outlet counter: the clerk checks the sender and takes it in
    const p = k.staff.clerkAt(o, d, tc);
    const t = clamp(p, tc, r);
    if (r.chance(0.4)) {
      const x = access(p, t, 'reveal', r);
      x.waybill = parcel.waybill;
      x.fields = F_NP;
      x.purpose = 'pickup';
      k.out.push(x);
    }
    const s = sessionAt(p, t + MINUTE);
    const sc = act(t + MINUTE, 'scan', p.account, s);
    sc.waybill = parcel.waybill;
    sc.op = 'pickup';
    k.out.push(sc);
    pickedUp = sc.t;
  }

  // line-haul to the city's sorting centre in the evening, sorted and sent on overnight
  const eve = dayStart(w, d) + 19 * HOUR;
  const tArrive = Math.max(pickedUp + r.range(40, 120) * MINUTE, eve + r.int(4 * HOUR));
  const sorter = k.staff.sorterAt(o.city.sorting, d, parcel.h);
  scanAt(k, sorter, tArrive, parcel.waybill, 'arrive', r);
  const tDepart = tArrive + r.range(50, 240) * MINUTE;
  if (r.chance(0.004)) printLabel(k, sorter, tArrive + r.range(1, 40) * MINUTE, parcel.waybill, r);
  scanAt(k, sorter, tDepart, parcel.waybill, 'depart', r);

  let deliveryDay = d + 1;
  if (parcel.dest.city !== o.city) {
    deliveryDay = d + (r.chance(0.7) ? 2 : 3);
    const dd = deliveryDay - 1;
    if (dd < w.params.days) {
      const s2 = k.staff.sorterAt(parcel.dest.city.sorting, dd, parcel.h >>> 5);
      const t1 = dayStart(w, dd) + 20 * HOUR + r.int(5 * HOUR);
      scanAt(k, s2, t1, parcel.waybill, 'arrive', r);
      scanAt(k, s2, t1 + r.range(40, 180) * MINUTE, parcel.waybill, 'depart', r);
    }
  }
  if (deliveryDay < w.params.days) k.ledger.due(deliveryDay, parcel);
}

function scanAt(k: Work, p: DayPlan, t: number, wb: string, op: SimAction['op'], r: Rng): number {
  const tt = clamp(p, t, r);
  const s = sessionAt(p, tt);
  const x = act(Math.max(tt, s.start + 1000), 'scan', p.account, s);
  x.waybill = wb;
  x.op = op;
  k.out.push(x);
  return x.t;
}

function printLabel(k: Work, p: DayPlan, t: number, wb: string, r: Rng): void {
  const x = access(p, t, 'print', r);
  x.waybill = wb;
  x.fields = F_NONE;
  x.purpose = 'other';
  k.out.push(x);
}

/** A parcel's delivery day at its destination outlet: counter pick-up or a courier's round. */
export function deliver(k: Work, parcel: Parcel, d: number, r: Rng): void {
  const w = k.world;
  const o = parcel.dest;
  const base = dayStart(w, d);
  parcel.attempts++;
  // the van reaches the outlet early; a clerk scans it in (later if only the late shift is on)
  let tIn = base + 7 * HOUR;
  if (parcel.attempts === 1) {
    const clerk = k.staff.clerkAt(o, d, base + 7 * HOUR);
    tIn = scanAt(k, clerk, base + Math.floor((6.6 + r.next() * 1.6) * HOUR), parcel.waybill, 'arrive', r);
  }
  if (parcel.counter) {
    // parcel station: the recipient collects it; the clerk checks name and phone
    const t = Math.max(base + Math.floor((9.5 + r.next() * 11) * HOUR), tIn + r.range(10, 90) * MINUTE);
    const clerk = k.staff.clerkAt(o, d, t);
    const x = access(clerk, t, 'reveal', r);
    x.waybill = parcel.waybill;
    x.fields = F_NP;
    x.purpose = 'delivery';
    k.out.push(x);
    const s = sessionAt(clerk, x.t + 30_000);
    const y = act(x.t + r.range(20, 120) * 1000, 'scan', clerk.account, s);
    y.waybill = parcel.waybill;
    y.op = 'delivered';
    k.out.push(y);
    return;
  }
  const p = k.staff.courierFor(o, parcel.destRoute, d, parcel.h);
  const tAssign = clamp(p, Math.max(base + Math.floor((7 + r.next() * 1.5) * HOUR), tIn + r.range(2, 20) * MINUTE), r);
  const as = act(tAssign, 'assign', p.account, undefined);
  as.waybill = parcel.waybill;
  as.task = 'delivery';
  k.out.push(as);
  k.assignHooks.get(p.account.id)?.(as, p);
  const wave = tAssign > base + 12.5 * HOUR || r.chance(0.3) ? 13 + r.next() : 8.4 + r.next();
  const tOut = Math.max(clamp(p, base + Math.floor(wave * HOUR), r), tAssign + MINUTE);
  const sOut = sessionAt(p, tOut);
  const ofd = act(Math.max(tOut, sOut.start + 1000), 'scan', p.account, sOut);
  ofd.waybill = parcel.waybill;
  ofd.op = 'out_for_delivery';
  k.out.push(ofd);
  let tDel = ofd.t + r.range(15, 360) * MINUTE;
  if (tDel > p.end - 2 * MINUTE) tDel = Math.max(ofd.t + 2 * MINUTE, p.end - r.range(2, 30) * MINUTE);
  if (r.chance(0.9)) {
    const tRev = Math.max(tAssign + 30_000, ofd.t - r.range(0, 30) * MINUTE + Math.floor((tDel - ofd.t) * 0.8 * r.next()));
    const s = sessionAt(p, tRev);
    const x = act(Math.max(tRev, s.start + 1000), 'access', p.account, s);
    x.action = 'reveal';
    x.waybill = parcel.waybill;
    x.fields = F_NPA;
    x.purpose = 'delivery';
    x.result = 'allowed';
    k.out.push(x);
    if (r.chance(0.3)) {
      const t2 = Math.min(tDel - 30_000, x.t + r.range(5, 90) * MINUTE);
      if (t2 > x.t) {
        const y = act(t2, 'access', p.account, sessionAt(p, t2));
        y.action = 'reveal';
        y.waybill = parcel.waybill;
        y.fields = r.chance(0.5) ? F_NP : F_NA;
        y.purpose = 'delivery';
        y.result = 'allowed';
        k.out.push(y);
      }
    }
  }
  if (r.chance(0.007)) {
    // a colleague at the same outlet looks the recipient up to help (no assignment of their own)
    const od = k.staff.outletDay(o, d);
    const helper = od.present[(parcel.h >>> 7) % Math.max(1, od.present.length)];
    const hp = helper && helper !== p.account ? k.people.planFor(helper, d) : undefined;
    if (hp) {
      const x = access(hp, tAssign + r.range(10, 240) * MINUTE, 'reveal', r);
      x.waybill = parcel.waybill;
      x.fields = F_NP;
      x.purpose = 'delivery';
      k.out.push(x);
    }
  }
  if (r.chance(0.035) && parcel.attempts < 3 && d + 1 < w.params.days) {
    k.ledger.due(d + 1, parcel); // nobody home: tomorrow again
    return;
  }
  const sDel = sessionAt(p, tDel);
  const del = act(Math.max(tDel, sDel.start + 1000), 'scan', p.account, sDel);
  del.waybill = parcel.waybill;
  del.op = 'delivered';
  k.out.push(del);
}
