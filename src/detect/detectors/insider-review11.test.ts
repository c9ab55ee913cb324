/**
 * Attack review 11 (insider, F1): an outlet clerk reveals sender + recipient of her own outlet's
 * PAST parcels, replayed on the default configuration with the honest look-alike beside it.
 *
 * (a) parcels collected at her counter days ago counted as "at the counter" forever (strong
 *     own-site backing): now only until `counter_grace_hours` after the collected (delivered) scan.
 * (b) parcels taken in at her counter 9–18 days ago: the engine had forgotten them (`waybill_ttl_days`),
 *     and the number range alone made them strong own-site parcels: range-only backing is now weak for
 *     counter roles.
 * Look-alike: an honest clerk answering a few customers' questions about older parcels a day.
 */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../contracts/events.js';
import type { AlertOut } from '../engine.js';
import { SEV, actor, courier, ev, local, run, sortByTime, waybill, type Person } from '../test-support/events.js';

const MIN = 60_000;
const NP = ['name', 'phone'];
const SITES = ['OUT-A', 'OUT-B', 'OUT-C'];
const clerks: Person[] = SITES.flatMap((site, i) => [1, 2].map((k) => ({ ...courier(100 + i * 10 + k, site), account: `s${i}${k}`, role: 'outlet_staff', device: `pc-${i}${k}` })));
const me = clerks[0]!;
const sender = (site: string): Person => ({ ...courier(900 + SITES.indexOf(site), site), account: `c-${site}` });

/** Numbers are allocated in ranges per origin outlet, in order of intake. */
const seq = new Map<string, number>();
const ownNumber = (site: string): string => {
  const n = (seq.get(site) ?? 0) + 1;
  seq.set(site, n);
  return `YT7${SITES.indexOf(site)}${String(n).padStart(10, '0')}`;
};

/** What each clerk handled at her counter: parcels collected there, parcels taken in there (with the day). */
const collected = new Map<string, { wb: string; day: number }[]>();
const takenIn = new Map<string, { wb: string; day: number }[]>();
const note = (m: Map<string, { wb: string; day: number }[]>, p: Person, wb: string, day: number) => {
  let l = m.get(p.account);
  if (!l) m.set(p.account, (l = []));
  l.push({ wb, day });
};

/**
 * Honest counter work of a day: `n` collections (sent two days earlier from another outlet, with its
 * pickup scan there; arrived this morning; the recipient collects it, the clerk checks name + phone,
 * then scans it delivered) and `n / 2` intakes (the sender drops a parcel off, the clerk checks the
 * sender, scans it in).
 */
function counterDay(p: Person, day: number, n: number): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const far = SITES.find((s) => s !== p.site)!;
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(day, 9) + Math.floor((i * 10 * 60 * MIN) / n);
    out.push(ev(local(day - 2, 10), { type: 'waybill', waybill: wb, origin_site: far, dest_site: p.site, dest_city: p.city }));
    out.push(ev(local(day - 2, 11), { type: 'scan', ...actor(sender(far)), waybill: wb, op: 'pickup' }));
    out.push(ev(local(day, 7), { type: 'scan', ...actor(p), waybill: wb, op: 'arrive' }));
    out.push(ev(t, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: 'delivery', result: 'allowed' }));
    out.push(ev(t + MIN, { type: 'scan', ...actor(p), waybill: wb, op: 'delivered' }));
    note(collected, p, wb, day);
  }
  for (let i = 0; i < n / 2; i++) {
    const wb = ownNumber(p.site);
    const t = local(day, 9, 7) + Math.floor((i * 10 * 60 * MIN) / (n / 2));
    out.push(ev(t - 5 * MIN, { type: 'waybill', waybill: wb, origin_site: p.site, dest_site: 'OUT-Z', dest_city: '北京' }));
    out.push(ev(t, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: 'pickup', result: 'allowed' }));
    out.push(ev(t + MIN, { type: 'scan', ...actor(p), waybill: wb, op: 'pickup' }));
    note(takenIn, p, wb, day);
  }
  return out;
}

/** Every clerk's counter work on days [from, to). */
function usual(from: number, to: number, n = 20): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let d = from; d < to; d++) for (const p of clerks) out.push(...counterDay(p, d, n));
  return out;
}

/** Reveals by `p` of `wbs` on `day`, one every `gapMin` minutes from 09:30 (purpose: customer service). */
function revealsOf(p: Person, day: number, wbs: string[], gapMin: number, startHour = 9.5): ActivityEvent[] {
  return wbs.map((wb, i) => ev(local(day, 0) + startHour * 60 * MIN + i * gapMin * MIN, { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: NP, purpose: 'customer_service', result: 'allowed' }));
}

/** Picks `n` a day from `pool` in a shuffled order (no sequential numbers). */
function harvestDays(pool: string[], days: number[], n: number, gapMin = 9): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  let k = 0;
  for (const d of days) {
    const wbs: string[] = [];
    for (let i = 0; i < n && k < pool.length; i++, k++) wbs.push(pool[(k * 97) % pool.length]!);
    out.push(...revealsOf(me, d, wbs, gapMin));
  }
  return out;
}

/** Records the attack had revealed when each of `me`'s alerts was raised: [first alert, first medium+]. */
function exposure(alerts: AlertOut[], attack: ActivityEvent[]): [number, number] {
  const order = new Map(attack.map((e, i) => [e.id, i + 1]));
  const mine = alerts.filter((a) => a.account === me.account && order.has(a.event_id));
  const first = mine[0];
  const medium = mine.find((a) => SEV[a.severity] >= 1);
  return [first ? order.get(first.event_id)! : Infinity, medium ? order.get(medium.event_id)! : Infinity];
}

const mediumPlus = (alerts: AlertOut[]) => alerts.filter((a) => SEV[a.severity] >= 1);

describe('attack review 11, F1: a clerk harvesting her outlet\'s past parcels', () => {
  it('(b) parcels taken in at her outlet 9-18 days ago (forgotten by the engine), 55 a day: caught within 20 records, medium before 50', () => {
    takenIn.clear();
    const background = usual(0, 19);
    const pool = [...(takenIn.get(me.account) ?? []), ...(takenIn.get(clerks[1]!.account) ?? [])].filter((x) => x.day <= 3).map((x) => x.wb);
    const attack = harvestDays(pool, [12, 13, 14, 15, 16, 17, 18], 55);
    const { alerts } = run(sortByTime([...background, ...attack]));
    const [first, medium] = exposure(alerts, attack);
    expect(first).toBeLessThanOrEqual(20);
    expect(medium).toBeLessThan(50);
    const hit = mediumPlus(alerts).find((a) => a.account === me.account && a.detector === 'unexplained')!;
    expect(hit.summary).toMatch(/not at its counter/);
    expect((hit.evidence.today as Record<string, number>).own_site_not_at_counter).toBeGreaterThanOrEqual(8);
    expect(mediumPlus(alerts).filter((a) => a.account !== me.account)).toEqual([]);
  });

  it('(a) parcels collected at her counter on days 1-5, revealed on days 6-7, 55 a day: caught within 20 records, medium before 50', () => {
    collected.clear();
    const background = usual(0, 8);
    const pool = (collected.get(me.account) ?? []).filter((x) => x.day >= 1 && x.day <= 5).map((x) => x.wb);
    const attack = harvestDays(pool, [6, 7], 55);
    const { alerts } = run(sortByTime([...background, ...attack]));
    const [first, medium] = exposure(alerts, attack);
    expect(first).toBeLessThanOrEqual(20);
    expect(medium).toBeLessThan(50);
    expect(mediumPlus(alerts).filter((a) => a.account !== me.account)).toEqual([]);
  });

  it('(a) a parcel collected yesterday counts; one revealed within the grace after its collection does not', () => {
    collected.clear();
    const background = usual(0, 6);
    const yesterday = (collected.get(me.account) ?? []).filter((x) => x.day === 4).map((x) => x.wb).slice(0, 12);
    const today = (collected.get(me.account) ?? []).filter((x) => x.day === 5).map((x) => x.wb).slice(0, 12);
    // today's: revealed again 10-40 min after each was collected (the customer comes back to the counter)
    const again = today.map((wb, i) => ev(local(5, 9) + Math.floor((i * 10 * 60 * MIN) / 20) + (10 + (i % 4) * 10) * MIN, { type: 'access', ...actor(me), action: 'reveal', waybill: wb, fields: NP, purpose: 'delivery', result: 'allowed' }));
    const late = revealsOf(me, 5, yesterday, 20, 19.5);
    const quiet = run(sortByTime([...background, ...again]));
    expect(mediumPlus(quiet.alerts)).toEqual([]);
    const caught = run(sortByTime([...background, ...again, ...late]));
    const hit = mediumPlus(caught.alerts).find((a) => a.account === me.account && a.detector === 'unexplained');
    expect(hit).toBeDefined();
    expect((hit!.evidence.today as Record<string, number>).own_site_not_at_counter).toBe(8);
  });

  it('allowed: counter work (collections of parcels picked up elsewhere days before, intake), twice the usual, raises nothing', () => {
    const { alerts } = run(sortByTime([...usual(0, 4), ...clerks.flatMap((p) => counterDay(p, 4, p === me ? 40 : 20))]));
    expect(mediumPlus(alerts)).toEqual([]);
  });

  it('allowed: parcels taken in before their order is entered (new numbers of her outlet\'s range, routed 15 min later), 12 a day, raise nothing', () => {
    const background = usual(0, 6); // first: numbers are issued in order, the early ones are the newest
    const early: ActivityEvent[] = [];
    for (let d = 1; d < 6; d++) {
      for (let i = 0; i < 12; i++) {
        const wb = ownNumber(me.site);
        const t = local(d, 16) + i * 7 * MIN;
        early.push(ev(t, { type: 'access', ...actor(me), action: 'reveal', waybill: wb, fields: NP, purpose: 'pickup', result: 'allowed' }));
        early.push(ev(t + MIN, { type: 'scan', ...actor(me), waybill: wb, op: 'pickup' }));
        early.push(ev(t + 15 * MIN, { type: 'waybill', waybill: wb, origin_site: me.site, dest_site: 'OUT-Z', dest_city: '北京' }));
      }
    }
    const { alerts } = run(sortByTime([...background, ...early]));
    expect(mediumPlus(alerts)).toEqual([]);
  });

  it('allowed: an honest clerk answering 3 questions a day about older parcels (collected days ago, sent last week or earlier) for 14 days raises nothing', () => {
    collected.clear();
    takenIn.clear();
    const background = usual(0, 20);
    const old = (m: Map<string, { wb: string; day: number }[]>, d: number, minAge: number) =>
      [...(m.get(me.account) ?? []), ...(m.get(clerks[1]!.account) ?? [])].filter((x) => d - x.day >= minAge && (x.wb.length + d) % 3 === 0).map((x) => x.wb);
    const questions: ActivityEvent[] = [];
    for (let d = 6; d < 20; d++) {
      const a = old(collected, d, 1);
      const b = old(takenIn, d, 2);
      const wbs = [a[(d * 7) % a.length]!, b[(d * 11) % b.length]!, (d % 2 ? a[(d * 13 + 5) % a.length] : b[(d * 17 + 3) % b.length])!];
      // spread through the day, between the counter work
      questions.push(...wbs.map((wb, i) => ev(local(d, 10 + i * 3, 17), { type: 'access', ...actor(me), action: 'reveal', waybill: wb, fields: NP, purpose: 'customer_service', result: 'allowed' })));
    }
    const { alerts } = run(sortByTime([...background, ...questions]));
    expect(mediumPlus(alerts)).toEqual([]);
  });
});
