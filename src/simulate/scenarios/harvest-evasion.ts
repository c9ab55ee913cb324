/**
 * Attacks `work_harvest_evasive` and `search_harvest_evasive` (attack review 6): the harvests of
 * `work_harvest` and `search_harvest`, shaped to slip under detectors that counted only reveals of
 * name, phone *and* address soon after the work. Each reveal takes name and address only (all a
 * buyer needs) and waits: the courier 12-28 min after each assignment, the agent 2-14 min after
 * each search (inside the 15-minute search grant, so the gateway still allows it).
 */
import { F_NA, F_NONE } from '../action.js';
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import { inDays, onAssignments, reveal } from './act.js';
import type { ScenarioModule } from './types.js';

export const workHarvestEvasive: ScenarioModule = {
  key: 'work_harvest_evasive',
  kind: 'attack',
  label: 'work_harvest_evasive',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.work_harvest_evasive;
    if (!c.enabled) return;
    const r = ctx.rng('work_harvest_evasive');
    const victim = ctx.regulars('courier', r, (a) => a.route >= 0)[0];
    if (!victim) return ctx.skip('no courier with a route');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `courier ${victim.id} (${victim.site.code}) reveals name and address (no phone) of every parcel assigned to him, ${c.minDelayMinutes}-${c.maxDelayMinutes} minutes after each assignment, and sells them`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        prepare(sim) {
          onAssignments(sim, [victim], { seed: w.seed, name: 'work_harvest_evasive', day: c.day, days: c.days, deliveriesOnly: false }, (as, plan, rr) => {
            const delay = (c.minDelayMinutes + rr.next() * Math.max(0, c.maxDelayMinutes - c.minDelayMinutes)) * MINUTE;
            reveal(sim, plan, as.t + Math.floor(delay), as.waybill, F_NA, as.task === 'pickup' ? 'pickup' : 'delivery', rr, tag);
          });
        },
      },
    );
  },
};

export const searchHarvestEvasive: ScenarioModule = {
  key: 'search_harvest_evasive',
  kind: 'attack',
  label: 'search_harvest_evasive',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.search_harvest_evasive;
    if (!c.enabled) return;
    const r = ctx.rng('search_harvest_evasive');
    const victim = ctx.regulars('customer_service', r)[0];
    if (!victim) return ctx.skip('no customer_service account');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `customer-service agent ${victim.id} works through a buyer's list of phone numbers: one search per number, each followed ${c.minDelaySeconds}-${c.maxDelaySeconds} s later (inside the search grant) by a reveal of name and address, no tickets`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          if (!inDays(d, c.day, c.days)) return;
          const plan = sim.planFor(victim, d);
          if (!plan) return;
          const rr = Rng.derive(w.seed, 'search_harvest_evasive', d);
          const pool = sim.recentPool(undefined, d, 3);
          const n = Math.round(c.recordsPerDay * (0.85 + 0.3 * rr.next()));
          const gap = Math.max(20_000, Math.floor((plan.end - plan.start - 30 * MINUTE) / Math.max(1, n)));
          let t = plan.start + 10 * MINUTE + rr.int(5 * MINUTE);
          for (let i = 0; i < n && t < plan.end; i++) {
            const wb = Simulation.pickFrom(pool, rr);
            if (!wb) return;
            const s = sim.access(plan, t, 'search', rr);
            s.waybills = [wb];
            s.fields = F_NONE;
            s.purpose = 'customer_service';
            s.tag = tag;
            sim.push(s);
            reveal(sim, plan, s.t + rr.range(c.minDelaySeconds, c.maxDelaySeconds) * 1000, wb, F_NA, 'customer_service', rr, tag);
            t = s.t + Math.floor(gap * (0.5 + rr.next()));
          }
        },
      },
    );
  },
};
