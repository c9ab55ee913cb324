import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime, waybill } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

const team = [courier(1, 'OUT-A'), courier(2, 'OUT-B'), courier(3, 'OUT-C'), courier(4, 'OUT-D')];
const base = history(team, 3);

function fromProxy(who: (typeof team)[number], n: number, ip: string, minute0: number, explained = false): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  const p = { ...who, ip };
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    if (explained) out.push(ev(local(3, 13, minute0), { type: 'assign', account: who.account, role: 'courier', waybill: wb, task: 'delivery' }));
    out.push(ev(local(3, 14, minute0 + i), { type: 'access', ...actor(p), action: 'reveal', waybill: wb, fields: ['phone'], purpose: 'delivery', result: 'allowed' }));
  }
  return out;
}

describe('rings detector', () => {
  it('fires when three accounts reveal unexplained records from one network unfamiliar to each', () => {
    const events = [...fromProxy(team[0]!, 4, '198.51.100.10', 0), ...fromProxy(team[1]!, 4, '198.51.100.11', 10), ...fromProxy(team[2]!, 4, '198.51.100.12', 20)];
    const { alerts } = run(sortByTime([...base, ...events]));
    const hits = actionable(alerts, 'rings');
    expect(hits.map((a) => a.account)).toEqual(['c3']);
    expect(hits[0]!.evidence).toMatchObject({ network: '198.51.100.0/24', ring_size: 3 });
  });

  it('does not fire when colleagues share a new office network but their reveals are explained', () => {
    const events = [...fromProxy(team[0]!, 4, '198.51.100.10', 0, true), ...fromProxy(team[1]!, 4, '198.51.100.11', 10, true), ...fromProxy(team[2]!, 4, '198.51.100.12', 20, true)];
    const { alerts } = run(sortByTime([...base, ...events]));
    expect(alerts.filter((a) => a.detector === 'rings')).toEqual([]);
  });
});
