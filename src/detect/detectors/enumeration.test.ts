import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

const clerk = { ...courier(1), account: 'k1', role: 'outlet_staff', device: 'pc-k1' };
const base = history([clerk, courier(2)], 3);

describe('enumeration detector', () => {
  it('fires when an account walks near-sequential waybill numbers it has no work for', () => {
    const walk: ActivityEvent[] = [];
    let no = 1_000_070_500_000;
    for (let i = 0; i < 12; i++) {
      no += 1 + (i % 3 === 0 ? 1 : 0);
      walk.push(ev(local(3, 14, i), { type: 'access', ...actor(clerk), action: 'reveal', waybill: `YT${no}`, fields: ['phone'], purpose: 'returns', result: 'allowed' }));
    }
    const { alerts } = run(sortByTime([...base, ...walk]));
    const hit = actionable(alerts, 'enumeration', 'k1')[0];
    expect(hit).toBeDefined();
    expect(hit!.evidence.near_sequential_hits).toBe(5);
    expect(hit!.evidence.range).toMatchObject({ prefix: 'YT' });
    expect(hit!.summary).toMatch(/5 near-sequential waybill numbers/);
  });

  it('does not fire for a merchant batch of consecutive parcels assigned for pickup', () => {
    const c2 = courier(2);
    const batch: ActivityEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const wb = `YT${1_000_080_000_000 + i}`;
      batch.push(ev(local(3, 9, 0), { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Q', dest_city: '北京' }));
      batch.push(ev(local(3, 9, 1), { type: 'assign', account: 'c2', role: 'courier', waybill: wb, task: 'pickup' }));
      batch.push(ev(local(3, 10, i), { type: 'access', ...actor(c2), action: 'reveal', waybill: wb, fields: ['name', 'phone'], purpose: 'pickup', result: 'allowed' }));
    }
    const { alerts } = run(sortByTime([...base, ...batch]));
    expect(alerts.filter((a) => a.account === 'c2')).toEqual([]);
  });

  it('does not count quota refusals of consecutive parcels the courier is assigned (work behind them)', () => {
    const c2 = courier(2);
    const batch: ActivityEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const wb = `YT${1_000_090_000_000 + i}`;
      batch.push(ev(local(3, 9, 0), { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Q', dest_city: '北京' }));
      batch.push(ev(local(3, 9, 1), { type: 'assign', account: 'c2', role: 'courier', waybill: wb, task: 'pickup' }));
      batch.push(ev(local(3, 10, i), { type: 'access', ...actor(c2), action: 'reveal', waybill: wb, fields: ['name', 'phone'], purpose: 'pickup', result: 'denied', reason: 'quota' }));
    }
    const { alerts } = run(sortByTime([...base, ...batch]));
    expect(alerts.filter((a) => a.account === 'c2' && a.detector === 'enumeration')).toEqual([]);
    expect(actionable(alerts, undefined, 'c2')).toEqual([]);
    // the same refusals of numbers with no work behind them are a walk
    const walk = batch.filter((e) => e.type === 'access').map((e) => ({ ...e, id: `${e.id}-x`, account: 'k1', role: 'outlet_staff', device: 'pc-k1' }) as ActivityEvent);
    const r2 = run(sortByTime([...base, ...walk]));
    expect(actionable(r2.alerts, 'enumeration', 'k1').length).toBeGreaterThan(0);
  });

  it('ignores numbers far apart and different carrier prefixes', () => {
    const spread: ActivityEvent[] = [];
    for (let i = 0; i < 12; i++) {
      spread.push(ev(local(3, 14, i), { type: 'access', ...actor(clerk), action: 'view', waybill: `${i % 2 ? 'SF' : 'YT'}${1_000_070_500_000 + i * 1000}`, fields: [], purpose: 'returns', result: 'allowed' }));
    }
    const { alerts } = run(sortByTime([...base, ...spread]));
    expect(alerts.filter((a) => a.detector === 'enumeration')).toEqual([]);
  });
});
