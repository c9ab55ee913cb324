import { describe, expect, it } from 'vitest';
import { actionable, actor, ev, local, run } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

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
});
