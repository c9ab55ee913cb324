/** Look-alike `surge`: the 11.11 shopping festival (volume, contacts, temporary couriers), on every account. */
import { surgeDayIndex } from '../world.js';
import type { ScenarioModule } from './types.js';

export const surge: ScenarioModule = {
  key: 'surge',
  kind: 'lookalike',
  label: 'surge',
  plan(ctx) {
    const p = ctx.w.params;
    const surgeDay = surgeDayIndex(ctx.w);
    if (surgeDay === undefined) return;
    const from = Math.max(0, surgeDay);
    const to = Math.min(p.days, surgeDay + p.surge.factors.length);
    if (from >= to) return;
    ctx.add({
      description: `shopping-festival surge: parcel volume x${p.surge.factors.join(', x')} from ${p.surge.date}`,
      accounts: [],
      all_accounts: true,
      window: ctx.windowOf(from, to - from),
      params: { ...p.surge },
    });
  },
};
