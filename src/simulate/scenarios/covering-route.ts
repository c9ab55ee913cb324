/**
 * Look-alike `covering_route`: a courier covers a colleague's route at another outlet of the city
 * while the colleague is on leave: assigned parcels of a site not his own.
 */
import type { Account } from '../world.js';
import type { ScenarioModule } from './types.js';

export const coveringRoute: ScenarioModule = {
  key: 'covering_route',
  kind: 'lookalike',
  label: 'covering_route',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.covering_route;
    if (!c.enabled) return;
    const r = ctx.rng('covering_route');
    const helpers: Account[] = [];
    const absent: Account[] = [];
    for (let i = 0; i < c.count; i++) {
      const helper = ctx.regulars('courier', r)[0];
      if (!helper) break;
      const sameCity = helper.city.outlets.filter((o) => o !== helper.site);
      const targets = sameCity.length > 0 ? sameCity : w.outlets.filter((o) => o !== helper.site);
      if (targets.length === 0) break;
      const target = r.pick(targets);
      const colleague = ctx.regulars('courier', r, (a) => a.site === target && a.route >= 0)[0];
      if (!colleague) break;
      ctx.take(helper);
      ctx.take(colleague);
      for (let k = c.day; k < Math.min(w.params.days, c.day + c.days); k++) {
        colleague.away.add(k);
        helper.cover.set(k, { outlet: target, route: colleague.route });
      }
      helpers.push(helper);
      absent.push(colleague);
    }
    if (helpers.length === 0) return;
    ctx.add({
      description: `${helpers.map((h) => h.id).join(', ')} cover${helpers.length === 1 ? 's' : ''} the route of ${absent.map((a) => `${a.id} (${a.site.code})`).join(', ')}, on leave: assigned parcels of another outlet`,
      accounts: helpers.map((h) => h.id),
      related_accounts: absent.map((a) => a.id),
      window: ctx.windowOf(c.day, c.days),
      params: { ...c },
    });
  },
};
