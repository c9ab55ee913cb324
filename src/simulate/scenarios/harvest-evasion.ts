/**
 * Attacks `work_harvest_evasive` and `search_harvest_evasive` (attack review 6): the harvests of
 * `work_harvest` and `search_harvest`, shaped to slip under detectors that counted only reveals of
 * name, phone *and* address soon after the work. Each reveal takes name and address only (all a
 * buyer needs) and waits: the courier 12-28 min after each assignment, the agent 2-14 min after
 * each search (inside the 15-minute search grant, so the gateway still allows it). And
 * `split_harvest` (attack review 8): the courier's harvest split over two requests per parcel —
 * the name, then the address seconds later — so that no single reveal holds a harvest set.
 */
import { F_A, F_N, F_NA } from '../action.js';
import { MINUTE } from '../time.js';
import { inDays, onAssignments, reveal } from './act.js';
import { searchListDay } from './search-harvest.js';
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
          if (inDays(d, c.day, c.days)) searchListDay(sim, w.seed, 'search_harvest_evasive', victim, d, c.recordsPerDay, tag, { fields: F_NA, minSeconds: c.minDelaySeconds, maxSeconds: c.maxDelaySeconds });
        },
      },
    );
  },
};

export const splitHarvest: ScenarioModule = {
  key: 'split_harvest',
  kind: 'attack',
  label: 'split_harvest',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.split_harvest;
    if (!c.enabled) return;
    const r = ctx.rng('split_harvest');
    const victim = ctx.regulars('courier', r, (a) => a.route >= 0)[0];
    if (!victim) return ctx.skip('no courier with a route');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `courier ${victim.id} (${victim.site.code}) reveals the name, then the address seconds later, of every parcel assigned to him, ${c.minDelayMinutes}-${c.maxDelayMinutes} minutes after each assignment, and sells them`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        prepare(sim) {
          onAssignments(sim, [victim], { seed: w.seed, name: 'split_harvest', day: c.day, days: c.days, deliveriesOnly: false }, (as, plan, rr) => {
            const t = as.t + Math.floor((c.minDelayMinutes + rr.next() * Math.max(0, c.maxDelayMinutes - c.minDelayMinutes)) * MINUTE);
            const purpose = as.task === 'pickup' ? 'pickup' : 'delivery';
            reveal(sim, plan, t, as.waybill, F_N, purpose, rr, tag);
            reveal(sim, plan, t + rr.range(3, c.maxGapSeconds) * 1000, as.waybill, F_A, purpose, rr, tag);
          });
        },
      },
    );
  },
};
