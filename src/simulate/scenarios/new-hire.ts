/**
 * Look-alike `new_hire`: couriers (sharing routes), a clerk and an agent start work mid-run with
 * fresh devices and no history; and, as a second entry, the festival's temporary couriers.
 */
import { type Account, addAccount } from '../world.js';
import type { ScenarioModule } from './types.js';

export const newHire: ScenarioModule = {
  key: 'new_hire',
  kind: 'lookalike',
  label: 'new_hire',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.new_hire;
    if (!c.enabled) return;
    const r = ctx.rng('new_hire');
    const hires: Account[] = [];
    for (let i = 0; i < c.couriers; i++) {
      const o = r.pick(w.outlets);
      hires.push(addAccount(w, r, 'courier', o, `${o.code.toLowerCase()}.n${String(i + 1).padStart(2, '0')}`, { route: -1, startDay: c.day }));
    }
    for (let i = 0; i < c.outlet_staff; i++) {
      const o = r.pick(w.outlets);
      hires.push(addAccount(w, r, 'outlet_staff', o, `${o.code.toLowerCase()}.sn${String(i + 1).padStart(2, '0')}`, { shiftIndex: 2, startDay: c.day }));
    }
    for (let i = 0; i < c.customer_service; i++) {
      hires.push(addAccount(w, r, 'customer_service', w.csCentre, `cs1.n${String(i + 1).padStart(3, '0')}`, { shiftIndex: i, startDay: c.day }));
    }
    for (const h of hires) {
      ctx.take(h);
      h.workdays = 0x7f & ~(1 << ((c.day + 3 + h.index) % 7));
    }
    if (hires.length === 0) return;
    ctx.add({
      description: `${hires.length} new hires start work: no history, new devices, ordinary assigned work`,
      accounts: hires.map((h) => h.id),
      devices: hires.map((h) => h.devices[0]!.id),
      window: ctx.windowOf(c.day, 7),
      params: { ...c },
    });
  },
};

/** The festival's temporary couriers (hired with the world when the surge falls in the run). */
export const temporaryCouriers: ScenarioModule = {
  key: 'temporary_couriers',
  kind: 'lookalike',
  label: 'new_hire',
  plan(ctx) {
    const temps = ctx.w.accounts.filter((a) => a.temp);
    if (temps.length === 0) return;
    const from = temps[0]!.startDay;
    ctx.add({
      description: `${temps.length} temporary couriers hired for the shopping festival`,
      accounts: temps.map((a) => a.id),
      devices: temps.map((a) => a.devices[0]!.id),
      window: ctx.windowOf(from, temps[0]!.endDay - from),
      params: { temporary: true },
    });
    for (const t of temps) ctx.take(t);
  },
};
