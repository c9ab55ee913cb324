/**
 * Attack review 10 (insider): two evasions of the volume and work-link detectors, each tried again
 * here on the default configuration, with the honest look-alike beside it.
 *
 * F1 — own-ticket harvesting: an agent opens a ticket (ticketing system) on each target parcel,
 *      reveals name, phone and address citing it seconds later and closes it a minute after.
 *      `harvesting` capped itself at low (every record ticket-backed); nothing else saw it.
 * F3 — a clerk reveals name + phone of own-site parcels a courier delivers to the door: the
 *      own-site link explained every one, and 140 a day is under harvesting's 150 floor.
 */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../contracts/events.js';
import { actionable, actor, courier, ev, local, run, sortByTime, waybill, type Person } from '../test-support/events.js';

const MIN = 60_000;
const NPA = ['name', 'phone', 'address'];
const NP = ['name', 'phone'];

const agents: Person[] = [1, 2, 3, 4, 5, 6].map((n) => ({ account: `cs${n}`, role: 'customer_service', site: 'CS1', device: `pc-${n}`, ip: `10.9.0.${n}`, city: '上海' }));

interface TicketOpts {
  /** minutes from the ticket's opening to the reveal */
  revealAfterMin: (i: number) => number;
  /** minutes from the reveal to the ticket's closing */
  closeAfterMin: number;
  /** a search by the customer's phone this many minutes before the reveal (undefined: none) */
  searchBeforeMin?: number;
  fromHour?: number;
}

let tk = 0;
/** `n` tickets on parcels anywhere, each revealed citing it, spread over the working day. */
function ticketDay(p: Person, day: number, n: number, o: TicketOpts): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const session = `s-${p.account}-${day}`;
  const from = o.fromHour ?? 9;
  out.push(ev(local(day, from - 1, 50), { type: 'login', ...actor(p, session), result: 'success', mfa: true }));
  const span = 9 * 60 * MIN;
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const id = `TK${++tk}`;
    const t = local(day, from) + Math.floor((i * span) / n);
    const r = t + Math.round(o.revealAfterMin(i) * MIN);
    out.push(ev(t - MIN, { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Z', dest_city: '北京' }));
    out.push(ev(t, { type: 'ticket', account: p.account, role: p.role, ticket: id, waybill: wb, status: 'open' }));
    if (o.searchBeforeMin !== undefined) {
      out.push(ev(r - o.searchBeforeMin * MIN, { type: 'access', ...actor(p, session), action: 'search', waybills: [wb], fields: [], purpose: 'customer_service', result: 'allowed' }));
    }
    out.push(ev(r, { type: 'access', ...actor(p, session), action: 'reveal', waybill: wb, fields: NPA, purpose: 'customer_service', ticket: id, result: 'allowed' }));
    out.push(ev(r + o.closeAfterMin * MIN, { type: 'ticket', account: p.account, role: p.role, ticket: id, waybill: wb, status: 'closed' }));
  }
  return out;
}

/** Honest ticket work: the reveal 6–40 min after the ticket opened, closed hours later. */
const honest = (p: Person, day: number, n: number) => ticketDay(p, day, n, { revealAfterMin: (i) => 6 + ((i * 7) % 35), closeAfterMin: 180 });
/** The attack: the reveal 10–40 s after the ticket opened, closed a minute later. */
const churn = (p: Person, day: number, n: number) => ticketDay(p, day, n, { revealAfterMin: (i) => (10 + ((i * 13) % 30)) / 60, closeAfterMin: 1 });

const usualAgents = [0, 1, 2, 3].flatMap((d) => agents.flatMap((p) => honest(p, d, 30)));

describe('F1: own-ticket harvesting (attack review 10)', () => {
  it('harvesting: 345 ticket-backed reveals in a day, >10x the peers, are no longer capped at low', () => {
    const day4 = [...agents.slice(1).flatMap((p) => honest(p, 4, 30)), ...churn(agents[0]!, 4, 345)];
    const { alerts } = run(sortByTime([...usualAgents, ...day4]));
    const hits = actionable(alerts, 'harvesting', 'cs1');
    expect(hits.length).toBeGreaterThan(0);
    const last = hits[hits.length - 1]!;
    expect(last.evidence.capped_as_explained).toBe(false);
    expect(last.evidence.explained_share).toBe(1);
    expect(last.evidence.ratio_vs_peers as number).toBeGreaterThanOrEqual(4);
    expect(last.evidence.peer_tier).toBe('site');
    expect(last.summary).toMatch(/x the peers' median day/);
  });

  it('harvesting: a busy agent at about 3x the peers, every record ticket-backed, stays low', () => {
    const day4 = [...agents.slice(1).flatMap((p) => honest(p, 4, 60)), ...honest(agents[0]!, 4, 180)];
    const { alerts } = run(sortByTime([...usualAgents, ...day4]));
    const cs1 = alerts.filter((a) => a.detector === 'harvesting' && a.account === 'cs1');
    expect(cs1.length).toBeGreaterThan(0);
    expect(cs1.every((a) => a.severity === 'low' && a.evidence.capped_as_explained === true)).toBe(true);
  });

  it('ticket_churn: 40 tickets a day opened, revealed within seconds and closed a minute later are caught, and explained', () => {
    const day4 = [...agents.slice(1).flatMap((p) => honest(p, 4, 30)), ...churn(agents[0]!, 4, 40)];
    const { alerts } = run(sortByTime([...usualAgents, ...day4]));
    const hits = actionable(alerts, 'ticket_churn', 'cs1');
    expect(hits.length).toBeGreaterThan(0);
    const e = hits[0]!.evidence;
    expect(e.young_reveals).toBe(10);
    expect(e.young_share).toBe(1);
    expect(e.tickets_opened_today as number).toBeGreaterThanOrEqual(10);
    expect(e.median_ticket_life_minutes as number).toBeLessThan(2);
    expect(e.peer_tier).toBe('site');
    expect(e.ratio_vs_peers as number).toBeGreaterThanOrEqual(4);
    expect(hits[0]!.summary).toMatch(/tickets under 5 min old with no search before/);
    expect(actionable(alerts).filter((a) => a.account !== 'cs1')).toEqual([]);
  });

  it('ticket_churn: with no peers on record the role prior decides, and says so', () => {
    const { alerts } = run(sortByTime(churn(agents[0]!, 0, 40)));
    const hit = actionable(alerts, 'ticket_churn', 'cs1')[0];
    expect(hit?.evidence.peer_tier).toBe('role_prior');
  });

  it('allowed: a complaint campaign (a ticket per case, a search by phone, then the reveal) raises nothing', () => {
    const campaign = ticketDay(agents[0]!, 4, 40, { revealAfterMin: (i) => 2 + (i % 3), closeAfterMin: 60, searchBeforeMin: 1 });
    const day4 = [...agents.slice(1).flatMap((p) => honest(p, 4, 30)), ...campaign];
    const { alerts } = run(sortByTime([...usualAgents, ...day4]));
    expect(actionable(alerts)).toEqual([]);
  });

  it('allowed: honest ticket work, twice the usual load, raises nothing', () => {
    const day4 = [...agents.slice(1).flatMap((p) => honest(p, 4, 30)), ...honest(agents[0]!, 4, 60)];
    const { alerts } = run(sortByTime([...usualAgents, ...day4]));
    expect(actionable(alerts)).toEqual([]);
  });
});

// ------------------------------------------------------------------ F3

const clerks: Person[] = ['OUT-A', 'OUT-B', 'OUT-C'].flatMap((site, i) =>
  [1, 2].map((k) => ({ ...courier(100 + i * 10 + k, site), account: `s${i}${k}`, role: 'outlet_staff', device: `pc-${i}${k}` })),
);
const driver = (site: string): Person => ({ ...courier(900, site), account: `d-${site}` });

/** Counter collections: the parcel arrives at the clerk's outlet, the recipient collects it, the clerk reveals name + phone. */
function counterDay(p: Person, day: number, n: number): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(day, 9) + Math.floor((i * 10 * 60 * MIN) / n);
    out.push(ev(local(day, 5), { type: 'waybill', waybill: wb, origin_site: 'OUT-X', dest_site: p.site, dest_city: p.city }));
    out.push(ev(local(day, 7), { type: 'scan', ...actor(p), waybill: wb, op: 'arrive' }));
    out.push(ev(t, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: 'delivery', result: 'allowed' }));
    out.push(ev(t + MIN, { type: 'scan', ...actor(p), waybill: wb, op: 'delivered' }));
  }
  return out;
}

/** Counter intake: a sender drops a parcel off; the clerk checks the sender, then scans it in. */
function intakeDay(p: Person, day: number, n: number): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(day, 9) + Math.floor((i * 10 * 60 * MIN) / n);
    out.push(ev(t - 5 * MIN, { type: 'waybill', waybill: wb, origin_site: p.site, dest_site: 'OUT-Z', dest_city: '北京' }));
    out.push(ev(t, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: 'pickup', result: 'allowed' }));
    out.push(ev(t + MIN, { type: 'scan', ...actor(p), waybill: wb, op: 'pickup' }));
  }
  return out;
}

/** Parcels of the clerk's outlet that a courier takes to the door (assigned for delivery, out for delivery), revealed by the clerk. */
function doorHarvest(p: Person, day: number, n: number): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const d = driver(p.site);
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(day, 9) + Math.floor((i * 10 * 60 * MIN) / n);
    out.push(ev(local(day, 5), { type: 'waybill', waybill: wb, origin_site: 'OUT-X', dest_site: p.site, dest_city: p.city }));
    out.push(ev(local(day, 7, 30), { type: 'assign', account: d.account, role: 'courier', waybill: wb, task: 'delivery' }));
    out.push(ev(local(day, 8, 30), { type: 'scan', ...actor(d), waybill: wb, op: 'out_for_delivery' }));
    out.push(ev(t, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: i % 4 ? 'delivery' : 'pickup', result: 'allowed' }));
  }
  return out;
}

/** Parcels taken in at the clerk's counter yesterday, revealed today (they left on last night's van). */
function outboundHarvest(p: Person, day: number, n: number): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    out.push(ev(local(day - 1, 10), { type: 'waybill', waybill: wb, origin_site: p.site, dest_site: 'OUT-Z', dest_city: '北京' }));
    out.push(ev(local(day - 1, 10, 1), { type: 'scan', ...actor(p), waybill: wb, op: 'pickup' }));
    out.push(ev(local(day, 9) + i * 5 * MIN, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: 'pickup', result: 'allowed' }));
  }
  return out;
}

const usualClerks = [0, 1, 2, 3].flatMap((d) => clerks.flatMap((p) => [...counterDay(p, d, 20), ...intakeDay(p, d, 10)]));
const othersDay4 = clerks.slice(1).flatMap((p) => [...counterDay(p, 4, 20), ...intakeDay(p, 4, 10)]);

describe('F3: a clerk revealing own-site parcels that are not at her counter (attack review 10)', () => {
  it('unexplained: 110 door-delivery parcels of her own outlet in a day are caught and say why', () => {
    const me = clerks[0]!;
    const day4 = [...othersDay4, ...counterDay(me, 4, 20), ...intakeDay(me, 4, 10), ...doorHarvest(me, 4, 110)];
    const { alerts } = run(sortByTime([...usualClerks, ...day4]));
    const hits = actionable(alerts, 'unexplained', me.account);
    expect(hits.length).toBeGreaterThan(0);
    expect((hits[0]!.evidence.today as Record<string, number>).own_site_not_at_counter).toBeGreaterThanOrEqual(8);
    expect(hits[0]!.summary).toMatch(/not at its counter/);
    expect(actionable(alerts).filter((a) => a.account !== me.account)).toEqual([]);
  });

  it('unexplained: parcels she took in yesterday (gone on the night van) count as not at her counter', () => {
    const me = clerks[0]!;
    const day4 = [...othersDay4, ...counterDay(me, 4, 20), ...outboundHarvest(me, 4, 30)];
    const { alerts } = run(sortByTime([...usualClerks, ...day4]));
    expect(actionable(alerts, 'unexplained', me.account).length).toBeGreaterThan(0);
  });

  it('trickle: a few door-delivery parcels a day, under the daily thresholds, add up', () => {
    const me = clerks[0]!;
    const days = [4, 5, 6].flatMap((d) => [
      ...clerks.slice(1).flatMap((p) => [...counterDay(p, d, 20), ...intakeDay(p, d, 10)]),
      ...counterDay(me, d, 20),
      ...doorHarvest(me, d, 5),
    ]);
    const { alerts } = run(sortByTime([...usualClerks, ...days]));
    expect(actionable(alerts, 'trickle', me.account).length).toBeGreaterThan(0);
  });

  it('allowed: counter collections and intake, twice the usual, raise nothing', () => {
    const me = clerks[0]!;
    const day4 = [...othersDay4, ...counterDay(me, 4, 40), ...intakeDay(me, 4, 20)];
    const { alerts } = run(sortByTime([...usualClerks, ...day4]));
    expect(actionable(alerts)).toEqual([]);
  });

  it('allowed: a courier revealing a door-delivery parcel of its outlet is not judged as a counter role', () => {
    const c = { ...courier(77, 'OUT-A') };
    const { alerts } = run(sortByTime([...usualClerks, ...doorHarvest(c, 4, 10)]));
    expect(actionable(alerts, 'unexplained', c.account)).toEqual([]);
  });

  it('harvesting: 140 own-site reveals, under the 150 floor, at >4x the city clerks\' median today, alert', () => {
    const me = clerks[0]!;
    const day4 = [...othersDay4, ...counterDay(me, 4, 120), ...intakeDay(me, 4, 20)];
    const { alerts } = run(sortByTime([...usualClerks, ...day4]));
    const hit = actionable(alerts, 'harvesting', me.account)[0];
    expect(hit).toBeDefined();
    expect(hit!.evidence.below_day_floor).toBe(true);
    expect(hit!.evidence.peer_tier).toBe('city');
    expect(hit!.evidence.ratio_vs_peers as number).toBeGreaterThanOrEqual(4);
  });

  it('harvesting: 90 own-site reveals (3x the peers) stay under the peer view', () => {
    const me = clerks[0]!;
    const day4 = [...othersDay4, ...counterDay(me, 4, 70), ...intakeDay(me, 4, 20)];
    const { alerts } = run(sortByTime([...usualClerks, ...day4]));
    expect(actionable(alerts, 'harvesting')).toEqual([]);
  });
});
