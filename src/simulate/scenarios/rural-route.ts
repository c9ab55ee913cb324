/**
 * Look-alike `rural_route` (issue 9, for `work_harvest`): a courier on a rural route calls ahead:
 * the recipient's phone, one field, of every delivery, 2-40 minutes after assignment.
 */
import type { PiiField } from '../../contracts/events.js';
import { MINUTE } from '../time.js';
import { onAssignments, reveal } from './act.js';
import type { ScenarioModule } from './types.js';

const F_PHONE: readonly PiiField[] = Object.freeze(['phone'] as PiiField[]);

export const ruralRoute: ScenarioModule = {
  key: 'rural_route',
  kind: 'lookalike',
  label: 'rural_route',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.rural_route;
    if (!c.enabled || c.count <= 0) return;
    const r = ctx.rng('rural_route');
    const people = ctx.regulars('courier', r, (a) => a.route >= 0).slice(0, c.count).map(ctx.take);
    if (people.length === 0) return;
    const one = people.length === 1;
    ctx.add(
      {
        description: `${people.map((a) => a.id).join(', ')} cover${one ? 's' : ''} a rural route and call${one ? 's' : ''} ahead: the recipient's phone of every parcel, soon after assignment`,
        accounts: people.map((a) => a.id),
        window: ctx.windowOf(c.day, c.days),
        params: { ...c },
      },
      {
        prepare(sim) {
          onAssignments(sim, people, { seed: w.seed, name: 'rural_route', day: c.day, days: c.days, deliveriesOnly: true }, (as, plan, rr) => {
            reveal(sim, plan, as.t + rr.range(2, 40) * MINUTE, as.waybill, F_PHONE, 'delivery', rr, 0);
          });
        },
      },
    );
  },
};
