/**
 * Attack review 6: work_harvest and search_harvest counted only reveals of name, phone *and*
 * address within minutes of the work; revealing name + address only, or waiting, evaded both.
 * Each test below tries one evasion again on the default configuration.
 */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../contracts/events.js';
import { ConfigError, resolveConfig } from '../config.js';
import { actionable, actor, courier, ev, local, run, sortByTime, waybill, type Person } from '../test-support/events.js';
import { worthHarvesting } from './evidence.js';

const MIN = 60_000;
const NPA = ['name', 'phone', 'address'];
const NA = ['name', 'address'];

/** A courier assigned `n` pickups 20 min apart from 08:00, revealing each `delayMin` after its assignment. */
function courierDay(p: Person, n: number, delayMin: number, fields: string[]): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const session = `s-${p.account}`;
  out.push(ev(local(0, 7, 55), { type: 'login', ...actor(p, session), result: 'success', mfa: true }));
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const at = local(0, 8, 20 * i);
    out.push(ev(at - MIN, { type: 'waybill', waybill: wb, origin_site: p.site, dest_site: 'OUT-Z', origin_city: p.city }));
    out.push(ev(at, { type: 'assign', account: p.account, role: p.role, waybill: wb, task: 'pickup' }));
    out.push(ev(at + delayMin * MIN, { type: 'access', ...actor(p, session), action: 'reveal', waybill: wb, fields, purpose: 'pickup', result: 'allowed' }));
  }
  return sortByTime(out);
}

const agent: Person = { account: 'cs9', role: 'customer_service', site: 'CS1', device: 'pc-9', ip: '10.9.0.9', city: '上海' };

/** An agent searching `n` numbers 3 min apart from 09:00, each followed `delaySec` later by a reveal of `fields`. */
function agentDay(n: number, delaySec: number, fields: string[]): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const session = 's-cs9';
  out.push(ev(local(0, 8, 55), { type: 'login', ...actor(agent, session), result: 'success', mfa: true }));
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(0, 9, 3 * i);
    out.push(ev(t - MIN, { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Z', dest_city: '上海' }));
    out.push(ev(t, { type: 'access', ...actor(agent, session), action: 'search', waybills: [wb], fields: [], purpose: 'customer_service', result: 'allowed' }));
    out.push(ev(t + delaySec * 1000, { type: 'access', ...actor(agent, session), action: 'reveal', waybill: wb, fields, purpose: 'customer_service', result: 'allowed' }));
  }
  return sortByTime(out);
}

describe('work_harvest: a courier revealing every assigned parcel long before it is needed', () => {
  const c = courier(7);
  const alerts = (delayMin: number, fields: string[]) => actionable(run(courierDay(c, 30, delayMin, fields)).alerts, 'work_harvest', c.account);

  it('is caught when the reveals take name and address only (no phone)', () => {
    const hits = alerts(2, NA);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.summary).toMatch(/name and address/);
  });

  it('is caught when each full reveal waits 15 min after the assignment (past the old 10-min window)', () => {
    const hits = alerts(15, NPA);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.early_minutes).toBe(30);
  });

  it('stays silent on a phone-only call-ahead, and on name and address taken close to the work (45 min)', () => {
    expect(alerts(15, ['phone'])).toEqual([]);
    expect(alerts(45, NA)).toEqual([]);
  });
});

describe('search_harvest: a search per number of a bought list, each followed by a reveal', () => {
  const alerts = (n: number, delaySec: number, fields: string[]) => actionable(run(agentDay(n, delaySec, fields)).alerts, 'search_harvest', agent.account);

  it('is caught quickly when the reveals take name and address only', () => {
    const hits = alerts(15, 30, NA);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.view).toBe('quick');
    expect(hits[0]!.evidence.records_quick).toBe(10);
  });

  it('is caught in the grant view when each reveal waits 5 min (inside the 15-min search grant)', () => {
    const hits = alerts(120, 300, NA);
    expect(hits.length).toBeGreaterThan(0);
    const e = hits[0]!.evidence;
    expect(e.view).toBe('grant');
    expect(e.grant_minutes).toBe(15);
    expect(e.records_in_grant).toBeGreaterThanOrEqual(75);
    expect(e.records_in_grant).toBeLessThanOrEqual(85);
    expect(hits[0]!.summary).toMatch(/within 15 min \(the search grant\)/);
  });

  it('stays silent on an honest day: a few dozen searches each revealed minutes later, or anything past the grant', () => {
    expect(alerts(40, 300, NPA)).toEqual([]);
    expect(alerts(120, 20 * 60, NA)).toEqual([]);
  });
});

describe('harvest_fields', () => {
  it('a reveal counts when it includes every field of one configured set', () => {
    const worth = worthHarvesting(resolveConfig({}).detectors.search_harvest.harvest_fields);
    const at = (fields: string[]) => ev(local(0, 9), { type: 'access', ...actor(agent), action: 'reveal', waybill: waybill(), fields, purpose: 'customer_service', result: 'allowed' });
    expect(worth(at(['address']))).toBe(true);
    expect(worth(at(['name', 'phone']))).toBe(true);
    expect(worth(at(['phone']))).toBe(false);
    expect(worth(at(['name']))).toBe(false);
  });

  it('a configuration with an empty set or an unknown field is refused', () => {
    expect(() => resolveConfig({ detectors: { work_harvest: { harvest_fields: [[]] } } })).toThrow(ConfigError);
    expect(() => resolveConfig({ detectors: { search_harvest: { harvest_fields: [['email']] } } })).toThrow(/harvest_fields/);
    expect(() => resolveConfig({ detectors: { search_harvest: { harvest_fields: [['phone', 'id_number']] } } })).not.toThrow();
  });
});
