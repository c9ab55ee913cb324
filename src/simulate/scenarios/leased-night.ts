/**
 * Attack `leased_night`: an outlet clerk's (or courier's) account rented to a data broker, used
 * at night from the broker's own computer in a city outside the network to reveal parcels
 * network-wide, some with the sender's ID number.
 */
import { F_ALL, F_NPA } from '../action.js';
import { Simulation } from '../engine.js';
import type { Session } from '../sim-types.js';
import { Rng } from '../rng.js';
import { HOUR, MINUTE } from '../time.js';
import { dayStart, newDevice } from '../world.js';
import { login, oddBuild, sessionAccess, tagged } from './act.js';
import type { ScenarioModule } from './types.js';

export const leasedNight: ScenarioModule = {
  key: 'leased_night',
  kind: 'attack',
  label: 'leased_night',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.leased_night;
    if (!c.enabled) return;
    const r = ctx.rng('leased_night');
    const victim = ctx.regulars(c.role, r)[0];
    if (!victim) return ctx.skip(`no ${c.role} account`);
    ctx.take(victim);
    const where = w.elsewhere[0]!;
    const device = newDevice(r, 'desktop', 'web', c.day);
    const net = `${where.broadband}.${r.range(2, 250)}`;
    const tool = oddBuild(w, 'tool-a', r);
    const tag = ctx.add(
      {
        description: `${victim.role} account ${victim.id} (${victim.site.code}, ${victim.city.def.en}) rented to a data broker, used at night from the broker's own computer in ${where.def.en} to reveal parcels network-wide`,
        accounts: [victim.id],
        devices: [device.id],
        networks: [`${net}.0/24`],
        params: { ...c, city: where.def.en, app_hash: tool },
      },
      {
        run(sim, d) {
          const k = d - c.day;
          if (k < 0 || k >= c.nights) return;
          const rr = Rng.derive(w.seed, 'leased_night', d);
          const start = dayStart(w, d) + c.startHour * HOUR + rr.int(50 * MINUTE);
          const n = Math.round(c.recordsPerNight * (0.85 + 0.3 * rr.next()));
          const s: Session = { id: `s${rr.hex(10)}`, start, end: start + 5 * HOUR, device, ip: `${net}.${rr.range(2, 250)}`, city: where.def.en };
          login(sim, victim, s, false, tool, tag);
          const pool = sim.recentPool(undefined, d, 3);
          let t = start + rr.range(30, 120) * 1000;
          const gap = (4.5 * HOUR) / Math.max(1, n);
          for (let i = 0; i < n; i++) {
            const wb = Simulation.pickFrom(pool, rr);
            if (!wb) break;
            sessionAccess(sim, t, victim, s, 'reveal', wb, rr.chance(0.4) ? F_ALL : F_NPA, 'delivery', tag);
            t += Math.max(800, Math.floor(gap * (0.4 + 1.2 * rr.next())));
          }
          sim.push(tagged(sim.act(t + rr.range(10, 90) * 1000, 'logout', victim, s), tag));
        },
      },
    );
  },
};
