/**
 * Look-alike `busy_agent`: an agent handles 2.5x the usual calls and tickets, all backed by
 * searches and tickets. The agent is chosen before the customer-service insider, so the insider
 * is never the busy one; the label comes in its turn.
 */
import type { ScenarioModule } from './types.js';

export const busyAgent: ScenarioModule = {
  key: 'busy_agent',
  kind: 'lookalike',
  label: 'busy_agent',
  reserve: {
    before: 'cs_insider',
    choose(ctx) {
      const c = ctx.w.params.lookalikes.busy_agent;
      const r = ctx.rng('busy_agent');
      return c.enabled ? ctx.regulars('customer_service', r).slice(0, c.count).map(ctx.take) : [];
    },
  },
  plan(ctx) {
    const c = ctx.w.params.lookalikes.busy_agent;
    const agents = ctx.reserved.get('busy_agent') ?? [];
    if (!c.enabled || agents.length === 0) return;
    for (const a of agents) for (let k = c.day; k < Math.min(ctx.w.params.days, c.day + c.days); k++) a.load.set(k, c.factor);
    ctx.add({
      description: `${agents.map((a) => a.id).join(', ')} handle${agents.length === 1 ? 's' : ''} ${c.factor}x the usual calls and tickets (all backed by searches and tickets)`,
      accounts: agents.map((a) => a.id),
      window: ctx.windowOf(c.day, c.days),
      params: { ...c },
    });
  },
};
