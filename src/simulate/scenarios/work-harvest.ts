/**
 * Attack `work_harvest` (issue 9): a courier reveals name, phone and address of every parcel
 * assigned to him, pickups and deliveries, minutes after each assignment, and sells them. Every
 * reveal is backed by the assignment.
 */
import { F_NPA } from '../action.js';
import { MINUTE } from '../time.js';
import { onAssignments, reveal } from './act.js';
import type { ScenarioModule } from './types.js';

export const workHarvest: ScenarioModule = {
  key: 'work_harvest',
  kind: 'attack',
  label: 'work_harvest',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.work_harvest;
    if (!c.enabled) return;
    const r = ctx.rng('work_harvest');
    const victim = ctx.regulars('courier', r, (a) => a.route >= 0)[0];
    if (!victim) return ctx.skip('no courier with a route');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `courier ${victim.id} (${victim.site.code}) reveals name, phone and address of every parcel assigned to him, ${c.minDelayMinutes}-${c.maxDelayMinutes} minutes after each assignment, and sells them`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        prepare(sim) {
          onAssignments(sim, [victim], { seed: w.seed, name: 'work_harvest', day: c.day, days: c.days, deliveriesOnly: false }, (as, plan, rr) => {
            const delay = (c.minDelayMinutes + rr.next() * Math.max(0, c.maxDelayMinutes - c.minDelayMinutes)) * MINUTE;
            reveal(sim, plan, as.t + Math.floor(delay), as.waybill, F_NPA, as.task === 'pickup' ? 'pickup' : 'delivery', rr, tag);
          });
        },
      },
    );
  },
};
