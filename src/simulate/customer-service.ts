/**
 * Customer service: 28-44 contacts per agent-day, each a phone call (search by the caller's phone,
 * a masked view, a reveal within 12 minutes, sometimes a ticket) or a ticket from the ticketing
 * system (reveals citing it, closed hours later).
 */
import { F_NA, F_NONE, F_NP, F_NPA } from './action.js';
import { pickFrom } from './ledger.js';
import type { Rng } from './rng.js';
import { access, act, clamp } from './sessions.js';
import type { DayPlan } from './sim-types.js';
import { MINUTE } from './time.js';
import type { Work } from './work.js';

/** The day's calls and tickets of every agent on shift (x1.4 in the surge, x`load` for a busy agent). */
export function customerService(k: Work, d: number, r: Rng): void {
  const w = k.world;
  const agents = k.staff.staffOf(w.csCentre, 'customer_service');
  const plans: DayPlan[] = [];
  for (const a of agents) {
    const p = k.people.planFor(a, d);
    if (p) plans.push(p);
  }
  if (plans.length === 0) return;
  const pool = k.ledger.recentPool(undefined, d, 3);
  const surge = k.volume.isSurge(d) ? 1.4 : 1;
  for (const p of plans) {
    const load = p.account.load.get(d) ?? 1;
    const contacts = Math.round(r.range(28, 44) * surge * load);
    for (let i = 0; i < contacts; i++) {
      const wb = pickFrom(pool, r);
      if (!wb) return;
      const t = p.start + MINUTE + r.int(Math.max(1, p.end - p.start - 20 * MINUTE));
      contact(k, p, t, wb, pool, r);
    }
  }
}

function contact(k: Work, p: DayPlan, t: number, wb: string, pool: string[][], r: Rng): void {
  if (r.chance(0.55)) {
    // the customer phones in: search by their phone number, then look at the parcel
    const x = access(p, t, 'search', r);
    const found = [wb];
    if (r.chance(0.25)) {
      const other = pickFrom(pool, r);
      if (other && other !== wb) found.push(other);
    }
    x.waybills = found;
    x.fields = F_NONE;
    x.purpose = 'customer_service';
    k.out.push(x);
    let t2 = x.t + r.range(20, 240) * 1000;
    if (r.chance(0.5)) {
      const v = access(p, t2, 'view', r);
      v.waybill = wb;
      v.fields = F_NONE;
      v.purpose = 'customer_service';
      k.out.push(v);
      t2 = v.t + r.range(10, 300) * 1000;
    }
    if (r.chance(0.75)) {
      const y = access(p, Math.min(t2, x.t + 12 * MINUTE), 'reveal', r);
      y.waybill = wb;
      y.fields = r.chance(0.6) ? F_NPA : F_NA;
      y.purpose = 'customer_service';
      k.out.push(y);
    }
    if (r.chance(0.25)) ticketLife(k, p, t2 + MINUTE, wb, r, false);
  } else {
    ticketLife(k, p, t, wb, r, true);
  }
}

/** A ticket assigned to the agent, worked (reveals citing it) and closed later. */
function ticketLife(k: Work, p: DayPlan, t: number, wb: string, r: Rng, work: boolean): void {
  const id = k.ledger.nextTicket();
  const tt = clamp(p, t, r);
  const open = act(tt, 'ticket', p.account, undefined);
  open.ticket = id;
  open.waybill = wb;
  open.status = 'open';
  k.out.push(open);
  let last = tt;
  if (work) {
    const n = r.chance(0.85) ? (r.chance(0.3) ? 2 : 1) : 0;
    for (let i = 0; i < n; i++) {
      const x = access(p, last + r.range(1, 40) * MINUTE, 'reveal', r);
      if (x.t <= last) x.t = last + 1000;
      x.waybill = wb;
      x.fields = i === 0 ? F_NP : F_NPA;
      x.purpose = 'customer_service';
      x.ticket = id;
      k.out.push(x);
      last = x.t;
    }
  }
  const close = act(last + r.range(30, 26 * 60) * MINUTE, 'ticket', p.account, undefined);
  close.ticket = id;
  close.waybill = wb;
  close.status = 'closed';
  k.out.push(close);
}
