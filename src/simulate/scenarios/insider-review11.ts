/**
 * Attack review 11's insider finding (F1), as a labelled attack, and its honest look-alike.
 *
 * - `clerk_old_parcel_harvest` (attack): an outlet clerk reveals name and phone of her own outlet's
 *   PAST parcels — collected at its counter a day or more ago, or sent from it days ago (a week and
 *   more: the detection engine has forgotten them, only the number range says whose they are) —
 *   up to `recordsPerDay` a day through the afternoon. Every reveal is backed by the own-site link.
 * - `clerk_old_parcel_questions` (look-alike): honest clerks answer a few customers a day asking
 *   about an older parcel of their outlet (collected days ago, or sent last week): the same kind of
 *   reveal, a handful a day.
 *
 * Both remember, from day 0, the parcels their outlet handled (collected at its counter, or sent
 * from it and arrived elsewhere), with the day: the simulator's own pools forget after a week.
 */
import { F_NP } from '../action.js';
import type { Simulation } from '../engine.js';
import { Rng } from '../rng.js';
import { MINUTE } from '../time.js';
import { type Account, type Site, type World, dayStart } from '../world.js';
import { inDays, reveal } from './act.js';
import type { ScenarioModule } from './types.js';

/** An outlet's past parcels: waybill and the day it was collected there or arrived from there. */
class OutletBook {
  private readonly seen = new Set<string>();
  readonly parcels: { wb: string; day: number }[] = [];
  constructor(private readonly site: Site) {}

  /** Notes day d's parcels collected at the outlet's counter and those sent from it that arrived. */
  note(sim: Simulation, d: number): void {
    for (const p of sim.arrivalsOn(d)) {
      const mine = (p.dest === this.site && p.counter) || p.origin === this.site;
      if (!mine || this.seen.has(p.waybill)) continue;
      this.seen.add(p.waybill);
      this.parcels.push({ wb: p.waybill, day: d });
    }
  }

  /** Parcels at least `minAge` days old on day d. */
  older(d: number, minAge: number): string[] {
    return this.parcels.filter((x) => d - x.day >= minAge).map((x) => x.wb);
  }
}

/** From 10:00 local (or her shift's start if later) to 10 min before its end: `n` times, evenly. */
function spread(w: World, plan: { start: number; end: number }, d: number, n: number): number[] {
  const from = Math.max(plan.start, dayStart(w, d) + 10 * 60 * MINUTE);
  const span = Math.max(MINUTE, plan.end - from - 10 * MINUTE);
  return Array.from({ length: n }, (_, i) => from + Math.floor((i * span) / Math.max(1, n)));
}

export const clerkOldParcelHarvest: ScenarioModule = {
  key: 'clerk_old_parcel_harvest',
  kind: 'attack',
  label: 'clerk_old_parcel_harvest',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.attacks.clerk_old_parcel_harvest;
    if (!c.enabled) return;
    const r = ctx.rng('clerk_old_parcel_harvest');
    const clerk = ctx.regulars('outlet_staff', r)[0];
    if (!clerk) return ctx.skip('no outlet_staff account');
    ctx.take(clerk);
    const book = new OutletBook(clerk.site);
    const done = new Set<string>();
    const tag = ctx.add(
      {
        description: `outlet clerk ${clerk.id} reveals name and phone of up to ${c.recordsPerDay} a day of her own outlet's past parcels (collected at its counter a day or more ago, or sent from it days ago) (attack review 11, F1)`,
        accounts: [clerk.id],
        devices: [clerk.devices[0]!.id],
        params: { ...c },
      },
      {
        run(sim, d) {
          book.note(sim, d);
          if (!inDays(d, c.day, c.days)) return;
          const plan = sim.planFor(clerk, d);
          if (!plan) return;
          const rr = Rng.derive(w.seed, 'clerk_old_parcel_harvest', d);
          // oldest first: what the engine may have forgotten, then what was collected or sent days ago
          const pool = book.older(d, 1).filter((wb) => !done.has(wb));
          const picks = [...rr.shuffle(pool.slice(0, Math.ceil(pool.length / 2))), ...rr.shuffle(pool.slice(Math.ceil(pool.length / 2)))].slice(0, c.recordsPerDay);
          spread(w, plan, d, picks.length).forEach((t, i) => {
            done.add(picks[i]!);
            reveal(sim, plan, t, picks[i]!, F_NP, 'customer_service', rr, tag);
          });
        },
      },
    );
  },
};

export const clerkOldParcelQuestions: ScenarioModule = {
  key: 'clerk_old_parcel_questions',
  kind: 'lookalike',
  label: 'clerk_old_parcel_questions',
  plan(ctx) {
    const { w } = ctx;
    const c = w.params.lookalikes.clerk_old_parcel_questions;
    if (!c.enabled || c.count <= 0) return;
    const r = ctx.rng('clerk_old_parcel_questions');
    const people: Account[] = ctx.regulars('outlet_staff', r).slice(0, c.count).map(ctx.take);
    if (people.length === 0) return ctx.skip('no outlet_staff account');
    const books = people.map((a) => new OutletBook(a.site));
    ctx.add(
      {
        description: `${people.map((a) => a.id).join(', ')} answer${people.length === 1 ? 's' : ''} up to ${c.maxPerDay} customers a day asking about an older parcel of their outlet (collected days ago, or sent last week): name and phone revealed, no work link`,
        accounts: people.map((a) => a.id),
        window: ctx.windowOf(c.day, w.params.days - c.day),
        params: { ...c },
      },
      {
        run(sim, d) {
          people.forEach((a, i) => {
            const book = books[i]!;
            book.note(sim, d);
            if (d < c.day) return;
            const plan = sim.planFor(a, d);
            if (!plan) return;
            const rr = Rng.derive(w.seed, 'clerk_old_parcel_questions', a.index, d);
            const pool = book.older(d, 1);
            const n = Math.min(pool.length, rr.range(c.minPerDay, c.maxPerDay));
            const times = rr.shuffle(spread(w, plan, d, 6)).slice(0, n);
            for (const t of times) reveal(sim, plan, t + rr.int(30 * MINUTE), pool[rr.int(pool.length)]!, F_NP, 'customer_service', rr, 0);
          });
        },
      },
    );
  },
};
