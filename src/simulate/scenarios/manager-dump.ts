/**
 * Attack `manager_dump`: a manager with export rights, at night from home (own laptop, a home
 * /24), exports every recent parcel of the city in chunks.
 */
import { F_NPA } from '../action.js';
import type { Session } from '../sim-types.js';
import { Rng } from '../rng.js';
import { HOUR, MINUTE } from '../time.js';
import { dayStart, deviceOn } from '../world.js';
import { exportLists, login, sessionAccess, tagged } from './act.js';
import type { ScenarioModule } from './types.js';

export const managerDump: ScenarioModule = {
  key: 'manager_dump',
  kind: 'attack',
  label: 'manager_dump',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.manager_dump;
    if (!c.enabled) return;
    const r = ctx.rng('manager_dump');
    const victim = ctx.regulars('manager', r, (a) => a.exportRights)[0];
    if (!victim) return ctx.skip('no manager account with export rights');
    ctx.take(victim);
    const home = `${victim.city.broadband}.${r.range(2, 250)}`;
    const tag = ctx.add(
      {
        description: `manager ${victim.id} (${victim.city.def.en}) with export rights dumps the city's recent parcels at night from home, in ${c.exports} exports`,
        accounts: [victim.id],
        devices: [victim.devices[0]!.id],
        networks: [`${home}.0/24`],
        params: { ...c },
      },
      {
        run(sim, d) {
          if (d !== c.day) return;
          const rr = Rng.derive(w.seed, 'manager_dump', d);
          let t = dayStart(w, d) + c.hour * HOUR + rr.int(40 * MINUTE);
          const dev = deviceOn(victim, d);
          const s: Session = { id: `s${rr.hex(10)}`, start: t, end: t + 3 * HOUR, device: dev, ip: `${home}.${rr.range(2, 250)}`, city: victim.city.def.en };
          login(sim, victim, s, true, sim.appHashFor(dev, d), tag);
          const lists = exportLists(sim, victim.city, d, c.lookbackDays, c.exports, c.exportSize, rr);
          for (const list of lists) {
            t += rr.range(3, 11) * MINUTE;
            sessionAccess(sim, t, victim, s, 'export', list, F_NPA, 'audit', tag);
          }
          sim.push(tagged(sim.act(t + rr.range(1, 6) * MINUTE, 'logout', victim, s), tag));
        },
      },
    );
  },
};
