/** Look-alike `app_update`: every courier device moves to the new app build within `spreadDays`, 60% on the first day. */
import type { ScenarioModule } from './types.js';

export const appUpdate: ScenarioModule = {
  key: 'app_update',
  kind: 'lookalike',
  label: 'app_update',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.app_update;
    if (!c.enabled) return;
    const r = ctx.rng('app_update');
    const couriers = w.accounts.filter((a) => a.role === 'courier');
    for (const a of couriers) {
      for (const dev of a.devices) {
        if (dev.app !== 'courier') continue;
        const when = Math.max(dev.fromDay, c.day + (r.chance(0.6) ? 0 : r.int(Math.max(1, c.spreadDays))));
        w.appUpdateDay.set(dev.id, when);
      }
    }
    ctx.add({
      description: `fleet-wide courier app update: every courier device moves to the new build within ${c.spreadDays} day(s)`,
      accounts: couriers.map((a) => a.id),
      window: ctx.windowOf(c.day, Math.max(1, c.spreadDays)),
      params: { ...c, from: w.apps.courierOld, to: w.apps.courierNew },
    });
  },
};
