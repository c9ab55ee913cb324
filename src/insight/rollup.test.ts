import { describe, expect, it } from 'vitest';
import { createRollup } from './rollup.js';
import { explainBasis } from './explain.js';

const T0 = Date.parse('2026-11-11T00:00:00Z');
const MIN = 60_000;

describe('explainBasis', () => {
  it('work explains a reveal; site or city scope alone does not; no basis is unexplained', () => {
    expect(explainBasis('assignment')).toEqual({ explained: true, by: 'assignment' });
    expect(explainBasis('site,ticket')).toEqual({ explained: true, by: 'ticket' });
    expect(explainBasis('phone_search')).toEqual({ explained: true, by: 'phone_search' });
    expect(explainBasis('case')).toEqual({ explained: true, by: 'case' });
    expect(explainBasis('site')).toEqual({ explained: false, by: 'site' });
    expect(explainBasis('city')).toEqual({ explained: false, by: 'city' });
    expect(explainBasis(undefined)).toEqual({ explained: false, by: null });
    expect(explainBasis('something_new')).toEqual({ explained: false, by: null });
  });
});

describe('overview rollup', () => {
  it('counts reveals by role and basis, refusals by reason, in the window asked for', () => {
    const r = createRollup();
    r.addReveal({ ts: T0, role: 'courier', decision: 'allowed', reason: null, basis: 'assignment' });
    r.addReveal({ ts: T0 + MIN, role: 'outlet_staff', decision: 'allowed', reason: null, basis: 'site' });
    r.addReveal({ ts: T0 + 2 * MIN, role: 'courier', decision: 'denied', reason: 'no_work_context', basis: undefined, count: 3 });
    r.addReveal({ ts: T0 + 90 * MIN, role: 'courier', decision: 'allowed', reason: null, basis: 'ticket' });
    const h = r.totals(T0, T0 + 60 * MIN);
    expect(h).toMatchObject({ reveals: 2, explained: 1, unexplained: 1, refusals: 3, by_role: { courier: 1, outlet_staff: 1 }, by_basis: { assignment: 1, site: 1 }, by_reason: { no_work_context: 3 } });
    expect(r.totals(T0, T0 + 120 * MIN).reveals).toBe(3);
  });

  it('gives a 24-hour series ending at the current hour, oldest first', () => {
    const r = createRollup();
    r.addEvents(T0 + 5 * MIN, 7, false);
    r.addEvents(T0 - 3 * 60 * MIN, 2, false);
    const s = r.hourly(T0 + 10 * MIN, 24);
    expect(s).toHaveLength(24);
    expect(s.at(-1)).toMatchObject({ hour: T0, events: 7 });
    expect(s.at(-4)).toMatchObject({ hour: T0 - 3 * 60 * MIN, events: 2 });
  });

  it('stays bounded: buckets older than the kept window are dropped', () => {
    const r = createRollup({ keepMinutes: 60 });
    for (let m = 0; m < 500; m++) r.addEvents(T0 + m * MIN, 1, false);
    expect(r.size()).toBeLessThanOrEqual(60);
    r.addEvents(T0, 1, false); // far too old now: ignored
    expect(r.totals(T0, T0 + MIN).events).toBe(0);
  });

  it('measures events per second on the real clock, not event time', () => {
    let now = 100_000;
    const r = createRollup({ rateWindowSeconds: 10, monotonic: () => now });
    for (let i = 0; i < 10; i++) {
      r.addEvents(T0 - 86_400_000 * 3, 50);
      now += 1000;
    }
    expect(r.eventsPerSecond()).toBe(50);
  });
});
