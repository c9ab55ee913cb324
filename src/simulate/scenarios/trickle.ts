/**
 * Attack `trickle` (issue 9): a customer-service agent reveals a handful of records a day with no
 * ticket or search behind them, every working day for weeks: under any daily threshold.
 */
import { F_NPA } from '../action.js';
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import { inDays, reveal } from './act.js';
import type { ScenarioModule } from './types.js';

export const trickle: ScenarioModule = {
  key: 'trickle',
  kind: 'attack',
  label: 'trickle',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.trickle;
    if (!c.enabled) return;
    const r = ctx.rng('trickle');
    const victim = ctx.regulars('customer_service', r)[0];
    if (!victim) return ctx.skip('no customer_service account');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `customer-service agent ${victim.id} reveals ${c.minPerDay}-${c.maxPerDay} records a day with no ticket or search behind them, every working day for ${c.days} days: under any daily threshold`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          if (!inDays(d, c.day, c.days)) return;
          const plan = sim.planFor(victim, d);
          if (!plan) return;
          const rr = Rng.derive(w.seed, 'trickle', d);
          const pool = sim.recentPool(undefined, d, 3);
          const n = rr.range(c.minPerDay, c.maxPerDay);
          for (let i = 0; i < n; i++) {
            const wb = Simulation.pickFrom(pool, rr);
            if (!wb) return;
            reveal(sim, plan, plan.start + 5 * MINUTE + rr.int(Math.max(1, plan.end - plan.start - 10 * MINUTE)), wb, F_NPA, 'customer_service', rr, tag);
          }
        },
      },
    );
  },
};
