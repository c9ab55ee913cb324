/**
 * Attack `cs_insider`: during normal shifts a customer-service agent looks up a buyer's list of
 * waybills in batches of 4-9, with no ticket and no preceding phone search.
 */
import { F_NPA } from '../action.js';
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import { reveal } from './act.js';
import type { ScenarioModule } from './types.js';

export const csInsider: ScenarioModule = {
  key: 'cs_insider',
  kind: 'attack',
  label: 'cs_insider',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.cs_insider;
    if (!c.enabled) return;
    const r = ctx.rng('cs_insider');
    const victim = ctx.regulars('customer_service', r)[0];
    if (!victim) return ctx.skip('no customer_service account');
    ctx.take(victim);
    const tag = ctx.add(
      {
        description: `customer-service agent ${victim.id} looks up a buyer's list of waybill numbers during shifts, a few dozen a day, without tickets or calls`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          const k = d - c.day;
          if (k < 0 || k >= c.days) return;
          const plan = sim.planFor(victim, d);
          if (!plan) return;
          const rr = Rng.derive(w.seed, 'cs_insider', d);
          const pool = sim.recentPool(undefined, d, 3);
          let left = Math.round(c.recordsPerDay * (0.8 + 0.4 * rr.next()));
          while (left > 0) {
            const batch = Math.min(left, rr.range(4, 9));
            let t = plan.start + 10 * MINUTE + rr.int(Math.max(1, plan.end - plan.start - 60 * MINUTE));
            for (let i = 0; i < batch; i++) {
              const wb = Simulation.pickFrom(pool, rr);
              if (!wb) return;
              const x = reveal(sim, plan, t, wb, F_NPA, 'customer_service', rr, tag);
              t = x.t + rr.range(20, 100) * 1000;
            }
            left -= batch;
          }
        },
      },
    );
  },
};
