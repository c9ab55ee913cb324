import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime, waybill } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

const team = [1, 2, 3, 4].map((n) => courier(n));
const base = history(team, 3);

/** n reveals by a courier of parcels routed elsewhere and never assigned to it. */
function strayReveals(n: number, who = team[0]!, day = 3, startHour = 10): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    out.push(ev(local(day, startHour - 1, i % 60), { type: 'waybill', waybill: wb, origin_site: 'OUT-X', dest_site: 'OUT-Y', dest_city: '成都' }));
    out.push(ev(local(day, startHour, i * 2), { type: 'access', ...actor(who, 'sq'), action: 'reveal', waybill: wb, fields: ['name', 'phone', 'address'], purpose: 'delivery', result: 'allowed' }));
  }
  return out;
}

describe('unexplained detector', () => {
  it('alerts once a courier reveals 8 parcels with no assignment, ticket, search or own-site link', () => {
    const { alerts } = run(sortByTime([...base, ...strayReveals(12)]));
    const hits = actionable(alerts, 'unexplained', 'c1');
    expect(hits.length).toBeGreaterThanOrEqual(1);
    expect(hits[0]!.evidence.unexplained_records).toBe(8);
    expect(hits[0]!.summary).toMatch(/revealed 8 records with no assignment/);
    // the parcels go to 成都, far from 上海
    expect((hits[0]!.evidence.today as { far_parcels: number }).far_parcels).toBe(8);
  });

  it('stays quiet for a courier covering a colleague\'s route with assignments', () => {
    const cover: ActivityEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const wb = waybill();
      cover.push(ev(local(3, 8, 1), { type: 'waybill', waybill: wb, origin_site: 'OUT-X', dest_site: 'OUT-B', dest_city: '杭州' }));
      cover.push(ev(local(3, 8, 2), { type: 'assign', account: 'c2', role: 'courier', waybill: wb, task: 'delivery' }));
      cover.push(ev(local(3, 9, i), { type: 'access', ...actor(team[1]!, 'sc'), action: 'reveal', waybill: wb, fields: ['phone'], purpose: 'delivery', result: 'allowed' }));
    }
    const { alerts } = run(sortByTime([...base, ...cover]));
    expect(alerts.filter((a) => a.account === 'c2')).toEqual([]);
  });

  it('treats reveals explained by an open ticket or a fresh search as explained, and a closed ticket as not', () => {
    const agent = { account: 'cs1', role: 'customer_service', site: 'CS', device: 'pc-cs1', ip: '10.9.0.5', city: '上海' };
    const work: ActivityEvent[] = [];
    for (let i = 0; i < 20; i++) {
      const wb = waybill();
      const tk = `T${i}`;
      work.push(ev(local(3, 10, i), { type: 'ticket', account: 'cs1', role: 'customer_service', ticket: tk, waybill: wb, status: 'open' }));
      // worked minutes after it opened (a reveal seconds after is ticket churn: ticket-churn's own tests)
      work.push(ev(local(3, 10, i + 6), { type: 'access', ...actor(agent), action: 'reveal', waybill: wb, fields: ['phone'], purpose: 'customer_service', ticket: tk, result: 'allowed' }));
      const wb2 = waybill();
      work.push(ev(local(3, 11, i), { type: 'access', ...actor(agent), action: 'search', waybills: [wb2], fields: [], purpose: 'customer_service', result: 'allowed' }));
      work.push(ev(local(3, 11, i, 20), { type: 'access', ...actor(agent), action: 'reveal', waybill: wb2, fields: ['phone'], purpose: 'customer_service', result: 'allowed' }));
    }
    const quiet = run(sortByTime([...base, ...work]));
    expect(quiet.alerts.filter((a) => a.account === 'cs1')).toEqual([]);

    const late: ActivityEvent[] = [];
    for (let i = 0; i < 10; i++) {
      const wb = waybill();
      late.push(ev(local(3, 12, i), { type: 'ticket', account: 'cs1', role: 'customer_service', ticket: `L${i}`, waybill: wb, status: 'open' }));
      late.push(ev(local(3, 12, i, 10), { type: 'ticket', account: 'cs1', role: 'customer_service', ticket: `L${i}`, waybill: wb, status: 'closed' }));
      late.push(ev(local(3, 13, i), { type: 'access', ...actor(agent), action: 'reveal', waybill: wb, fields: ['phone'], purpose: 'customer_service', result: 'allowed' }));
    }
    const loud = run(sortByTime([...base, ...late]));
    expect(actionable(loud.alerts, 'unexplained', 'cs1')).toHaveLength(1);
  });

  it('counts denied reveals of unknown waybills as attempts', () => {
    const tries: ActivityEvent[] = [];
    for (let i = 0; i < 9; i++) {
      tries.push(ev(local(3, 10, i), { type: 'access', ...actor(team[2]!), action: 'reveal', waybill: waybill(), fields: ['phone'], purpose: 'delivery', result: 'denied' }));
    }
    const { alerts } = run(sortByTime([...base, ...tries]));
    const hit = actionable(alerts, 'unexplained', 'c3')[0];
    expect((hit?.evidence.today as { denied_attempts: number; unknown_waybills: number }) ?? {}).toMatchObject({ denied_attempts: 8, unknown_waybills: 8 });
  });

  it('does not alert on reveals of parcels of the account\'s own site', () => {
    const own: ActivityEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const wb = waybill();
      own.push(ev(local(3, 8, 1), { type: 'waybill', waybill: wb, origin_site: 'OUT-X', dest_site: 'OUT-A', dest_city: '上海' }));
      own.push(ev(local(3, 9, i), { type: 'access', ...actor(team[3]!), action: 'reveal', waybill: wb, fields: ['phone'], purpose: 'returns', result: 'allowed' }));
    }
    const { alerts } = run(sortByTime([...base, ...own]));
    expect(alerts.filter((a) => a.account === 'c4')).toEqual([]);
  });
});

describe('unexplained: parcels not routed yet, and a manager\'s city', () => {
  const clerk = { ...courier(70, 'OUT-A'), account: 's70', role: 'outlet_staff', device: 'pc-70' };
  const range = (stem: string, from: number, to: number): string[] => {
    const out: string[] = [];
    for (let i = from; i <= to; i++) out.push(`${stem}${String(i).padStart(3, '0')}`);
    return out;
  };
  /** Parcels routed earlier in the day: numbers of OUT-A's range and of OUT-B's range. */
  const routed = [
    ...range('WD7000123456', 1, 40).map((wb, i) => ev(local(3, 6, i), { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Q', dest_city: '北京' })),
    ...range('WD7000999999', 1, 40).map((wb, i) => ev(local(3, 6, i, 30), { type: 'waybill', waybill: wb, origin_site: 'OUT-B', dest_site: 'OUT-Q', dest_city: '北京' })),
  ];
  const reveals = (wbs: string[]): ActivityEvent[] =>
    wbs.map((wb, i) => ev(local(3, 8, i * 2), { type: 'access', ...actor(clerk, 'sk'), action: 'reveal', waybill: wb, fields: ['name', 'phone'], purpose: 'pickup', result: 'allowed' }));

  it('counts a counter intake of parcels of the outlet\'s own number range, not routed yet, as own-site work', () => {
    const events = sortByTime([...base, ...history([clerk], 3), ...routed, ...reveals(range('WD7000123456', 41, 60))]);
    expect(actionable(run(events).alerts, undefined, 's70')).toEqual([]);
    // Without the number-range inference they would be unexplained guessed waybills.
    expect(actionable(run(events, { state: { waybill_range_digits: 0 } }).alerts, 'unexplained', 's70').length).toBeGreaterThanOrEqual(1);
  });

  it('still alerts on unrouted numbers of another outlet\'s range (walked in sequence)', () => {
    const { alerts } = run(sortByTime([...base, ...history([clerk], 3), ...routed, ...reveals(range('WD7000999999', 41, 60))]));
    expect(actionable(alerts, 'unexplained', 's70').length).toBeGreaterThanOrEqual(1);
    expect(actionable(alerts, 'enumeration', 's70').length).toBeGreaterThanOrEqual(1);
  });

  it('explains a manager\'s reveals of parcels sent from its city to other cities', () => {
    const mgr = { ...courier(80, 'SC-1'), account: 'm80', role: 'manager', device: 'lt-80' };
    const learnCity = ev(local(0, 5), { type: 'waybill', waybill: 'WD7000555000001', origin_site: 'OUT-Z', dest_site: 'OUT-A', dest_city: mgr.city });
    const learnSc = ev(local(0, 5, 1), { type: 'waybill', waybill: 'WD7000555000002', origin_site: 'OUT-Z', dest_site: 'SC-1', dest_city: mgr.city });
    const out: ActivityEvent[] = [];
    for (let i = 0; i < 15; i++) {
      const wb = waybill();
      out.push(ev(local(3, 9, i), { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Y', dest_city: '成都' }));
      out.push(ev(local(3, 10, i * 3), { type: 'access', ...actor(mgr, 'sm'), action: 'reveal', waybill: wb, fields: ['name', 'phone'], purpose: 'audit', result: 'allowed' }));
    }
    const { alerts } = run(sortByTime([learnCity, learnSc, ...base, ...history([mgr], 3), ...out]));
    expect(actionable(alerts, undefined, 'm80')).toEqual([]);
    // The same reveals by a courier of another site are unexplained.
    const stray = out.map((e) => (e.type === 'access' ? { ...e, id: `${e.id}x`, account: 'c1', role: 'courier', site: 'OUT-A2', device: 'pda-1' } : e));
    const r2 = run(sortByTime([learnCity, ...base, ...(stray as ActivityEvent[])]));
    expect(actionable(r2.alerts, 'unexplained', 'c1').length).toBeGreaterThanOrEqual(1);
  });
});
