import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, local, run, sortByTime, type Person } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';
import { resolveConfig } from '../config.js';

const mgr = { account: 'm1', role: 'manager', site: 'HQ', device: 'lap-m1', ip: '10.5.0.9', city: '上海' };
const wbs = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `YT${1_000_000_000_000 + from + i * 13}`);

function weeklyExports(weeks: number, size = 40): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let w = 0; w < weeks; w++) {
    out.push(ev(local(w * 7, 15), { type: 'access', ...actor(mgr), action: 'export', waybills: wbs(size, w * 1000), fields: ['name', 'phone'], purpose: 'audit', result: 'allowed' }));
  }
  return out;
}

describe('privileged_bulk detector', () => {
  it('fires when an export is far larger than anything in the account\'s history', () => {
    const dump = ev(local(22, 2), { type: 'access', ...actor(mgr), action: 'export', waybills: wbs(3000, 50_000), fields: ['name', 'phone', 'address'], purpose: 'audit', result: 'allowed' });
    const { alerts } = run([...weeklyExports(3), dump]);
    const hit = actionable(alerts, 'privileged_bulk', 'm1')[0];
    expect(hit).toMatchObject({ severity: 'critical' });
    expect(hit!.evidence).toMatchObject({ records: 3000, previous_max: 40, previous_count: 3 });
  });

  it('does not fire on the usual weekly export of the usual size', () => {
    const { alerts } = run(weeklyExports(4));
    expect(alerts).toEqual([]);
  });

  it('fires on a first-ever export that is already bulk', () => {
    const { alerts } = run([ev(local(0, 10), { type: 'access', ...actor(mgr), action: 'export', waybills: wbs(800), fields: ['name'], purpose: 'audit', result: 'allowed' })]);
    expect(actionable(alerts, 'privileged_bulk')).toHaveLength(1);
  });

  // The off-hours login rule: a privileged account's login from a network or device it never
  // used, at an hour it never worked and its role company-wide (almost) never works.
  describe('off-hours privileged login', () => {
    const m2 = { ...mgr, account: 'm2', site: 'OUT-B', device: 'lap-m2', ip: '10.6.0.9' };
    /** Office days: a session each hour 09:00-17:00 (9 member-day-hour slots a day). */
    function office(p: Person, days: number, hours: readonly number[] = [9, 10, 11, 12, 13, 14, 15, 16, 17]): ActivityEvent[] {
      const out: ActivityEvent[] = [];
      for (let d = 0; d < days; d++) {
        for (const h of hours) {
          out.push(ev(local(d, h, 0), { type: 'login', ...actor(p), result: 'success', mfa: true }));
          out.push(ev(local(d, h, 40), { type: 'logout', ...actor(p) }));
        }
      }
      return out;
    }
    const at2 = (p: Person, over: Partial<Person> = {}) => ev(local(3, 2, 5), { type: 'login', ...actor({ ...p, ...over }), result: 'success', mfa: true });
    const offHours = (alerts: ReturnType<typeof run>['alerts'], account: string) =>
      alerts.filter((a) => a.detector === 'privileged_bulk' && a.account === account && a.evidence.peer_tier === 'role_company_wide');

    it('alerts on a manager\'s 02:00 login from a network it never used when no manager works then', () => {
      const { alerts } = run(sortByTime([...office(mgr, 3), ...office(m2, 3), at2(mgr, { ip: '203.0.113.7' })]));
      const hit = offHours(alerts, 'm1');
      expect(hit).toHaveLength(1);
      expect(hit[0]!.severity).not.toBe('low');
      expect(hit[0]!.evidence).toMatchObject({ hour_local: 2, first_seen_network: true, first_seen_device: false, peer_hour_share: 0, peer_group_size: 2 });
    });

    it('alerts on a new privileged account\'s first login at such an hour: the role\'s hours are the prior', () => {
      const m3 = { ...mgr, account: 'm3', device: 'lap-m3', ip: '198.51.100.4' };
      const { alerts } = run(sortByTime([...office(mgr, 3), ...office(m2, 3), at2(m3)]));
      expect(offHours(alerts, 'm3')).toHaveLength(1);
    });

    it('does not alert on the manager working late from its usual network and device', () => {
      const { alerts } = run(sortByTime([...office(mgr, 3), ...office(m2, 3), at2(mgr)]));
      expect(offHours(alerts, 'm1')).toEqual([]);
    });

    it('does not alert when the role works that hour company-wide (a night-shift manager elsewhere)', () => {
      const night = office(m2, 3, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
      const { alerts } = run(sortByTime([...office(mgr, 3), ...night, at2(mgr, { ip: '203.0.113.7' })]));
      expect(offHours(alerts, 'm1')).toEqual([]);
    });

    it('does not alert on a role that is not privileged', () => {
      const c = courier(9);
      const couriers = office(c, 3);
      const { alerts } = run(sortByTime([...office(mgr, 3), ...couriers, at2(c, { ip: '203.0.113.7' })]));
      expect(offHours(alerts, 'c9')).toEqual([]);
    });

    describe('before the role has enough hours on record (a small or new company): the role\'s prior', () => {
      const prior = (alerts: ReturnType<typeof run>['alerts'], account: string) =>
        alerts.filter((a) => a.detector === 'privileged_bulk' && a.account === account && a.evidence.peer_tier === 'role_prior');
      const away = (d: number, h: number) => ev(local(d, h, 5), { type: 'login', ...actor({ ...mgr, device: 'home-laptop', ip: '203.0.113.7' }), result: 'success', mfa: true });

      it('alerts on a 23:00 login from a device and network never used, and says the prior decided', () => {
        const { alerts } = run(sortByTime([...office(mgr, 1), away(1, 23)]));
        const hit = prior(alerts, 'm1');
        expect(hit).toHaveLength(1);
        expect(hit[0]!.severity).not.toBe('low');
        expect(hit[0]!.evidence).toMatchObject({ hour_local: 23, role_hour_slots: 9, prior_off_hours: [23, 6], first_seen_device: true });
        expect(hit[0]!.summary).toContain('prior');
        expect(offHours(alerts, 'm1')).toEqual([]);
      });

      it('does not alert at an evening hour outside the prior, nor when the prior is turned off', () => {
        expect(prior(run(sortByTime([...office(mgr, 1), away(1, 20)])).alerts, 'm1')).toEqual([]);
        const off = { detectors: { privileged_bulk: { prior_off_hours_from: 0, prior_off_hours_to: 0 } } };
        expect(prior(run(sortByTime([...office(mgr, 1), away(1, 2)]), off).alerts, 'm1')).toEqual([]);
      });

      it('refuses a prior hour that is no local hour, naming the key', () => {
        expect(() => resolveConfig({ detectors: { privileged_bulk: { prior_off_hours_from: 24 } } })).toThrow(/privileged_bulk\.prior_off_hours_from: expected a local hour 0\.\.23/);
        expect(() => resolveConfig({ detectors: { privileged_bulk: { prior_off_hours_to: 5.5 } } })).toThrow(/prior_off_hours_to/);
      });

      it('once the role has enough hours, its own hours decide, not the prior', () => {
        const night = office(m2, 3, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
        const { alerts } = run(sortByTime([...office(mgr, 3), ...night, away(3, 2)]));
        expect(prior(alerts, 'm1')).toEqual([]);
        expect(offHours(alerts, 'm1')).toEqual([]);
      });
    });
  });
});

