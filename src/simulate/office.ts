/** Desk work besides the parcels' own: clerks' chores, managers, IT and security analysts. */
import { F_NONE, F_NP, F_NPA } from './action.js';
import { pickFrom } from './ledger.js';
import { Rng, mix } from './rng.js';
import { access } from './sessions.js';
import type { Site } from './world.js';
import type { Work } from './work.js';

/** Clerks' own work besides scans: problem parcels, re-delivery calls. */
export function outletChores(k: Work, o: Site, d: number): void {
  const r = Rng.derive(k.world.seed, 'chores', o.index, d);
  const od = k.staff.outletDay(o, d);
  const pool = k.ledger.recentPool(o.city, d, 2);
  for (const p of od.staff) {
    const views = r.range(3, 12);
    for (let i = 0; i < views; i++) {
      const wb = pickFrom(pool, r);
      if (!wb) break;
      const x = access(p, p.start + r.int(p.end - p.start), 'view', r);
      x.waybill = wb;
      x.fields = F_NONE;
      x.purpose = 'delivery';
      k.out.push(x);
    }
  }
}

/** Managers' audit work and small reports; IT and security looking at masked records, an analyst's case reveal. */
export function office(k: Work, d: number, r: Rng): void {
  const w = k.world;
  for (const a of w.accounts) {
    if (a.role !== 'manager' && a.role !== 'it_admin' && a.role !== 'security_analyst') continue;
    const p = k.people.planFor(a, d);
    if (!p) continue;
    const span = p.end - p.start;
    if (a.role === 'manager') {
      const pool = k.ledger.recentPool(a.city, d, 3);
      const views = r.range(3, 14);
      for (let i = 0; i < views; i++) {
        const wb = pickFrom(pool, r);
        if (!wb) break;
        const x = access(p, p.start + r.int(span), 'view', r);
        x.waybill = wb;
        x.fields = F_NONE;
        x.purpose = 'audit';
        k.out.push(x);
      }
      const reveals = r.range(2, 10);
      for (let i = 0; i < reveals; i++) {
        const wb = pickFrom(pool, r);
        if (!wb) break;
        const x = access(p, p.start + r.int(span), 'reveal', r);
        x.waybill = wb;
        x.fields = F_NP;
        x.purpose = 'audit';
        k.out.push(x);
      }
      if (r.chance(0.15)) {
        // a small report of problem parcels
        const n = r.range(10, 40);
        const list = new Set<string>();
        for (let i = 0; i < n * 2 && list.size < n; i++) {
          const wb = pickFrom(pool, r);
          if (wb) list.add(wb);
        }
        if (list.size > 0) {
          const x = access(p, p.start + r.int(span), 'export', r);
          x.waybills = [...list];
          x.fields = F_NPA;
          x.purpose = 'audit';
          k.out.push(x);
        }
      }
    } else {
      const pool = k.ledger.recentPool(undefined, d, 2);
      const views = r.range(1, a.role === 'security_analyst' ? 16 : 6);
      for (let i = 0; i < views; i++) {
        const wb = pickFrom(pool, r);
        if (!wb) break;
        const x = access(p, p.start + r.int(span), 'view', r);
        x.waybill = wb;
        x.fields = F_NONE;
        x.purpose = 'other';
        k.out.push(x);
      }
      if (a.role === 'security_analyst' && r.chance(0.3)) {
        const wb = pickFrom(pool, r);
        if (wb) {
          const x = access(p, p.start + r.int(span), 'reveal', r);
          x.waybill = wb;
          x.fields = F_NP;
          x.purpose = 'other';
          x.ticket = `CASE-${String(mix(w.seed, d, a.index) % 10000).padStart(4, '0')}`;
          k.out.push(x);
        }
      }
    }
  }
}
