import { describe, expect, it } from 'vitest';
import { buildCityTable } from './cities.js';
import { resolveConfig } from './config.js';
import { ContextBuilder, touchSeen } from './context.js';
import { ExceptionSet } from './exceptions.js';
import { ProfileStore } from './state.js';
import { actor, courier, ev, local } from './test-support/events.js';
import { localClock, networkOf } from './util.js';
import { WorkLinks } from './work-links.js';

function setup() {
  const cfg = resolveConfig({});
  const store = new ProfileStore(cfg, buildCityTable(), 0);
  const links = new WorkLinks(cfg, store);
  const exceptions = new ExceptionSet(networkOf);
  const builder = new ContextBuilder(cfg, localClock(8), store, links, exceptions);
  const step = (e: ReturnType<typeof ev>) => {
    const ctx = builder.prepare(e, Date.parse(e.ts));
    const snapshot = { ...ctx };
    builder.learn(e, Date.parse(e.ts));
    return snapshot;
  };
  return { store, links, exceptions, builder, step };
}

const p = courier(1);
const login = (day: number, hour: number, over: Record<string, unknown> = {}) =>
  ev(local(day, hour), { type: 'login', ...actor(p), result: 'success', mfa: true, ...over });

describe('ContextBuilder', () => {
  it('marks device, network and city novel the first time and known once learned', () => {
    const { step } = setup();
    const first = step(login(0, 9));
    expect(first).toMatchObject({ novelDevice: true, novelNetwork: true, novelCity: true, hour: 9, day: expect.any(Number) });
    expect(first.account!.id).toBe('c1');
    expect(first.peers!.key).toBe('courier|OUT-A');
    const second = step(login(0, 10));
    expect(second).toMatchObject({ novelDevice: false, novelNetwork: false, novelCity: false });
    expect(second.deviceSeen).toBeDefined();
    const moved = step(login(0, 11, { device: 'pda-x', ip: '203.0.113.9', city: '北京' }));
    expect(moved).toMatchObject({ novelDevice: true, novelNetwork: true, novelCity: true, cityKey: '北京' });
  });

  it('a device or network exception makes a new one not novel', () => {
    const { step, exceptions } = setup();
    exceptions.add({ kind: 'device', value: 'pda-1', account: 'c1', until: '2027-01-01T00:00:00.000Z', reason: 'issued', created_by: 'it' });
    expect(step(login(0, 9)).novelDevice).toBe(false);
  });

  it('does not learn from a failed login, nor from work given to the account', () => {
    const { step, store } = setup();
    step(login(0, 9, { result: 'failure' }));
    step(ev(local(0, 9), { type: 'assign', account: 'c1', role: 'courier', waybill: 'SF100000000001', task: 'delivery' }));
    const a = store.accounts.get('c1')!;
    expect(a.events).toBe(0);
    expect(a.devices.size).toBe(0);
    step(login(0, 10));
    expect(a).toMatchObject({ events: 1, logins: 1, mfaLogins: 1, activeDays: 1 });
    expect(a.hourDays[10]).toBe(1);
    expect(a.group!.hoursTotal).toBe(1);
  });

  it('classifies an access: records shown, denials, searches remembered, and what backs a reveal', () => {
    const { step, links } = setup();
    links.onWaybill('SF100000000001', 'OUT-Z', 'OUT-B', '杭州', local(0, 8));
    links.onAssign('SF100000000001', 'c1', local(0, 8));
    const access = (over: Record<string, unknown>) => ev(local(0, 9), { type: 'access', ...actor(p), action: 'reveal', fields: ['phone'], purpose: 'delivery', result: 'allowed', ...over });
    expect(step(access({ waybill: 'SF100000000001' }))).toMatchObject({ records: 1, explanation: 'assignment', denied: false });
    expect(step(access({ waybill: 'SF100000000777' }))).toMatchObject({ records: 1, explanation: 'none', unknownWaybill: true });
    expect(step(access({ waybill: 'SF100000000777', result: 'denied' }))).toMatchObject({ records: 0, denied: true });
    expect(step(access({ action: 'export', waybill: undefined, waybills: ['SF1', 'SF2', 'SF3'], purpose: 'audit' }))).toMatchObject({ records: 3 });
    step(access({ action: 'search', waybill: undefined, waybills: ['SF100000000888'], fields: undefined, purpose: 'customer_service' }));
    expect(step(access({ waybill: 'SF100000000888' })).explanation).toBe('search');
  });

  it('attack review 6: a backfilled access explained by backfilled work leaves no verdict a live access reuses', () => {
    const { step, links } = setup();
    links.onWaybill('SF100000000001', 'OUT-Z', 'OUT-B', '杭州', local(0, 8));
    links.onAssign('SF100000000001', 'c1', local(0, 8), true);
    const access = (minute: number, over: Record<string, unknown>) =>
      ev(local(0, 9) + minute * 60_000, { type: 'access', ...actor(p), action: 'reveal', waybill: 'SF100000000001', fields: ['phone'], purpose: 'delivery', result: 'allowed', ...over });
    expect(step(access(0, { backfill: true })).explanation).toBe('assignment');
    expect(step(access(1, {})).explanation).toBe('none');
  });

  it('touchSeen counts a known value and adds a new one', () => {
    const m = new Map<string, { first: number; last: number; n: number }>();
    expect(touchSeen(m, 'k', undefined, 5)).toBe(true);
    expect(touchSeen(m, 'k', m.get('k'), 9)).toBe(false);
    expect(m.get('k')).toEqual({ first: 5, last: 9, n: 2 });
    expect(touchSeen(m, 'k', undefined, 10)).toBe(false); // added in between (feedback)
    expect(m.get('k')!.n).toBe(3);
  });
});
