/**
 * Look-alike `new_route` (issue 9, for `work_harvest`): a courier new to a route reveals name and
 * address of most of his deliveries, close to delivery (45-240 minutes after assignment).
 */
import { F_NA } from '../action.js';
import { MINUTE } from '../time.js';
import { onAssignments, reveal } from './act.js';
import type { ScenarioModule } from './types.js';

export const newRoute: ScenarioModule = {
  key: 'new_route',
  kind: 'lookalike',
  label: 'new_route',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.new_route;
    if (!c.enabled || c.count <= 0) return;
    const r = ctx.rng('new_route');
    const people = ctx.regulars('courier', r, (a) => a.route >= 0).slice(0, c.count).map(ctx.take);
    if (people.length === 0) return;
    const one = people.length === 1;
    ctx.add(
      {
        description: `${people.map((a) => a.id).join(', ')} take${one ? 's' : ''} over an unfamiliar route and reveal name and address of most parcels, close to delivery`,
        accounts: people.map((a) => a.id),
        window: ctx.windowOf(c.day, c.days),
        params: { ...c },
      },
      {
        prepare(sim) {
          onAssignments(sim, people, { seed: w.seed, name: 'new_route', day: c.day, days: c.days, deliveriesOnly: true }, (as, plan, rr) => {
            if (!rr.chance(c.share)) return;
            // close to delivery: the morning wave goes out around 08:30-09:30, the afternoon one at 13:00
            reveal(sim, plan, as.t + rr.range(45, 240) * MINUTE, as.waybill, F_NA, 'delivery', rr, 0);
          });
        },
      },
    );
  },
};
