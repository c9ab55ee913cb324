/**
 * Attack review 8: both harvest detectors judged each reveal on its own, so a harvest set spread
 * over two requests never counted — a courier revealing the name, then the address 7 s later, of
 * every assigned parcel; an agent searching by a phone he already has, then revealing the name
 * alone. Each test below tries one of them again on the default configuration.
 */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../contracts/events.js';
import { createDetectionEngine } from '../engine.js';
import type { DetectorEnv } from '../types.js';
import { actionable, actor, courier, ev, local, run, sortByTime, waybill, type Person } from '../test-support/events.js';
import { coversHarvest, createSearchHarvestDetector, fieldMask } from './evidence.js';

const MIN = 60_000;
type Reveal = { afterMs: number; fields: string[] };

/** A courier assigned `n` pickups 20 min apart from 08:00, each followed by `reveals`. */
function courierDay(p: Person, n: number, reveals: Reveal[]): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const session = `s-${p.account}`;
  out.push(ev(local(0, 7, 55), { type: 'login', ...actor(p, session), result: 'success', mfa: true }));
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const at = local(0, 8, 20 * i);
    out.push(ev(at - MIN, { type: 'waybill', waybill: wb, origin_site: p.site, dest_site: 'OUT-Z', origin_city: p.city }));
    out.push(ev(at, { type: 'assign', account: p.account, role: p.role, waybill: wb, task: 'pickup' }));
    for (const r of reveals) out.push(ev(at + r.afterMs, { type: 'access', ...actor(p, session), action: 'reveal', waybill: wb, fields: r.fields, purpose: 'pickup', result: 'allowed' }));
  }
  return sortByTime(out);
}

const agent: Person = { account: 'cs3', role: 'customer_service', site: 'CS1', device: 'pc-3', ip: '10.9.0.3', city: '上海' };

/** An agent searching `n` phone numbers 3 min apart from 09:00, each followed by `reveals`. */
function agentDay(n: number, reveals: Reveal[], searchesPerWaybill = 1): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const session = 's-cs3';
  out.push(ev(local(0, 8, 55), { type: 'login', ...actor(agent, session), result: 'success', mfa: true }));
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(0, 9, 3 * i);
    out.push(ev(t - MIN, { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Z', dest_city: '上海' }));
    for (let k = 0; k < searchesPerWaybill; k++) {
      out.push(ev(t + k * 1000, { type: 'access', ...actor(agent, session), action: 'search', waybills: [wb], fields: [], purpose: 'customer_service', result: 'allowed' }));
    }
    for (const r of reveals) out.push(ev(t + r.afterMs, { type: 'access', ...actor(agent, session), action: 'reveal', waybill: wb, fields: r.fields, purpose: 'customer_service', result: 'allowed' }));
  }
  return sortByTime(out);
}

describe('work_harvest: a harvest set split over two reveals of the same parcel', () => {
  const c = courier(2);
  const alerts = (reveals: Reveal[]) => actionable(run(courierDay(c, 14, reveals)).alerts, 'work_harvest', c.account);

  it('is caught when each parcel gets the name, then the address 7 s later (as one reveal of both is)', () => {
    expect(alerts([{ afterMs: 2 * MIN, fields: ['name', 'address'] }]).length).toBeGreaterThan(0);
    const hits = alerts([
      { afterMs: 2 * MIN, fields: ['name'] },
      { afterMs: 2 * MIN + 7000, fields: ['address'] },
    ]);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.records_early).toBe(12); // each parcel once, at its second reveal
    expect(hits[0]!.evidence.assigned_today).toBe(12);
  });

  it('counts a parcel once: a further reveal of it adds nothing', () => {
    const hits = alerts([
      { afterMs: 2 * MIN, fields: ['name'] },
      { afterMs: 2 * MIN + 7000, fields: ['address'] },
      { afterMs: 3 * MIN, fields: ['name', 'phone', 'address'] },
    ]);
    const last = hits[hits.length - 1]!.evidence;
    expect(last.records_early).toBeLessThanOrEqual(14);
    expect(last.records_early).toBe(last.assigned_today);
  });

  it('stays silent when the second field comes close to the work (past the early window), or the phone is taken twice', () => {
    expect(
      alerts([
        { afterMs: 2 * MIN, fields: ['name'] },
        { afterMs: 45 * MIN, fields: ['address'] },
      ]),
    ).toEqual([]);
    expect(
      alerts([
        { afterMs: 2 * MIN, fields: ['phone'] },
        { afterMs: 10 * MIN, fields: ['phone'] },
      ]),
    ).toEqual([]);
  });
});

describe('search_harvest: the searched phone is already known', () => {
  const alerts = (n: number, reveals: Reveal[], searchesPerWaybill = 1) => actionable(run(agentDay(n, reveals, searchesPerWaybill)).alerts, 'search_harvest', agent.account);

  it('is caught when each search by phone is followed by a reveal of the name alone', () => {
    const hits = alerts(14, [{ afterMs: 20_000, fields: ['name'] }]);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.view).toBe('quick');
    expect(hits[0]!.evidence.records_quick).toBe(10);
  });

  it('adds up the reveals within the grant (a configuration asking for name and address)', () => {
    const cfg = { detectors: { search_harvest: { harvest_fields: [['name', 'address']] } } };
    const split = [
      { afterMs: 4 * MIN, fields: ['name'] },
      { afterMs: 5 * MIN, fields: ['address'] },
    ];
    const hits = actionable(run(agentDay(120, split), cfg).alerts, 'search_harvest', agent.account);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.view).toBe('grant');
    const late = [
      { afterMs: 4 * MIN, fields: ['name'] },
      { afterMs: 20 * MIN, fields: ['address'] },
    ];
    expect(actionable(run(agentDay(120, late), cfg).alerts, 'search_harvest', agent.account)).toEqual([]); // the address came after the grant
  });

  it('counts a searched parcel once, however often it is revealed within the grant', () => {
    const twice = [
      { afterMs: 20_000, fields: ['name', 'address'] },
      { afterMs: 40_000, fields: ['name', 'phone', 'address'] },
    ];
    expect(alerts(6, twice)).toEqual([]); // 6 parcels, not 12 reveals
    expect(alerts(6, twice, 2)).toEqual([]); // a search repeated at once is the same search
  });

  it('stays silent on a phone-only reveal (nothing the searcher did not have)', () => {
    expect(alerts(30, [{ afterMs: 20_000, fields: ['phone'] }])).toEqual([]);
  });

  it('keeps at most 4 x state.search_max_results searched waybills per account', () => {
    let env: DetectorEnv | undefined;
    const engine = createDetectionEngine({ state: { search_max_results: 5 } }, { detectors: [(e) => ((env = e), createSearchHarvestDetector(e))] });
    run(agentDay(60, [{ afterMs: 20_000, fields: ['phone'] }]), {}, engine);
    const s = env!.state.accounts.get(agent.account)!.slots[env!.slot] as { open: Map<string, unknown> };
    expect(s.open.size).toBeGreaterThan(0);
    expect(s.open.size).toBeLessThanOrEqual(20);
  });
});

describe('coversHarvest', () => {
  it('is true when the fields known so far include one set', () => {
    const covers = coversHarvest([['address'], ['name', 'phone']]);
    expect(covers(fieldMask(['phone']) | fieldMask(['name']))).toBe(true);
    expect(covers(fieldMask(['address']))).toBe(true);
    expect(covers(fieldMask(['phone', 'id_number']))).toBe(false);
    expect(covers(fieldMask(undefined))).toBe(false);
  });
});
