/**
 * Look-alike `favour` (issue 9, for `trickle`): honest agents do a colleague a favour now and
 * then: one unexplained full reveal every few days.
 */
import { F_NPA } from '../action.js';
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { reveal } from './act.js';
import type { ScenarioModule } from './types.js';

export const favour: ScenarioModule = {
  key: 'favour',
  kind: 'lookalike',
  label: 'favour',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.favour;
    if (!c.enabled || c.count <= 0) return;
    const r = ctx.rng('favour');
    const people = ctx.regulars('customer_service', r).slice(0, c.count).map(ctx.take);
    if (people.length === 0) return;
    const every = Math.max(1, Math.round(c.everyDays));
    ctx.add(
      {
        description: `${people.map((a) => a.id).join(', ')} do${people.length === 1 ? 'es' : ''} a colleague a favour now and then: one unexplained lookup every ${every} days`,
        accounts: people.map((a) => a.id),
        window: ctx.windowOf(c.day, w.params.days - c.day),
        params: { ...c },
      },
      {
        run(sim, d) {
          if (d < c.day) return;
          people.forEach((a, i) => {
            if ((d - c.day + i) % every !== every - 1) return;
            const plan = sim.planFor(a, d);
            if (!plan) return;
            const rr = Rng.derive(w.seed, 'favour', a.index, d);
            const wb = Simulation.pickFrom(sim.recentPool(undefined, d, 3), rr);
            if (wb) reveal(sim, plan, plan.start + rr.int(Math.max(1, plan.end - plan.start)), wb, F_NPA, 'customer_service', rr, 0);
          });
        },
      },
    );
  },
};
