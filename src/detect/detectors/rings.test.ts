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

// Attack review 9: a legacy system's token (login/logout/access for its own `LG-` accounts) made
// up two accounts on a courier's network; the courier's three ordinary refused reveals then put
// him in a high `rings` alert (LG-x1, LG-x2, c2) and throttled him.
describe('rings counts the gateway\'s own reveals only', () => {
  const IP = '198.51.100.9';
  function reveal(account: string, role: string, minute: number, producer: string, result: 'allowed' | 'denied' = 'allowed'): ActivityEvent {
    return ev(local(3, 15, minute), { type: 'access', account, role, site: 'OUT-B', device: `dev-${account}`, ip: IP, city: '上海', action: 'reveal', waybill: waybill(), fields: ['phone'], purpose: 'delivery', result, producer });
  }
  const honest = (producer = 'warden') => [0, 1, 2].map((i) => reveal('c2', 'courier', 20 + i, producer, 'denied'));

  it('denied: six reveals another producer sent for made-up accounts never make an honest courier a ring member', () => {
    const forged = [0, 1, 2, 3, 4, 5].map((i) => reveal(i % 2 ? 'LG-x2' : 'LG-x1', 'courier', i, 'token:legacy'));
    const { alerts } = run(sortByTime([...base, ...forged, ...honest()]));
    expect(alerts.filter((a) => a.detector === 'rings')).toEqual([]);
  });

  it('allowed: the same reveals seen by the gateway itself (or without provenance) still make a ring', () => {
    const seen = [0, 1, 2, 3, 4, 5].map((i) => reveal(i % 2 ? 'c4' : 'c3', 'courier', i, 'warden'));
    const { alerts } = run(sortByTime([...base, ...seen, ...honest()]));
    const hits = actionable(alerts, 'rings');
    expect(hits.map((a) => a.account)).toEqual(['c2']);
    expect(hits[0]!.evidence).toMatchObject({ network: '198.51.100.0/24', ring_size: 3 });
  });
});
