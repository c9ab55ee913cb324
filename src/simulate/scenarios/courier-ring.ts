/**
 * Attack `courier_ring`: couriers at several outlets (one per outlet, cities taken in turn) log in
 * each evening on their own devices through one proxy /24 and reveal unassigned parcels of their
 * city, each keeping under a margin of the per-account limits counting his own daytime reveals.
 */
import { F_NPA } from '../action.js';
import { Simulation } from '../engine.js';
import type { Session } from '../sim-types.js';
import { Rng } from '../rng.js';
import { HOUR, MINUTE } from '../time.js';
import { type Account, dayStart, deviceOn } from '../world.js';
import { login, sessionAccess, tagged } from './act.js';
import type { PlanContext, ScenarioModule } from './types.js';

/** One member per outlet, cities taken in turn, until `n`. */
function chooseMembers(ctx: PlanContext, r: Rng, n: number): Account[] {
  const { w } = ctx;
  const members: Account[] = [];
  const byCity = w.cities.map((city) => r.shuffle(city.outlets.slice()));
  for (let round = 0; members.length < n && round < w.params.outletsPerCity; round++) {
    for (const outs of byCity) {
      if (members.length >= n) break;
      const o = outs[round];
      if (!o) continue;
      const m = ctx.regulars('courier', r, (a) => a.site === o)[0];
      if (m) members.push(ctx.take(m));
    }
  }
  return members;
}

export const courierRing: ScenarioModule = {
  key: 'courier_ring',
  kind: 'attack',
  label: 'courier_ring',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.courier_ring;
    if (!c.enabled) return;
    const r = ctx.rng('courier_ring');
    const members = chooseMembers(ctx, r, c.members);
    if (members.length < 2) return ctx.skip('needs couriers at two or more outlets');
    const proxy = w.elsewhere[1]!;
    const net = `${proxy.broadband}.${r.range(2, 250)}`;
    const tag = ctx.add(
      {
        description: `a ring of ${members.length} couriers at ${new Set(members.map((m) => m.site.code)).size} outlets harvests parcels in the evenings through one proxy network (${net}.0/24, ${proxy.def.en}), each staying just under the per-account reveal limits`,
        accounts: members.map((m) => m.id),
        devices: members.map((m) => m.devices[0]!.id),
        networks: [`${net}.0/24`],
        params: { ...c, proxy_city: proxy.def.en },
      },
      {
        prepare(sim) {
          for (const m of members) sim.watched.add(m.id);
        },
        run(sim, d) {
          const k = d - c.day;
          if (k < 0 || k >= c.days) return;
          members.forEach((m, mi) => {
            if (d >= m.startDay && d < m.endDay) evening(sim, m, d, Rng.derive(w.seed, 'courier_ring', d, mi));
          });
        },
      },
    );

    /** One member's evening: as many reveals as the day's and each hour's remaining room allow. */
    function evening(sim: Simulation, m: Account, d: number, rr: Rng): void {
      const hourCap = Math.floor(c.hourlyLimit * c.margin);
      const dayCap = Math.floor(c.dailyLimit * c.margin);
      const h0 = Math.floor((dayStart(w, d) - w.t0) / HOUR);
      let legitDay = 0;
      for (let h = 0; h < 24; h++) legitDay += sim.revealCount.get(`${m.id}@${h0 + h}`) ?? 0;
      let budget = Math.min(Math.round(c.perDay * (0.85 + 0.3 * rr.next())), dayCap - legitDay);
      if (budget <= 0) return;
      const start = dayStart(w, d) + c.startHour * HOUR + rr.int(30 * MINUTE);
      const dev = deviceOn(m, d);
      const s: Session = { id: `s${rr.hex(10)}`, start, end: start + 3 * HOUR, device: dev, ip: `${net}.${rr.range(2, 250)}`, city: proxy.def.en };
      login(sim, m, s, m.mfa, sim.appHashFor(dev, d), tag);
      const pool = sim.recentPool(m.city, d, 3);
      let last = start;
      const hours = Math.max(1, Math.ceil(24 - c.startHour));
      for (let hh = 0; hh < Math.min(3, hours) && budget > 0; hh++) {
        const slotStart = dayStart(w, d) + (c.startHour + hh) * HOUR;
        const hourIdx = h0 + c.startHour + hh;
        const room = hourCap - (sim.revealCount.get(`${m.id}@${hourIdx}`) ?? 0);
        const n = Math.min(budget, room, Math.ceil(budget / (Math.min(3, hours) - hh)));
        const times: number[] = [];
        for (let i = 0; i < n; i++) times.push(Math.max(start + MINUTE, slotStart + rr.int(HOUR - 1000)));
        times.sort((a, b) => a - b);
        for (const t of times) {
          if (t >= slotStart + HOUR) continue;
          const wb = Simulation.pickFrom(pool, rr);
          if (!wb) break;
          sessionAccess(sim, t, m, s, 'reveal', wb, F_NPA, 'delivery', tag);
          budget--;
          last = Math.max(last, t);
        }
      }
      sim.push(tagged(sim.act(last + rr.range(30, 300) * 1000, 'logout', m, s), tag));
    }
  },
};
