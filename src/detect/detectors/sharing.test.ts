import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime, waybill, workDay, type Person } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

const team = [1, 2, 3, 4, 5, 6].map((n) => courier(n));
const base = history(team, 5);

describe('sharing detector', () => {
  it('fires high when a mature account logs in at 02:00 from a new device in a far city', () => {
    const c1 = team[0]!;
    const night: Person = { ...c1, device: 'evil-phone', ip: '203.0.113.9', city: '乌鲁木齐' };
    const events = [
      ...base,
      ev(local(5, 2, 0), { type: 'login', ...actor(night, 'sx'), result: 'success', mfa: true }),
    ];
    const { alerts } = run(events);
    const hits = actionable(alerts, 'sharing', 'c1');
    expect(hits).toHaveLength(1);
    expect(['high', 'critical']).toContain(hits[0]!.severity);
    const dims = hits[0]!.evidence.dimensions as Array<{ dimension: string; first_seen_for_account: boolean }>;
    expect(dims.map((d) => d.dimension).sort()).toEqual(['city', 'device', 'hour', 'network']);
    expect(dims.every((d) => d.first_seen_for_account)).toBe(true);
    expect(hits[0]!.summary).toMatch(/new device evil-phone/);
  });

  it('does not call a new phone followed by normal work more than low', () => {
    const c2 = team[1]!;
    const phone: Person = { ...c2, device: 'pda-2-new' };
    const { alerts } = run(sortByTime([...base, ...workDay(phone, 5), ...workDay(phone, 6)]));
    expect(actionable(alerts, undefined, 'c2')).toEqual([]);
    expect(alerts.filter((a) => a.account === 'c2' && a.detector === 'sharing').map((a) => a.severity)).toEqual(['low']);
  });

  it('does not alert on a business trip with normal hours and the usual device', () => {
    const c3 = team[2]!;
    const trip: Person = { ...c3, ip: '172.16.5.5', city: '北京' };
    const { alerts } = run(sortByTime([...base, ...workDay(trip, 5), ...workDay(trip, 6)]));
    expect(actionable(alerts, undefined, 'c3')).toEqual([]);
  });

  it('does not judge a new hire without a baseline whose work is explained', () => {
    const hire = courier(50);
    const { alerts } = run(sortByTime([...base, ...workDay(hire, 5), ...workDay(hire, 6)]));
    expect(alerts.filter((a) => a.account === 'c50')).toEqual([]);
  });

  it('flags impossible travel and two live sessions on different devices', () => {
    const c4 = team[3]!;
    const far: Person = { ...c4, device: 'other-pda', ip: '203.0.113.50', city: '乌鲁木齐' };
    const events = sortByTime([
      ...base,
      ...workDay(c4, 5),
      ev(local(5, 10, 30), { type: 'login', ...actor(far, 'sy'), result: 'success', mfa: true }),
    ]);
    const { alerts } = run(events);
    const hit = actionable(alerts, 'sharing', 'c4')[0];
    expect(hit).toBeDefined();
    expect(hit!.evidence.travel).toMatchObject({ from: '上海', to: '乌鲁木齐' });
    expect(hit!.evidence.concurrent_sessions).toEqual(['s-c4-5']);
  });

  it('notes a missing second factor where the account always uses one, as context only', () => {
    const c5 = team[4]!;
    const { alerts } = run([...base, ev(local(5, 8, 0), { type: 'login', ...actor(c5, 'sz'), result: 'success', mfa: false })]);
    const hit = alerts.find((a) => a.account === 'c5' && a.detector === 'sharing');
    expect(hit?.severity).toBe('low');
    expect(hit?.evidence.mfa_usual).toEqual({ mfa_logins: 5, logins: 5 });
  });

  it('respects a device exception for the account', () => {
    const c1 = team[0]!;
    const night: Person = { ...c1, device: 'evil-phone' };
    const events = [...base, ev(local(5, 8, 0), { type: 'login', ...actor(night, 'sx'), result: 'success', mfa: true })];
    const { alerts } = run(events.slice(0, base.length));
    expect(alerts.filter((a) => a.account === 'c1')).toEqual([]);
    const withException = (() => {
      const r = run([]);
      r.engine.addException({ kind: 'device', account: 'c1', value: 'evil-phone', until: '2027-01-01T00:00:00.000Z', reason: 'replacement phone', created_by: 'analyst-1' });
      return run(events, {}, r.engine);
    })();
    expect(withException.alerts.filter((a) => a.account === 'c1' && a.detector === 'sharing')).toEqual([]);
  });
});

describe('sharing: off-hours judged by the role, not the building', () => {
  // A sorting centre works all night; its two managers work days.
  const managers = [1, 2].map((n) => ({ ...courier(300 + n, 'SC-1'), account: `m${n}`, role: 'manager', device: `lt-${n}`, ip: `10.9.0.${n}` }));
  const sorters = [1, 2, 3, 4].map((n) => ({ ...courier(400 + n, 'SC-1'), account: `x${n}`, role: 'sorting', device: `sc-${n}`, ip: `10.9.1.${n}` }));
  function nightShift(p: Person, day: number): ActivityEvent[] {
    const out: ActivityEvent[] = [ev(local(day, 18), { type: 'login', ...actor(p, `n-${p.account}-${day}`), result: 'success', mfa: true })];
    for (let h = 18; h < 24; h++) {
      for (let k = 0; k < 3; k++) {
        out.push(ev(local(day, h, 10 + k * 15), { type: 'access', ...actor(p, `n-${p.account}-${day}`), action: 'view', waybill: waybill(), fields: [], purpose: 'other', result: 'allowed' }));
      }
    }
    return out;
  }
  const days = [0, 1, 2, 3, 4].flatMap((d) => [...managers.flatMap((m) => workDay(m, d, 10)), ...sorters.flatMap((s) => nightShift(s, d))]);

  it('raises a medium alert when a manager logs in at 23:00 from a new network, before its export', () => {
    const home = { ...managers[0]!, ip: '198.51.100.7' };
    const login = ev(local(5, 23, 5), { type: 'login', ...actor(home, 'sn'), result: 'success', mfa: true });
    const exp = ev(local(5, 23, 12), { type: 'access', ...actor(home, 'sn'), action: 'export', waybills: Array.from({ length: 2000 }, () => waybill()), fields: ['name', 'phone', 'address'], purpose: 'audit', result: 'allowed' });
    const { alerts } = run(sortByTime([...days, login, exp]));
    const first = actionable(alerts, undefined, 'm1')[0];
    expect(first).toBeDefined();
    expect(first!.detector).toBe('sharing');
    expect(first!.event_id).toBe(login.id);
    expect(first!.evidence.hour_judged_by).toBe('peers');
  });

  it('leaves the night shift alone, and a manager working late from the office at most low', () => {
    const late = ev(local(5, 23, 5), { type: 'login', ...actor(managers[1]!, 'sl'), result: 'success', mfa: true });
    const { alerts } = run(sortByTime([...days, ...sorters.flatMap((s) => nightShift(s, 5)), late]));
    expect(actionable(alerts)).toEqual([]);
  });
});
