/**
 * The few ways scenarios act, shared: logins, reveals and exports in a scenario's own session,
 * reveals and searches inside a planned shift, hooks on assignments, the days a scenario runs.
 * Every helper draws from the stream it is given in the order the inline code did, so moving a
 * scenario onto them leaves its bytes unchanged.
 */
import type { PiiField } from '../../contracts/events.js';
import { type SimAction, F_NONE, F_NPA } from '../action.js';
import type { Simulation } from '../engine.js';
import type { DayPlan, Session } from '../sim-types.js';
import { Rng, hashString } from '../rng.js';
import type { Account, City, World } from '../world.js';

export const inDays = (d: number, from: number, days: number): boolean => d >= from && d < from + days;

export function tagged(x: SimAction, tag: number): SimAction {
  x.tag = tag;
  return x;
}

/** A successful login opening session s, pushed. */
export function login(sim: Simulation, a: Account, s: Session, mfa: boolean, appHash: string | undefined, tag: number): SimAction {
  const x = sim.act(s.start, 'login', a, s);
  x.result = 'success';
  x.mfa = mfa;
  if (appHash !== undefined) x.appHash = appHash;
  sim.push(tagged(x, tag));
  return x;
}

/** An allowed access in a scenario's own session (not clamped to a shift), pushed. */
export function sessionAccess(sim: Simulation, t: number, a: Account, s: Session, action: 'reveal' | 'export', target: string | string[], fields: readonly PiiField[], purpose: SimAction['purpose'], tag: number): SimAction {
  const x = sim.act(t, 'access', a, s);
  x.action = action;
  if (typeof target === 'string') x.waybill = target;
  else x.waybills = target;
  x.fields = fields;
  x.purpose = purpose;
  x.result = 'allowed';
  sim.push(tagged(x, tag));
  return x;
}

/** A reveal by a planned person at t (clamped into the shift), pushed. */
export function reveal(sim: Simulation, plan: DayPlan, t: number, wb: string, fields: readonly PiiField[], purpose: SimAction['purpose'], r: Rng, tag: number, ticket?: string): SimAction {
  const x = sim.access(plan, t, 'reveal', r);
  x.waybill = wb;
  x.ticket = ticket;
  x.fields = fields;
  x.purpose = purpose;
  x.tag = tag;
  sim.push(x);
  return x;
}

/** How a search is followed by its reveal: which fields, how many seconds later (default: in full, 8-50 s). */
export interface RevealAfter {
  fields: readonly PiiField[];
  minSeconds: number;
  maxSeconds: number;
}
const FULL_SOON: RevealAfter = { fields: F_NPA, minSeconds: 8, maxSeconds: 50 };

/** A customer-service search for one waybill and, `after.minSeconds`-`after.maxSeconds` s later, a reveal of it. */
export function searchThenReveal(sim: Simulation, plan: DayPlan, t: number, wb: string, r: Rng, tag: number, ticket?: string, after: RevealAfter = FULL_SOON): { search: SimAction; reveal: SimAction } {
  const s = sim.access(plan, t, 'search', r);
  s.waybills = [wb];
  s.fields = F_NONE;
  s.purpose = 'customer_service';
  s.tag = tag;
  sim.push(s);
  return { search: s, reveal: reveal(sim, plan, s.t + r.range(after.minSeconds, after.maxSeconds) * 1000, wb, after.fields, 'customer_service', r, tag, ticket) };
}

/** A ticket event (opened or closed) about a waybill, outside any session. */
export function ticketEvent(sim: Simulation, t: number, a: Account, id: string, wb: string, status: 'open' | 'closed'): SimAction {
  const x = sim.act(t, 'ticket', a, undefined);
  x.ticket = id;
  x.waybill = wb;
  x.status = status;
  sim.push(x);
  return x;
}

/**
 * Runs `fn` on each of the people's assignments during the scenario's days (deliveries only when
 * asked), with a stream of its own per assignment (`<name>/<assignment time>`).
 */
export function onAssignments(
  sim: Simulation,
  people: readonly Account[],
  o: { seed: number; name: string; day: number; days: number; deliveriesOnly: boolean },
  fn: (assign: SimAction & { waybill: string }, plan: DayPlan, r: Rng) => void,
): void {
  for (const a of people) {
    sim.assignHooks.set(a.id, (as, plan) => {
      if (!inDays(plan.day, o.day, o.days) || !as.waybill || (o.deliveriesOnly && as.task !== 'delivery')) return;
      fn(as as SimAction & { waybill: string }, plan, Rng.derive(o.seed, o.name, as.t));
    });
  }
}

/** Distinct recent waybills of a city, cut into `n` lists of at most `size`. */
export function exportLists(sim: Simulation, city: City, d: number, lookback: number, n: number, size: number, r: Rng): string[][] {
  const all: string[] = [];
  const seen = new Set<string>();
  for (const l of sim.recentPool(city, d, lookback)) for (const wb of l) if (!seen.has(wb)) (seen.add(wb), all.push(wb));
  r.shuffle(all);
  const out: string[][] = [];
  for (let i = 0; i < n && i * size < all.length; i++) out.push(all.slice(i * size, (i + 1) * size));
  return out;
}

/** `sha256:` + 8 hex digits fixed by the seed and a name + 8 drawn: a client build hash nobody else runs. */
export function oddBuild(w: World, name: string, r: Rng): string {
  return `sha256:${hashString(`${w.seed}:${name}`).toString(16).padStart(8, '0')}${r.hex(8)}`;
}
