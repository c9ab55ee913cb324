/**
 * Labelled attacks and labelled benign look-alikes. Planning picks the people involved and changes
 * the world (new devices, covering rotas, travel); running adds the attackers' own actions to the
 * day, each tagged with its label so the truth file can list their event ids.
 */
import type { Role } from '../contracts/events.js';
import { type SimAction, F_ALL, F_NONE, F_NPA } from './action.js';
import { type DayPlan, type Session, Simulation } from './engine.js';
import { type PlanKit, planEvidenceAttacks, planEvidenceLookalikes } from './evidence-scenarios.js';
import { Rng, hashString } from './rng.js';
import { HOUR, MINUTE } from './time.js';
import { type Account, type City, type Device, type World, addAccount, dayStart, deviceOn, newDevice, surgeDayIndex } from './world.js';

export interface Label {
  /** A1, A2 ... for attacks, L1, L2 ... for look-alikes */
  id: string;
  kind: 'attack' | 'lookalike';
  /** attack scenario or look-alike kind */
  scenario: string;
  description: string;
  /** attacking accounts (attack) or accounts showing the benign pattern (look-alike) */
  accounts: string[];
  /** true when a look-alike concerns every account (the surge) */
  all_accounts: boolean;
  /** accounts touched but not used to take data (credential-stuffing targets that held) */
  related_accounts: string[];
  devices: string[];
  /** /24 networks ("a.b.c.0/24") the scenario uses that its accounts do not normally use */
  networks: string[];
  /** look-alikes: planned window; attacks: filled in from their events */
  window?: { start: number; end: number };
  params: Record<string, unknown>;
}

export interface Scenario {
  label: Label;
  /** 1-based tag put on the scenario's actions */
  tag: number;
  prepare?(sim: Simulation): void;
  run?(sim: Simulation, d: number): void;
}

export interface Plan {
  scenarios: Scenario[];
  skipped: { scenario: string; reason: string }[];
}

/** Chooses people and plants every enabled attack and look-alike. Mutates the world. */
export function planScenarios(w: World): Plan {
  const used = new Set<string>();
  const scenarios: Scenario[] = [];
  const skipped: Plan['skipped'] = [];
  const p = w.params;
  const A = p.attacks;
  const L = p.lookalikes;
  const rngFor = (name: string) => Rng.derive(w.seed, 'scenario', name);
  const regulars = (role: Role, r: Rng, filter: (a: Account) => boolean = () => true) =>
    r.shuffle(w.accounts.filter((a) => a.role === role && !a.temp && a.startDay === 0 && !used.has(a.id) && filter(a)));
  const take = (a: Account) => {
    used.add(a.id);
    return a;
  };
  const add = (label: Omit<Label, 'id' | 'all_accounts' | 'related_accounts' | 'networks' | 'devices'> & Partial<Label>, impl: Omit<Scenario, 'label' | 'tag'>) => {
    const tag = scenarios.length + 1;
    const n = scenarios.filter((s) => s.label.kind === label.kind).length + 1;
    scenarios.push({
      label: { all_accounts: false, related_accounts: [], networks: [], devices: [], ...label, id: `${label.kind === 'attack' ? 'A' : 'L'}${n}` },
      tag,
      ...impl,
    });
    return tag;
  };
  const tagged = (x: SimAction, tag: number) => {
    x.tag = tag;
    return x;
  };

  // ---------------------------------------------------------------- attacks
  if (A.leased_night.enabled) {
    const c = A.leased_night;
    const r = rngFor('leased_night');
    const victim = regulars(c.role, r)[0];
    if (!victim) skipped.push({ scenario: 'leased_night', reason: `no ${c.role} account` });
    else {
      take(victim);
      const where = w.elsewhere[0]!;
      const device = newDevice(r, 'desktop', 'web', c.day);
      const net = `${where.broadband}.${r.range(2, 250)}`;
      const tool = `sha256:${hashString(`${w.seed}:tool-a`).toString(16).padStart(8, '0')}${r.hex(8)}`;
      const tag = add(
        {
          kind: 'attack',
          scenario: 'leased_night',
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
            const login = sim.act(start, 'login', victim, s);
            login.result = 'success';
            login.mfa = false;
            login.appHash = tool;
            sim.push(tagged(login, tag));
            const pool = sim.recentPool(undefined, d, 3);
            let t = start + rr.range(30, 120) * 1000;
            const gap = (4.5 * HOUR) / Math.max(1, n);
            for (let i = 0; i < n; i++) {
              const wb = Simulation.pickFrom(pool, rr);
              if (!wb) break;
              const x = sim.act(t, 'access', victim, s);
              x.action = 'reveal';
              x.waybill = wb;
              x.fields = rr.chance(0.4) ? F_ALL : F_NPA;
              x.purpose = 'delivery';
              x.result = 'allowed';
              sim.push(tagged(x, tag));
              t += Math.max(800, Math.floor(gap * (0.4 + 1.2 * rr.next())));
            }
            sim.push(tagged(sim.act(t + rr.range(10, 90) * 1000, 'logout', victim, s), tag));
          },
        },
      );
    }
  }

  if (A.leased_remote.enabled) {
    const c = A.leased_remote;
    const r = rngFor('leased_remote');
    const victim = regulars('outlet_staff', r)[0];
    if (!victim) skipped.push({ scenario: 'leased_remote', reason: 'no outlet_staff account' });
    else {
      take(victim);
      const desk = victim.devices[0]!;
      add(
        {
          kind: 'attack',
          scenario: 'leased_remote',
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
            const tag = this_tag('leased_remote');
            const rr = Rng.derive(w.seed, 'leased_remote', d);
            const base = dayStart(w, d);
            const start = Math.max(base + (victim.shiftEnd + rr.range(40, 100)) * MINUTE, base + 20.5 * HOUR) + rr.int(MINUTE);
            const dev: Device = deviceOn(victim, d) ?? desk;
            const s: Session = { id: `s${rr.hex(10)}`, start, end: start + 4 * HOUR, device: dev, ip: `${victim.site.net}.${dev.host}`, city: victim.city.def.en };
            const login = sim.act(start, 'login', victim, s);
            login.result = 'success';
            login.mfa = victim.mfa;
            login.appHash = sim.appHashFor(dev, d);
            sim.push(tagged(login, tag));
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
              const x = sim.act(t, 'access', victim, s);
              x.action = 'reveal';
              x.waybill = `${w.params.carrierPrefix}7${o.block}${String(seq).padStart(8, '0')}`;
              x.fields = F_NPA;
              x.purpose = 'delivery';
              x.result = 'allowed';
              sim.push(tagged(x, tag));
              seq += rr.chance(0.9) ? 1 : 2;
              t += rr.range(2_000, 9_000);
            }
            sim.push(tagged(sim.act(t + rr.range(20, 120) * 1000, 'logout', victim, s), tag));
          },
        },
      );
    }
  }

  // busy_agent must not be the insider: choose it first
  const busyR = rngFor('busy_agent');
  const busyAgents = L.busy_agent.enabled ? regulars('customer_service', busyR).slice(0, L.busy_agent.count).map(take) : [];

  if (A.cs_insider.enabled) {
    const c = A.cs_insider;
    const r = rngFor('cs_insider');
    const victim = regulars('customer_service', r)[0];
    if (!victim) skipped.push({ scenario: 'cs_insider', reason: 'no customer_service account' });
    else {
      take(victim);
      add(
        {
          kind: 'attack',
          scenario: 'cs_insider',
          description: `customer-service agent ${victim.id} looks up a buyer's list of waybill numbers during shifts, a few dozen a day, without tickets or calls`,
          accounts: [victim.id],
          devices: [victim.devices[0]!.id],
          params: { ...c },
        },
        {
          run(sim, d) {
            const k = d - c.day;
            if (k < 0 || k >= c.days) return;
            const tag = this_tag('cs_insider');
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
                const x = sim.access(plan, t, 'reveal', rr);
                x.waybill = wb;
                x.fields = F_NPA;
                x.purpose = 'customer_service';
                sim.push(tagged(x, tag));
                t = x.t + rr.range(20, 100) * 1000;
              }
              left -= batch;
            }
          },
        },
      );
    }
  }

  if (A.scanner_malware.enabled) {
    const c = A.scanner_malware;
    const r = rngFor('scanner_malware');
    const victims = regulars('courier', r).slice(0, Math.max(1, c.devices)).map(take);
    if (victims.length === 0) skipped.push({ scenario: 'scanner_malware', reason: 'no courier account' });
    else {
      const hash = `sha256:${hashString(`${w.seed}:trojan`).toString(16).padStart(8, '0')}${r.hex(8)}`;
      const devices = victims.map((v) => deviceOn(v, c.day));
      add(
        {
          kind: 'attack',
          scenario: 'scanner_malware',
          description: `a trojanised courier-app build on ${devices.map((x) => x.id).join(', ')} (${victims.map((v) => v.id).join(', ')}) quietly reveals parcels the courier never handles`,
          accounts: victims.map((v) => v.id),
          devices: devices.map((x) => x.id),
          params: { ...c, app_hash: hash },
        },
        {
          prepare(sim) {
            for (const dev of devices) sim.appOverride.set(dev.id, { fromDay: c.day, hash, tag: this_tag('scanner_malware') });
          },
          run(sim, d) {
            const k = d - c.day;
            if (k < 0 || k >= c.days) return;
            const tag = this_tag('scanner_malware');
            victims.forEach((v, vi) => {
              const plan = sim.planFor(v, d);
              if (!plan) return;
              const rr = Rng.derive(w.seed, 'scanner_malware', d, vi);
              const pool = sim.recentPool(v.city, d, 3);
              for (let t0 = plan.start + 20 * MINUTE; t0 < plan.end - 10 * MINUTE; t0 += HOUR) {
                const n = Math.round(c.perHour * (0.6 + 0.8 * rr.next()));
                for (let i = 0; i < n; i++) {
                  const wb = Simulation.pickFrom(pool, rr);
                  if (!wb) return;
                  const x = sim.access(plan, t0 + rr.int(HOUR), 'reveal', rr);
                  x.waybill = wb;
                  x.fields = F_NPA;
                  x.purpose = 'delivery';
                  sim.push(tagged(x, tag));
                }
              }
            });
          },
        },
      );
    }
  }

  if (A.courier_ring.enabled) {
    const c = A.courier_ring;
    const r = rngFor('courier_ring');
    // one member per outlet, cities taken in turn
    const members: Account[] = [];
    const byCity = w.cities.map((city) => r.shuffle(city.outlets.slice()));
    for (let round = 0; members.length < c.members && round < w.params.outletsPerCity; round++) {
      for (const outs of byCity) {
        if (members.length >= c.members) break;
        const o = outs[round];
        if (!o) continue;
        const m = regulars('courier', r, (a) => a.site === o)[0];
        if (m) members.push(take(m));
      }
    }
    if (members.length < 2) skipped.push({ scenario: 'courier_ring', reason: 'needs couriers at two or more outlets' });
    else {
      const proxy = w.elsewhere[1]!;
      const net = `${proxy.broadband}.${r.range(2, 250)}`;
      add(
        {
          kind: 'attack',
          scenario: 'courier_ring',
          description: `a ring of ${members.length} couriers at ${new Set(members.map((m) => m.site.code)).size} outlets harvests parcels in the evenings through one proxy network (${net}.0/24, ${proxy.def.en}), each staying just under the per-account reveal limits`,
          accounts: members.map((m) => m.id),
          devices: members.map((m) => m.devices[0]!.id),
          networks: [`${net}.0/24`],
          params: { ...c, proxy_city: proxy.def.en },
        },
        {
          prepare(sim) {
            for (const m of members) sim.watched.add(m.id);
          },
          run(sim, d) {
            const k = d - c.day;
            if (k < 0 || k >= c.days) return;
            const tag = this_tag('courier_ring');
            const hourCap = Math.floor(c.hourlyLimit * c.margin);
            const dayCap = Math.floor(c.dailyLimit * c.margin);
            members.forEach((m, mi) => {
              if (!(d >= m.startDay && d < m.endDay)) return;
              const rr = Rng.derive(w.seed, 'courier_ring', d, mi);
              const h0 = Math.floor((dayStart(w, d) - w.t0) / HOUR);
              let legitDay = 0;
              for (let h = 0; h < 24; h++) legitDay += sim.revealCount.get(`${m.id}@${h0 + h}`) ?? 0;
              let budget = Math.min(Math.round(c.perDay * (0.85 + 0.3 * rr.next())), dayCap - legitDay);
              if (budget <= 0) return;
              const start = dayStart(w, d) + c.startHour * HOUR + rr.int(30 * MINUTE);
              const dev = deviceOn(m, d);
              const s: Session = { id: `s${rr.hex(10)}`, start, end: start + 3 * HOUR, device: dev, ip: `${net}.${rr.range(2, 250)}`, city: proxy.def.en };
              const login = sim.act(start, 'login', m, s);
              login.result = 'success';
              login.mfa = m.mfa;
              login.appHash = sim.appHashFor(dev, d);
              sim.push(tagged(login, tag));
              const pool = sim.recentPool(m.city, d, 3);
              let last = start;
              const hours = Math.max(1, Math.ceil(24 - c.startHour));
              for (let hh = 0; hh < Math.min(3, hours) && budget > 0; hh++) {
                const slotStart = dayStart(w, d) + (c.startHour + hh) * HOUR;
                const hourIdx = h0 + c.startHour + hh;
                const room = hourCap - (sim.revealCount.get(`${m.id}@${hourIdx}`) ?? 0);
                const n = Math.min(budget, room, Math.ceil(budget / (Math.min(3, hours) - hh)));
                const times: number[] = [];
                for (let i = 0; i < n; i++) times.push(Math.max(start + MINUTE, slotStart + rr.int(HOUR - 1000)));
                times.sort((a, b) => a - b);
                for (const t of times) {
                  if (t >= slotStart + HOUR) continue;
                  const wb = Simulation.pickFrom(pool, rr);
                  if (!wb) break;
                  const x = sim.act(t, 'access', m, s);
                  x.action = 'reveal';
                  x.waybill = wb;
                  x.fields = F_NPA;
                  x.purpose = 'delivery';
                  x.result = 'allowed';
                  sim.push(tagged(x, tag));
                  budget--;
                  last = Math.max(last, t);
                }
              }
              sim.push(tagged(sim.act(last + rr.range(30, 300) * 1000, 'logout', m, s), tag));
            });
          },
        },
      );
    }
  }

  if (A.credential_stuffing.enabled) {
    const c = A.credential_stuffing;
    const r = rngFor('credential_stuffing');
    let target = regulars('manager', r, (a) => !a.mfa)[0];
    if (!target) {
      target = regulars('manager', r)[0];
      if (target) target.mfa = false; // an account without a second factor is what stuffing finds
    }
    if (!target) skipped.push({ scenario: 'credential_stuffing', reason: 'no manager account' });
    else {
      take(target);
      const where = w.elsewhere[2]!;
      const net = `${where.broadband}.${r.range(2, 250)}`;
      const tool = newDevice(r, 'desktop', 'web', c.day);
      const others = r.shuffle(w.accounts.filter((a) => a !== target && !a.temp && a.startDay === 0)).slice(0, Math.max(0, c.accountsTried - 1));
      add(
        {
          kind: 'attack',
          scenario: 'credential_stuffing',
          description: `a burst of failed logins from ${net}.0/24 (${where.def.en}) against ${others.length + 1} accounts; manager ${target.id}, without a second factor, falls, and the intruder exports the city's parcels`,
          accounts: [target.id],
          related_accounts: others.map((a) => a.id),
          devices: [tool.id],
          networks: [`${net}.0/24`],
          params: { ...c, city: where.def.en },
        },
        {
          run(sim, d) {
            if (d !== c.day) return;
            const tag = this_tag('credential_stuffing');
            const rr = Rng.derive(w.seed, 'credential_stuffing', d);
            let t = dayStart(w, d) + c.hour * HOUR + rr.int(30 * MINUTE);
            const sess = (): Session => ({ id: '', start: t, end: t, device: tool, ip: `${net}.${rr.range(2, 250)}`, city: where.def.en });
            const fail = (a: Account) => {
              const x = sim.act(t, 'login', a, sess());
              x.session = undefined;
              x.result = 'failure';
              x.mfa = false;
              sim.push(tagged(x, tag));
            };
            const tries = Math.max(3, c.attempts);
            const gap = (25 * MINUTE) / tries;
            for (let i = 0; i < tries - 3; i++) {
              fail(others.length > 0 ? others[rr.int(others.length)]! : target);
              t += Math.max(200, Math.floor(gap * (0.3 + 1.4 * rr.next())));
            }
            fail(target);
            t += rr.range(2, 20) * 1000;
            fail(target);
            t += rr.range(2, 20) * 1000;
            const s: Session = { id: `s${rr.hex(10)}`, start: t, end: t + 2 * HOUR, device: tool, ip: `${net}.${rr.range(2, 250)}`, city: where.def.en };
            const ok = sim.act(t, 'login', target, s);
            ok.result = 'success';
            ok.mfa = false;
            sim.push(tagged(ok, tag));
            t += rr.range(2, 10) * MINUTE;
            const lists = exportLists(sim, target.city, d, 3, c.exports, c.exportSize, rr);
            const probe = sim.act(t, 'access', target, s);
            probe.action = 'search';
            probe.waybills = (lists[0] ?? []).slice(0, 50);
            probe.fields = F_NONE;
            probe.purpose = 'other';
            probe.result = 'allowed';
            sim.push(tagged(probe, tag));
            for (const list of lists) {
              t += rr.range(2, 9) * MINUTE;
              const x = sim.act(t, 'access', target, s);
              x.action = 'export';
              x.waybills = list;
              x.fields = F_NPA;
              x.purpose = 'other';
              x.result = 'allowed';
              sim.push(tagged(x, tag));
            }
            sim.push(tagged(sim.act(t + rr.range(1, 5) * MINUTE, 'logout', target, s), tag));
          },
        },
      );
    }
  }

  if (A.manager_dump.enabled) {
    const c = A.manager_dump;
    const r = rngFor('manager_dump');
    const victim = regulars('manager', r, (a) => a.exportRights)[0];
    if (!victim) skipped.push({ scenario: 'manager_dump', reason: 'no manager account with export rights' });
    else {
      take(victim);
      const home = `${victim.city.broadband}.${r.range(2, 250)}`;
      add(
        {
          kind: 'attack',
          scenario: 'manager_dump',
          description: `manager ${victim.id} (${victim.city.def.en}) with export rights dumps the city's recent parcels at night from home, in ${c.exports} exports`,
          accounts: [victim.id],
          devices: [victim.devices[0]!.id],
          networks: [`${home}.0/24`],
          params: { ...c },
        },
        {
          run(sim, d) {
            if (d !== c.day) return;
            const tag = this_tag('manager_dump');
            const rr = Rng.derive(w.seed, 'manager_dump', d);
            let t = dayStart(w, d) + c.hour * HOUR + rr.int(40 * MINUTE);
            const dev = deviceOn(victim, d);
            const s: Session = { id: `s${rr.hex(10)}`, start: t, end: t + 3 * HOUR, device: dev, ip: `${home}.${rr.range(2, 250)}`, city: victim.city.def.en };
            const login = sim.act(t, 'login', victim, s);
            login.result = 'success';
            login.mfa = true;
            login.appHash = sim.appHashFor(dev, d);
            sim.push(tagged(login, tag));
            const lists = exportLists(sim, victim.city, d, c.lookbackDays, c.exports, c.exportSize, rr);
            for (const list of lists) {
              t += rr.range(3, 11) * MINUTE;
              const x = sim.act(t, 'access', victim, s);
              x.action = 'export';
              x.waybills = list;
              x.fields = F_NPA;
              x.purpose = 'audit';
              x.result = 'allowed';
              sim.push(tagged(x, tag));
            }
            sim.push(tagged(sim.act(t + rr.range(1, 6) * MINUTE, 'logout', victim, s), tag));
          },
        },
      );
    }
  }

  // ---------------------------------------------------------------- look-alikes
  const windowOf = (day: number, days: number) => ({ start: dayStart(w, day), end: dayStart(w, Math.min(p.days, day + days)) });
  const kit: PlanKit = {
    w,
    regulars,
    take,
    add,
    skip: (scenario, reason) => skipped.push({ scenario, reason }),
    windowOf,
    tagOf: (name) => this_tag(name),
  };

  if (L.new_hire.enabled) {
    const c = L.new_hire;
    const r = rngFor('new_hire');
    const hires: Account[] = [];
    for (let i = 0; i < c.couriers; i++) {
      const o = r.pick(w.outlets);
      hires.push(addAccount(w, r, 'courier', o, `${o.code.toLowerCase()}.n${String(i + 1).padStart(2, '0')}`, { route: -1, startDay: c.day }));
    }
    for (let i = 0; i < c.outlet_staff; i++) {
      const o = r.pick(w.outlets);
      hires.push(addAccount(w, r, 'outlet_staff', o, `${o.code.toLowerCase()}.sn${String(i + 1).padStart(2, '0')}`, { shiftIndex: 2, startDay: c.day }));
    }
    for (let i = 0; i < c.customer_service; i++) {
      hires.push(addAccount(w, r, 'customer_service', w.csCentre, `cs1.n${String(i + 1).padStart(3, '0')}`, { shiftIndex: i, startDay: c.day }));
    }
    for (const h of hires) {
      take(h);
      h.workdays = 0x7f & ~(1 << ((c.day + 3 + h.index) % 7));
    }
    if (hires.length > 0) {
      add(
        { kind: 'lookalike', scenario: 'new_hire', description: `${hires.length} new hires start work: no history, new devices, ordinary assigned work`, accounts: hires.map((h) => h.id), devices: hires.map((h) => h.devices[0]!.id), window: windowOf(c.day, 7), params: { ...c } },
        {},
      );
    }
  }

  const surgeDay = surgeDayIndex(w);
  const temps = w.accounts.filter((a) => a.temp);
  if (temps.length > 0) {
    const from = temps[0]!.startDay;
    add(
      { kind: 'lookalike', scenario: 'new_hire', description: `${temps.length} temporary couriers hired for the shopping festival`, accounts: temps.map((a) => a.id), devices: temps.map((a) => a.devices[0]!.id), window: windowOf(from, temps[0]!.endDay - from), params: { temporary: true } },
      {},
    );
    for (const t of temps) used.add(t.id);
  }

  if (L.new_phone.enabled) {
    const c = L.new_phone;
    const r = rngFor('new_phone');
    const people = regulars('courier', r).slice(0, c.count).map(take);
    const devices: string[] = [];
    for (const a of people) {
      const old = a.devices[0]!;
      const dev = newDevice(r, r.chance(0.5) ? 'phone' : old.kind, 'courier', c.day);
      a.devices.push(dev);
      devices.push(dev.id);
    }
    if (people.length > 0) {
      add({ kind: 'lookalike', scenario: 'new_phone', description: `${people.length} couriers switch to a new phone or PDA`, accounts: people.map((a) => a.id), devices, window: windowOf(c.day, 3), params: { ...c } }, {});
    }
  }

  if (L.covering_route.enabled) {
    const c = L.covering_route;
    const r = rngFor('covering_route');
    const helpers: Account[] = [];
    const absent: Account[] = [];
    for (let i = 0; i < c.count; i++) {
      const helper = regulars('courier', r)[0];
      if (!helper) break;
      const sameCity = helper.city.outlets.filter((o) => o !== helper.site);
      const targets = sameCity.length > 0 ? sameCity : w.outlets.filter((o) => o !== helper.site);
      if (targets.length === 0) break;
      const target = r.pick(targets);
      const colleague = regulars('courier', r, (a) => a.site === target && a.route >= 0)[0];
      if (!colleague) break;
      take(helper);
      take(colleague);
      for (let k = c.day; k < Math.min(p.days, c.day + c.days); k++) {
        colleague.away.add(k);
        helper.cover.set(k, { outlet: target, route: colleague.route });
      }
      helpers.push(helper);
      absent.push(colleague);
    }
    if (helpers.length > 0) {
      add(
        {
          kind: 'lookalike',
          scenario: 'covering_route',
          description: `${helpers.map((h) => h.id).join(', ')} cover${helpers.length === 1 ? 's' : ''} the route of ${absent.map((a) => `${a.id} (${a.site.code})`).join(', ')}, on leave: assigned parcels of another outlet`,
          accounts: helpers.map((h) => h.id),
          related_accounts: absent.map((a) => a.id),
          window: windowOf(c.day, c.days),
          params: { ...c },
        },
        {},
      );
    }
  }

  if (L.manager_travel.enabled) {
    const c = L.manager_travel;
    const r = rngFor('manager_travel');
    const people = regulars('manager', r).slice(0, c.count).map(take);
    const nets: string[] = [];
    for (const m of people) {
      const others = w.cities.filter((x) => x !== m.city);
      const dest: City = others.length > 0 ? r.pick(others) : w.elsewhere[2]!;
      const net = `${dest.broadband}.${r.range(2, 250)}`;
      nets.push(`${net}.0/24`);
      for (let k = c.day; k < Math.min(p.days, c.day + c.days); k++) m.travel.set(k, { city: dest, net });
    }
    if (people.length > 0) {
      add(
        {
          kind: 'lookalike',
          scenario: 'manager_travel',
          description: `${people.map((m) => `${m.id} travels to ${m.travel.get(c.day)?.city.def.en}`).join('; ')}: logins from a hotel network in another city, usual laptop and work`,
          accounts: people.map((m) => m.id),
          networks: nets,
          window: windowOf(c.day, c.days),
          params: { ...c },
        },
        {},
      );
    }
  }

  if (L.busy_agent.enabled && busyAgents.length > 0) {
    const c = L.busy_agent;
    for (const a of busyAgents) for (let k = c.day; k < Math.min(p.days, c.day + c.days); k++) a.load.set(k, c.factor);
    add(
      { kind: 'lookalike', scenario: 'busy_agent', description: `${busyAgents.map((a) => a.id).join(', ')} handle${busyAgents.length === 1 ? 's' : ''} ${c.factor}x the usual calls and tickets (all backed by searches and tickets)`, accounts: busyAgents.map((a) => a.id), window: windowOf(c.day, c.days), params: { ...c } },
      {},
    );
  }

  if (L.app_update.enabled) {
    const c = L.app_update;
    const r = rngFor('app_update');
    const couriers = w.accounts.filter((a) => a.role === 'courier');
    for (const a of couriers) {
      for (const dev of a.devices) {
        if (dev.app !== 'courier') continue;
        const when = Math.max(dev.fromDay, c.day + (r.chance(0.6) ? 0 : r.int(Math.max(1, c.spreadDays))));
        w.appUpdateDay.set(dev.id, when);
      }
    }
    add(
      {
        kind: 'lookalike',
        scenario: 'app_update',
        description: `fleet-wide courier app update: every courier device moves to the new build within ${c.spreadDays} day(s)`,
        accounts: couriers.map((a) => a.id),
        window: windowOf(c.day, Math.max(1, c.spreadDays)),
        params: { ...c, from: w.apps.courierOld, to: w.apps.courierNew },
      },
      {},
    );
  }

  if (surgeDay !== undefined) {
    const from = Math.max(0, surgeDay);
    const to = Math.min(p.days, surgeDay + p.surge.factors.length);
    if (from < to) {
      add(
        { kind: 'lookalike', scenario: 'surge', description: `shopping-festival surge: parcel volume x${p.surge.factors.join(', x')} from ${p.surge.date}`, accounts: [], all_accounts: true, window: windowOf(from, to - from), params: { ...p.surge } },
        {},
      );
    }
  }

  // issue 9's scenarios choose their people last, so the earlier scenarios' choices stay as they were
  planEvidenceAttacks(kit);
  planEvidenceLookalikes(kit);

  // scenario objects look their own tag up by name at run time (labels are numbered after planning)
  const tags = new Map(scenarios.map((s) => [s.label.scenario, s.tag] as const));
  function this_tag(name: string): number {
    return tags.get(name) ?? 0;
  }
  return { scenarios, skipped };
}

/** Distinct recent waybills of a city, cut into `n` lists of at most `size`. */
function exportLists(sim: Simulation, city: City, d: number, lookback: number, n: number, size: number, r: Rng): string[][] {
  const all: string[] = [];
  const seen = new Set<string>();
  for (const l of sim.recentPool(city, d, lookback)) for (const wb of l) if (!seen.has(wb)) (seen.add(wb), all.push(wb));
  r.shuffle(all);
  const out: string[][] = [];
  for (let i = 0; i < n && i * size < all.length; i++) out.push(all.slice(i * size, (i + 1) * size));
  return out;
}

export type { DayPlan };
