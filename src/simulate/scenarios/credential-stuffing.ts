/**
 * Attack `credential_stuffing`: at night, ~25 minutes of failed logins from one hosting /24 against
 * many accounts, two more on a manager without a second factor, a success from the attacker's
 * device, a search, then exports of the city's recent parcels.
 */
import { F_NONE, F_NPA } from '../action.js';
import type { Session } from '../sim-types.js';
import { Rng } from '../rng.js';
import { HOUR, MINUTE } from '../time.js';
import { type Account, dayStart, newDevice } from '../world.js';
import { exportLists, login, sessionAccess, tagged } from './act.js';
import type { ScenarioModule } from './types.js';

export const credentialStuffing: ScenarioModule = {
  key: 'credential_stuffing',
  kind: 'attack',
  label: 'credential_stuffing',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.credential_stuffing;
    if (!c.enabled) return;
    const r = ctx.rng('credential_stuffing');
    let target = ctx.regulars('manager', r, (a) => !a.mfa)[0];
    if (!target) {
      target = ctx.regulars('manager', r)[0];
      if (target) target.mfa = false; // an account without a second factor is what stuffing finds
    }
    if (!target) return ctx.skip('no manager account');
    const victim = ctx.take(target);
    const where = w.elsewhere[2]!;
    const net = `${where.broadband}.${r.range(2, 250)}`;
    const tool = newDevice(r, 'desktop', 'web', c.day);
    const others = r.shuffle(w.accounts.filter((a) => a !== victim && !a.temp && a.startDay === 0)).slice(0, Math.max(0, c.accountsTried - 1));
    const tag = ctx.add(
      {
        description: `a burst of failed logins from ${net}.0/24 (${where.def.en}) against ${others.length + 1} accounts; manager ${victim.id}, without a second factor, falls, and the intruder exports the city's parcels`,
        accounts: [victim.id],
        related_accounts: others.map((a) => a.id),
        devices: [tool.id],
        networks: [`${net}.0/24`],
        params: { ...c, city: where.def.en },
      },
      {
        run(sim, d) {
          if (d !== c.day) return;
          const rr = Rng.derive(w.seed, 'credential_stuffing', d);
          let t = dayStart(w, d) + c.hour * HOUR + rr.int(30 * MINUTE);
          const fail = (a: Account) => {
            const x = sim.act(t, 'login', a, { id: '', start: t, end: t, device: tool, ip: `${net}.${rr.range(2, 250)}`, city: where.def.en });
            x.session = undefined;
            x.result = 'failure';
            x.mfa = false;
            sim.push(tagged(x, tag));
          };
          const tries = Math.max(3, c.attempts);
          const gap = (25 * MINUTE) / tries;
          for (let i = 0; i < tries - 3; i++) {
            fail(others.length > 0 ? others[rr.int(others.length)]! : victim);
            t += Math.max(200, Math.floor(gap * (0.3 + 1.4 * rr.next())));
          }
          fail(victim);
          t += rr.range(2, 20) * 1000;
          fail(victim);
          t += rr.range(2, 20) * 1000;
          const s: Session = { id: `s${rr.hex(10)}`, start: t, end: t + 2 * HOUR, device: tool, ip: `${net}.${rr.range(2, 250)}`, city: where.def.en };
          login(sim, victim, s, false, undefined, tag);
          t += rr.range(2, 10) * MINUTE;
          const lists = exportLists(sim, victim.city, d, 3, c.exports, c.exportSize, rr);
          const probe = sim.act(t, 'access', victim, s);
          probe.action = 'search';
          probe.waybills = (lists[0] ?? []).slice(0, 50);
          probe.fields = F_NONE;
          probe.purpose = 'other';
          probe.result = 'allowed';
          sim.push(tagged(probe, tag));
          for (const list of lists) {
            t += rr.range(2, 9) * MINUTE;
            sessionAccess(sim, t, victim, s, 'export', list, F_NPA, 'other', tag);
          }
          sim.push(tagged(sim.act(t + rr.range(1, 5) * MINUTE, 'logout', victim, s), tag));
        },
      },
    );
  },
};
