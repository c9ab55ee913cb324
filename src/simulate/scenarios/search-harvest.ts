/**
 * Attack `search_harvest` (issue 9): a customer-service agent works through a buyer's list of
 * phone numbers: one search per number (it finds the one parcel), each followed within a minute
 * by a full reveal that the search "explains"; no tickets.
 */
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import type { Account } from '../world.js';
import { inDays, searchThenReveal, type RevealAfter } from './act.js';
import type { ScenarioModule } from './types.js';

export const searchHarvest: ScenarioModule = {
  key: 'search_harvest',
  kind: 'attack',
  label: 'search_harvest',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.search_harvest;
    if (!c.enabled) return;
    const r = ctx.rng('search_harvest');
    const victim = ctx.regulars('customer_service', r)[0];
    if (!victim) return ctx.skip('no customer_service account');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `customer-service agent ${victim.id} works through a buyer's list of phone numbers: one search per number, each followed within a minute by a full reveal, no tickets`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          if (inDays(d, c.day, c.days)) searchListDay(sim, w.seed, 'search_harvest', victim, d, c.recordsPerDay, tag);
        },
      },
    );
  },
};

/**
 * One day of working through a buyer's list: about `recordsPerDay` searches spread over the
 * shift, each for one recent parcel and followed by a reveal of it (`after`).
 */
export function searchListDay(sim: Simulation, seed: number, name: string, victim: Account, d: number, recordsPerDay: number, tag: number, after?: RevealAfter): void {
  const plan = sim.planFor(victim, d);
  if (!plan) return;
  const rr = Rng.derive(seed, name, d);
  const pool = sim.recentPool(undefined, d, 3);
  const n = Math.round(recordsPerDay * (0.85 + 0.3 * rr.next()));
  const gap = Math.max(20_000, Math.floor((plan.end - plan.start - 30 * MINUTE) / Math.max(1, n)));
  let t = plan.start + 10 * MINUTE + rr.int(5 * MINUTE);
  for (let i = 0; i < n && t < plan.end; i++) {
    const wb = Simulation.pickFrom(pool, rr);
    if (!wb) return;
    const { search } = searchThenReveal(sim, plan, t, wb, rr, tag, undefined, after);
    t = search.t + Math.floor(gap * (0.5 + rr.next()));
  }
}
