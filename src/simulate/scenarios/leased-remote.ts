/**
 * Attack `leased_remote`: after hours a buyer drives an outlet clerk's own desktop remotely (same
 * device, office network and MFA habit) and walks consecutive waybill numbers of other outlets.
 */
import { F_NPA } from '../action.js';
import type { Session } from '../sim-types.js';
import { Rng } from '../rng.js';
import { HOUR, MINUTE } from '../time.js';
import { type Device, dayStart, deviceOn } from '../world.js';
import { login, sessionAccess, tagged } from './act.js';
import type { ScenarioModule } from './types.js';

export const leasedRemote: ScenarioModule = {
  key: 'leased_remote',
  kind: 'attack',
  label: 'leased_remote',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.leased_remote;
    if (!c.enabled) return;
    const r = ctx.rng('leased_remote');
    const victim = ctx.regulars('outlet_staff', r)[0];
    if (!victim) return ctx.skip('no outlet_staff account');
    ctx.take(victim);
    const desk = victim.devices[0]!;
    const tag = ctx.add(
      {
        description: `outlet clerk ${victim.id} (${victim.site.code}) lets a buyer drive the clerk's own desktop remotely after hours, walking sequential waybill numbers`,
        accounts: [victim.id],
        devices: [desk.id],
        networks: [],
        params: { ...c },
      },
      {
        run(sim, d) {
          const k = d - c.day;
          if (k < 0 || k >= c.evenings) return;
          const rr = Rng.derive(w.seed, 'leased_remote', d);
          const base = dayStart(w, d);
          const start = Math.max(base + (victim.shiftEnd + rr.range(40, 100)) * MINUTE, base + 20.5 * HOUR) + rr.int(MINUTE);
          const dev: Device = deviceOn(victim, d) ?? desk;
          const s: Session = { id: `s${rr.hex(10)}`, start, end: start + 4 * HOUR, device: dev, ip: `${victim.site.net}.${dev.host}`, city: victim.city.def.en };
          login(sim, victim, s, victim.mfa, sim.appHashFor(dev, d), tag);
          const n = Math.round(c.recordsPerEvening * (0.85 + 0.3 * rr.next()));
          // walk one outlet's numbers upward from a point the buyer knows, then another's
          const outlets = w.outlets.filter((o) => o !== victim.site);
          let o = rr.pick(outlets.length > 0 ? outlets : w.outlets);
          let [lo, hi] = sim.seqRange(o);
          let seq = Math.max(lo, hi - rr.range(n, n * 3));
          let t = start + rr.range(40, 200) * 1000;
          for (let i = 0; i < n; i++) {
            if (seq > hi) {
              o = rr.pick(outlets.length > 0 ? outlets : w.outlets);
              [lo, hi] = sim.seqRange(o);
              seq = Math.max(lo, hi - rr.range(n, n * 3));
            }
            sessionAccess(sim, t, victim, s, 'reveal', `${w.params.carrierPrefix}7${o.block}${String(seq).padStart(8, '0')}`, F_NPA, 'delivery', tag);
            seq += rr.chance(0.9) ? 1 : 2;
            t += rr.range(2_000, 9_000);
          }
          sim.push(tagged(sim.act(t + rr.range(20, 120) * 1000, 'logout', victim, s), tag));
        },
      },
    );
  },
};
