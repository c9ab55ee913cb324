/**
 * Attack review 10's insider evasions, as labelled attacks (their look-alikes: `complaint_campaign`
 * — a ticket per case, but a search before each reveal and tickets living hours — and every
 * outlet's honest counter work, which reveals parcels at the counter only).
 *
 * - `ticket_harvest` (F1): a customer-service agent opens a ticket (through the ticketing system)
 *   on each target parcel anywhere in the network, reveals name, phone and address citing it
 *   10–40 s later and closes it a minute after: every reveal is ticket-backed.
 * - `clerk_door_harvest` (F3): an outlet clerk reveals name and phone of her own outlet's
 *   parcels that a courier delivers to the door today (never at her counter), through the
 *   afternoon: every reveal is backed by the own-site link, under harvesting's daily floor.
 */
import { F_NP, F_NPA } from '../action.js';
import { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import { inDays, reveal, ticketEvent } from './act.js';
import { dayStart } from '../world.js';
import type { ScenarioModule } from './types.js';

export const ticketHarvest: ScenarioModule = {
  key: 'ticket_harvest',
  kind: 'attack',
  label: 'ticket_harvest',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.ticket_harvest;
    if (!c.enabled) return;
    const r = ctx.rng('ticket_harvest');
    const agent = ctx.regulars('customer_service', r)[0];
    if (!agent) return ctx.skip('no customer_service account');
    ctx.take(agent);
    const tag = ctx.add(
      {
        description: `customer-service agent ${agent.id} opens a ticket on each of ${c.recordsPerDay} parcels a day anywhere in the network, reveals name, phone and address citing it within 40 s and closes it a minute later (attack review 10, F1)`,
        accounts: [agent.id],
        devices: [agent.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          if (!inDays(d, c.day, c.days)) return;
          const plan = sim.planFor(agent, d);
          if (!plan) return;
          const rr = Rng.derive(w.seed, 'ticket_harvest', d);
          const pool = sim.recentPool(undefined, d, 3);
          const gap = Math.max(MINUTE, Math.floor((plan.end - plan.start - 20 * MINUTE) / Math.max(1, c.recordsPerDay)));
          let t = plan.start + 5 * MINUTE;
          for (let i = 0; i < c.recordsPerDay && t < plan.end - 5 * MINUTE; i++) {
            const wb = Simulation.pickFrom(pool, rr);
            if (!wb) return;
            const id = sim.nextTicket();
            ticketEvent(sim, t, agent, id, wb, 'open');
            const x = reveal(sim, plan, t + rr.range(10, 40) * 1000, wb, F_NPA, 'customer_service', rr, tag, id);
            ticketEvent(sim, x.t + rr.range(30, 60) * 1000, agent, id, wb, 'closed');
            t += gap;
          }
        },
      },
    );
  },
};

export const clerkDoorHarvest: ScenarioModule = {
  key: 'clerk_door_harvest',
  kind: 'attack',
  label: 'clerk_door_harvest',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.clerk_door_harvest;
    if (!c.enabled) return;
    const r = ctx.rng('clerk_door_harvest');
    const clerk = ctx.regulars('outlet_staff', r)[0];
    if (!clerk) return ctx.skip('no outlet_staff account');
    ctx.take(clerk);
    const tag = ctx.add(
      {
        description: `outlet clerk ${clerk.id} reveals name and phone of up to ${c.recordsPerDay} parcels a day of her own outlet that a courier delivers to the door (never at her counter) (attack review 10, F3)`,
        accounts: [clerk.id],
        devices: [clerk.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          if (!inDays(d, c.day, c.days)) return;
          const plan = sim.planFor(clerk, d);
          if (!plan) return;
          const rr = Rng.derive(w.seed, 'clerk_door_harvest', d);
          const door = rr.shuffle(sim.arrivalsOn(d).filter((p) => p.dest === clerk.site && !p.counter).map((p) => p.waybill));
          const n = Math.min(c.recordsPerDay, door.length);
          // after the morning's assignments: from 10:00 local, or the start of her shift if later
          const from = Math.max(plan.start, dayStart(w, d) + 10 * 60 * MINUTE);
          const span = Math.max(MINUTE, plan.end - from - 10 * MINUTE);
          for (let i = 0; i < n; i++) {
            reveal(sim, plan, from + Math.floor((i * span) / Math.max(1, n)), door[i]!, F_NP, i % 4 ? 'delivery' : 'pickup', rr, tag);
          }
        },
      },
    );
  },
};
