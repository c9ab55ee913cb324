/** Look-alike `manager_travel`: a manager works from another city for a few days: hotel network, usual laptop and work. */
import type { City } from '../world.js';
import type { ScenarioModule } from './types.js';

export const managerTravel: ScenarioModule = {
  key: 'manager_travel',
  kind: 'lookalike',
  label: 'manager_travel',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.manager_travel;
    if (!c.enabled) return;
    const r = ctx.rng('manager_travel');
    const people = ctx.regulars('manager', r).slice(0, c.count).map(ctx.take);
    const nets: string[] = [];
    for (const m of people) {
      const others = w.cities.filter((x) => x !== m.city);
      const dest: City = others.length > 0 ? r.pick(others) : w.elsewhere[2]!;
      const net = `${dest.broadband}.${r.range(2, 250)}`;
      nets.push(`${net}.0/24`);
      for (let k = c.day; k < Math.min(w.params.days, c.day + c.days); k++) m.travel.set(k, { city: dest, net });
    }
    if (people.length === 0) return;
    ctx.add({
      description: `${people.map((m) => `${m.id} travels to ${m.travel.get(c.day)?.city.def.en}`).join('; ')}: logins from a hotel network in another city, usual laptop and work`,
      accounts: people.map((m) => m.id),
      networks: nets,
      window: ctx.windowOf(c.day, c.days),
      params: { ...c },
    });
  },
};
