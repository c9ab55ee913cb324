/**
 * Abuse the access policy allows (issue 9): every reveal of these attacks has — or, for the
 * trickle, stays too small per day to need — a reason the policy accepts. Each comes with a benign
 * look-alike that shows the same surface pattern for an honest reason.
 *
 * - work_harvest (attack): a courier reveals name, phone and address of every parcel assigned to
 *   him, minutes after each assignment. Look-alikes: rural_route (calls ahead: the phone only, soon
 *   after assignment), new_route (name and address of most parcels, close to delivery).
 * - search_harvest (attack): an agent works through a buyer's list of phone numbers, one search per
 *   number and a full reveal within a minute. Look-alike: complaint_campaign (a ticket per case).
 * - trickle (attack): an agent reveals 3-5 records a day with no work behind them, every working day.
 *   Look-alike: favour (one unexplained lookup every few days).
 */
import type { PiiField } from '../contracts/events.js';
import { type SimAction, F_NA, F_NONE, F_NPA } from './action.js';
import { type DayPlan, Simulation } from './engine.js';
import { Rng } from './rng.js';
import { MINUTE } from './time.js';
import type { Account, World } from './world.js';
import type { Label, Scenario } from './scenarios.js';

const F_PHONE: readonly PiiField[] = Object.freeze(['phone'] as PiiField[]);

/** What planScenarios lends to this file: choosing people, adding labels, tagging actions. */
export interface PlanKit {
  w: World;
  regulars(role: Account['role'], r: Rng, filter?: (a: Account) => boolean): Account[];
  take(a: Account): Account;
  add(label: Omit<Label, 'id' | 'all_accounts' | 'related_accounts' | 'networks' | 'devices'> & Partial<Label>, impl: Omit<Scenario, 'label' | 'tag'>): number;
  skip(scenario: string, reason: string): void;
  windowOf(day: number, days: number): { start: number; end: number };
  tagOf(name: string): number;
}

const inDays = (d: number, from: number, days: number) => d >= from && d < from + days;

/** A reveal by a planned person at t (clamped into the shift), tagged. */
function reveal(sim: Simulation, plan: DayPlan, t: number, wb: string, fields: readonly PiiField[], purpose: SimAction['purpose'], r: Rng, tag: number, ticket?: string): SimAction {
  const x = sim.access(plan, t, 'reveal', r);
  x.waybill = wb;
  x.ticket = ticket;
  x.fields = fields;
  x.purpose = purpose;
  x.tag = tag;
  sim.push(x);
  return x;
}

export function planEvidenceAttacks(k: PlanKit): void {
  const { w } = k;
  const A = w.params.attacks;

  if (A.work_harvest.enabled) {
    const c = A.work_harvest;
    const r = Rng.derive(w.seed, 'scenario', 'work_harvest');
    const victim = k.regulars('courier', r, (a) => a.route >= 0)[0];
    if (!victim) k.skip('work_harvest', 'no courier with a route');
    else {
      k.take(victim);
      k.add(
        {
          kind: 'attack',
          scenario: 'work_harvest',
          description: `courier ${victim.id} (${victim.site.code}) reveals name, phone and address of every parcel assigned to him, ${c.minDelayMinutes}-${c.maxDelayMinutes} minutes after each assignment, and sells them`,
          accounts: [victim.id],
          devices: [victim.devices[0]!.id],
          params: { ...c },
        },
        {
          prepare(sim) {
            sim.assignHooks.set(victim.id, (as, plan) => {
              if (!inDays(plan.day, c.day, c.days) || !as.waybill) return;
              const rr = Rng.derive(w.seed, 'work_harvest', as.t);
              const delay = (c.minDelayMinutes + rr.next() * Math.max(0, c.maxDelayMinutes - c.minDelayMinutes)) * MINUTE;
              reveal(sim, plan, as.t + Math.floor(delay), as.waybill, F_NPA, as.task === 'pickup' ? 'pickup' : 'delivery', rr, k.tagOf('work_harvest'));
            });
          },
        },
      );
    }
  }

  if (A.search_harvest.enabled) {
    const c = A.search_harvest;
    const r = Rng.derive(w.seed, 'scenario', 'search_harvest');
    const victim = k.regulars('customer_service', r)[0];
    if (!victim) k.skip('search_harvest', 'no customer_service account');
    else {
      k.take(victim);
      k.add(
        {
          kind: 'attack',
          scenario: 'search_harvest',
          description: `customer-service agent ${victim.id} works through a buyer's list of phone numbers: one search per number, each followed within a minute by a full reveal, no tickets`,
          accounts: [victim.id],
          devices: [victim.devices[0]!.id],
          params: { ...c },
        },
        {
          run(sim, d) {
            if (!inDays(d, c.day, c.days)) return;
            const plan = sim.planFor(victim, d);
            if (!plan) return;
            const tag = k.tagOf('search_harvest');
            const rr = Rng.derive(w.seed, 'search_harvest', d);
            const pool = sim.recentPool(undefined, d, 3);
            const n = Math.round(c.recordsPerDay * (0.85 + 0.3 * rr.next()));
            const gap = Math.max(20_000, Math.floor((plan.end - plan.start - 30 * MINUTE) / Math.max(1, n)));
            let t = plan.start + 10 * MINUTE + rr.int(5 * MINUTE);
            for (let i = 0; i < n && t < plan.end; i++) {
              const wb = Simulation.pickFrom(pool, rr);
              if (!wb) return;
              const s = sim.access(plan, t, 'search', rr);
              s.waybills = [wb];
              s.fields = F_NONE;
              s.purpose = 'customer_service';
              s.tag = tag;
              sim.push(s);
              reveal(sim, plan, s.t + rr.range(8, 50) * 1000, wb, F_NPA, 'customer_service', rr, tag);
              t = s.t + Math.floor(gap * (0.5 + rr.next()));
            }
          },
        },
      );
    }
  }

  if (A.trickle.enabled) {
    const c = A.trickle;
    const r = Rng.derive(w.seed, 'scenario', 'trickle');
    const victim = k.regulars('customer_service', r)[0];
    if (!victim) k.skip('trickle', 'no customer_service account');
    else {
      k.take(victim);
      k.add(
        {
          kind: 'attack',
          scenario: 'trickle',
          description: `customer-service agent ${victim.id} reveals ${c.minPerDay}-${c.maxPerDay} records a day with no ticket or search behind them, every working day for ${c.days} days: under any daily threshold`,
          accounts: [victim.id],
          devices: [victim.devices[0]!.id],
          params: { ...c },
        },
        {
          run(sim, d) {
            if (!inDays(d, c.day, c.days)) return;
            const plan = sim.planFor(victim, d);
            if (!plan) return;
            const rr = Rng.derive(w.seed, 'trickle', d);
            const pool = sim.recentPool(undefined, d, 3);
            const n = rr.range(c.minPerDay, c.maxPerDay);
            for (let i = 0; i < n; i++) {
              const wb = Simulation.pickFrom(pool, rr);
              if (!wb) return;
              reveal(sim, plan, plan.start + 5 * MINUTE + rr.int(Math.max(1, plan.end - plan.start - 10 * MINUTE)), wb, F_NPA, 'customer_service', rr, k.tagOf('trickle'));
            }
          },
        },
      );
    }
  }
}

export function planEvidenceLookalikes(k: PlanKit): void {
  const { w } = k;
  const L = w.params.lookalikes;
  const days = w.params.days;

  if (L.rural_route.enabled && L.rural_route.count > 0) {
    const c = L.rural_route;
    const r = Rng.derive(w.seed, 'scenario', 'rural_route');
    const people = k.regulars('courier', r, (a) => a.route >= 0).slice(0, c.count).map(k.take);
    if (people.length > 0) {
      k.add(
        {
          kind: 'lookalike',
          scenario: 'rural_route',
          description: `${people.map((a) => a.id).join(', ')} cover${people.length === 1 ? 's' : ''} a rural route and call${people.length === 1 ? 's' : ''} ahead: the recipient's phone of every parcel, soon after assignment`,
          accounts: people.map((a) => a.id),
          window: k.windowOf(c.day, c.days),
          params: { ...c },
        },
        {
          prepare(sim) {
            for (const a of people) {
              sim.assignHooks.set(a.id, (as, plan) => {
                if (!inDays(plan.day, c.day, c.days) || !as.waybill || as.task !== 'delivery') return;
                const rr = Rng.derive(w.seed, 'rural_route', as.t);
                reveal(sim, plan, as.t + rr.range(2, 40) * MINUTE, as.waybill, F_PHONE, 'delivery', rr, 0);
              });
            }
          },
        },
      );
    }
  }

  if (L.new_route.enabled && L.new_route.count > 0) {
    const c = L.new_route;
    const r = Rng.derive(w.seed, 'scenario', 'new_route');
    const people = k.regulars('courier', r, (a) => a.route >= 0).slice(0, c.count).map(k.take);
    if (people.length > 0) {
      k.add(
        {
          kind: 'lookalike',
          scenario: 'new_route',
          description: `${people.map((a) => a.id).join(', ')} take${people.length === 1 ? 's' : ''} over an unfamiliar route and reveal name and address of most parcels, close to delivery`,
          accounts: people.map((a) => a.id),
          window: k.windowOf(c.day, c.days),
          params: { ...c },
        },
        {
          prepare(sim) {
            for (const a of people) {
              sim.assignHooks.set(a.id, (as, plan) => {
                if (!inDays(plan.day, c.day, c.days) || !as.waybill || as.task !== 'delivery') return;
                const rr = Rng.derive(w.seed, 'new_route', as.t);
                if (!rr.chance(c.share)) return;
                // close to delivery: the morning wave goes out around 08:30-09:30, the afternoon one at 13:00
                reveal(sim, plan, as.t + rr.range(45, 240) * MINUTE, as.waybill, F_NA, 'delivery', rr, 0);
              });
            }
          },
        },
      );
    }
  }

  if (L.complaint_campaign.enabled && L.complaint_campaign.count > 0) {
    const c = L.complaint_campaign;
    const r = Rng.derive(w.seed, 'scenario', 'complaint_campaign');
    const people = k.regulars('customer_service', r).slice(0, c.count).map(k.take);
    if (people.length > 0) {
      k.add(
        {
          kind: 'lookalike',
          scenario: 'complaint_campaign',
          description: `${people.map((a) => a.id).join(', ')} work${people.length === 1 ? 's' : ''} a complaint campaign: a ticket per case, then a search and a full reveal citing it`,
          accounts: people.map((a) => a.id),
          window: k.windowOf(c.day, c.days),
          params: { ...c },
        },
        {
          run(sim, d) {
            if (!inDays(d, c.day, c.days)) return;
            for (const a of people) {
              const plan = sim.planFor(a, d);
              if (!plan) continue;
              const rr = Rng.derive(w.seed, 'complaint_campaign', a.index, d);
              const pool = sim.recentPool(undefined, d, 3);
              const gap = Math.floor((plan.end - plan.start - 40 * MINUTE) / Math.max(1, c.casesPerDay));
              let t = plan.start + 15 * MINUTE;
              for (let i = 0; i < c.casesPerDay && t < plan.end - 10 * MINUTE; i++) {
                const wb = Simulation.pickFrom(pool, rr);
                if (!wb) break;
                const id = sim.nextTicket();
                const open = sim.act(t, 'ticket', a, undefined);
                open.ticket = id;
                open.waybill = wb;
                open.status = 'open';
                sim.push(open);
                const s = sim.access(plan, t + rr.range(1, 3) * MINUTE, 'search', rr);
                s.waybills = [wb];
                s.fields = F_NONE;
                s.purpose = 'customer_service';
                sim.push(s);
                const x = reveal(sim, plan, s.t + rr.range(8, 50) * 1000, wb, F_NPA, 'customer_service', rr, 0, id);
                const close = sim.act(x.t + rr.range(5, 120) * MINUTE, 'ticket', a, undefined);
                close.ticket = id;
                close.waybill = wb;
                close.status = 'closed';
                sim.push(close);
                t += Math.max(2 * MINUTE, Math.floor(gap * (0.6 + 0.8 * rr.next())));
              }
            }
          },
        },
      );
    }
  }

  if (L.favour.enabled && L.favour.count > 0) {
    const c = L.favour;
    const r = Rng.derive(w.seed, 'scenario', 'favour');
    const people = k.regulars('customer_service', r).slice(0, c.count).map(k.take);
    if (people.length > 0) {
      const every = Math.max(1, Math.round(c.everyDays));
      k.add(
        {
          kind: 'lookalike',
          scenario: 'favour',
          description: `${people.map((a) => a.id).join(', ')} do${people.length === 1 ? 'es' : ''} a colleague a favour now and then: one unexplained lookup every ${every} days`,
          accounts: people.map((a) => a.id),
          window: k.windowOf(c.day, days - c.day),
          params: { ...c },
        },
        {
          run(sim, d) {
            if (d < c.day) return;
            people.forEach((a, i) => {
              if ((d - c.day + i) % every !== every - 1) return;
              const plan = sim.planFor(a, d);
              if (!plan) return;
              const rr = Rng.derive(w.seed, 'favour', a.index, d);
              const wb = Simulation.pickFrom(sim.recentPool(undefined, d, 3), rr);
              if (wb) reveal(sim, plan, plan.start + rr.int(Math.max(1, plan.end - plan.start)), wb, F_NPA, 'customer_service', rr, 0);
            });
          },
        },
      );
    }
  }
}
