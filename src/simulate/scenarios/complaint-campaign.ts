/**
 * Look-alike `complaint_campaign` (issue 9, for `search_harvest`): an agent works a complaint
 * campaign: a ticket per case, then a search and a full reveal citing the ticket, closed later.
 */
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import { inDays, searchThenReveal, ticketEvent } from './act.js';
import type { ScenarioModule } from './types.js';

export const complaintCampaign: ScenarioModule = {
  key: 'complaint_campaign',
  kind: 'lookalike',
  label: 'complaint_campaign',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.complaint_campaign;
    if (!c.enabled || c.count <= 0) return;
    const r = ctx.rng('complaint_campaign');
    const people = ctx.regulars('customer_service', r).slice(0, c.count).map(ctx.take);
    if (people.length === 0) return;
    const one = people.length === 1;
    ctx.add(
      {
        description: `${people.map((a) => a.id).join(', ')} work${one ? 's' : ''} a complaint campaign: a ticket per case, then a search and a full reveal citing it`,
        accounts: people.map((a) => a.id),
        window: ctx.windowOf(c.day, c.days),
        params: { ...c },
      },
      {
        run(sim, d) {
          if (!inDays(d, c.day, c.days)) return;
          for (const a of people) {
            const plan = sim.planFor(a, d);
            if (!plan) continue;
            const rr = Rng.derive(w.seed, 'complaint_campaign', a.index, d);
            const pool = sim.recentPool(undefined, d, 3);
            const gap = Math.floor((plan.end - plan.start - 40 * MINUTE) / Math.max(1, c.casesPerDay));
            let t = plan.start + 15 * MINUTE;
            for (let i = 0; i < c.casesPerDay && t < plan.end - 10 * MINUTE; i++) {
              const wb = Simulation.pickFrom(pool, rr);
              if (!wb) break;
              const id = sim.nextTicket();
              ticketEvent(sim, t, a, id, wb, 'open');
              const { reveal } = searchThenReveal(sim, plan, t + rr.range(1, 3) * MINUTE, wb, rr, 0, id);
              ticketEvent(sim, reveal.t + rr.range(5, 120) * MINUTE, a, id, wb, 'closed');
              t += Math.max(2 * MINUTE, Math.floor(gap * (0.6 + 0.8 * rr.next())));
            }
          }
        },
      },
    );
  },
};
