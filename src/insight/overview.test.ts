import { describe, expect, it } from 'vitest';
import { forReader, type OverviewSnapshot } from './overview.js';

const risky = (account: string) => ({ account, role: 'security_analyst', site: null, status: 'active', risk: 60, response: 'throttle', in_force: 'throttle', alerts: 1, last_alert: '2026-12-03T10:00:00.000Z' });
const alert = (id: string, account: string | null, device: string | null) => ({ id, ts: '2026-12-03T10:00:00.000Z', account, device, detector: 'off_hours', severity: 'high', summary: 's', status: 'open' });
const snapshot: OverviewSnapshot = {
  at: '2026-12-03T10:00:00.000Z',
  events_per_second: 0,
  last_hour: {} as OverviewSnapshot['last_hour'],
  alerts_open: { low: 0, medium: 0, high: 3, critical: 0 } as OverviewSnapshot['alerts_open'],
  riskiest: [risky('sa1'), risky('made-by-sa1'), risky('sa2')],
  latest_alerts: [alert('a1', 'sa1', null), alert('a2', null, 'dev-sa1'), alert('a3', 'sa2', 'dev-sa2')],
  trend: [],
  detection: true,
};

describe('the overview as one reader sees it', () => {
  it('denied: leaves out the reader\'s own accounts (and those linked by creation) and devices', () => {
    const mine = forReader(snapshot, { accounts: ['sa1', 'made-by-sa1'], devices: ['dev-sa1'] });
    expect(mine.riskiest.map((r) => r.account)).toEqual(['sa2']);
    expect(mine.latest_alerts.map((a) => a.id)).toEqual(['a3']);
    expect(mine.alerts_open).toEqual(snapshot.alerts_open);
  });

  it('allowed: a reader with no account (the admin token) sees everything', () => {
    expect(forReader(snapshot, { accounts: [], devices: [] })).toBe(snapshot);
  });
});
