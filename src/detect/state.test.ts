import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../contracts/events.js';
import { buildCityTable } from './cities.js';
import { resolveConfig } from './config.js';
import { ProfileStore, pruneSearches } from './state.js';
import { DAY, MINUTE } from './util.js';

const login = (account: string, role = 'courier', site = 'OUT-A'): ActivityEvent =>
  ({ id: 'x', ts: '2026-11-02T00:00:00.000Z', type: 'login', account, role, site, result: 'success' }) as ActivityEvent;

function store(over: Record<string, unknown> = {}): ProfileStore {
  return new ProfileStore(resolveConfig(over), buildCityTable(), 3);
}

describe('ProfileStore', () => {
  it('creates an account once, follows its role and site, and leaves them alone for work given to it', () => {
    const s = store();
    const a = s.getAccount('c1', login('c1'), 1000);
    expect(s.getAccount('c1', login('c1'), 2000)).toBe(a);
    expect(a).toMatchObject({ role: 'courier', site: 'OUT-A', firstSeen: 1000, slots: [undefined, undefined, undefined] });
    const g = s.getPeers(a, 1000);
    expect(a.group).toBe(g);
    s.getAccount('c1', { ...login('c1'), type: 'assign', role: 'manager' } as ActivityEvent, 3000);
    expect(a.role).toBe('courier');
    s.getAccount('c1', login('c1', 'courier', 'OUT-B'), 4000);
    expect(a.site).toBe('OUT-B');
    expect(a.group).toBeUndefined(); // a new peer group is looked up next time
    expect(s.getPeers(a, 4000).key).toBe('courier|OUT-B');
  });

  it('evicts the oldest 1 % at a hard cap, counts it and moves the generation', () => {
    const s = store({ state: { max_devices: 200 } });
    for (let i = 0; i < 200; i++) s.getDevice(`d${i}`, i);
    const gen = s.generation;
    expect(s.evicted.devices).toBeUndefined();
    s.getDevice('new', 500);
    expect(s.devices.size).toBe(199);
    expect(s.devices.has('d0') || s.devices.has('d1')).toBe(false);
    expect(s.devices.has('d2')).toBe(true);
    expect(s.evicted.devices).toBe(2);
    expect(s.generation).toBeGreaterThan(gen);
  });

  it('expires profiles unseen for the profile TTL and keeps the rest; a deep sweep prunes old Seen entries', () => {
    const s = store({ state: { profile_ttl_days: 2 }, baseline: { window_days: 1 } });
    const old = s.getAccount('old', login('old'), 0);
    const live = s.getAccount('live', login('live'), 0);
    s.getPeers(old, 0);
    s.getPeers(live, 0).lastSeen = 2.5 * DAY;
    live.lastSeen = 2.5 * DAY;
    live.devices.set('pda-old', { first: 0, last: 0, n: 1 });
    live.devices.set('pda-new', { first: 2 * DAY, last: 2 * DAY, n: 1 });
    s.getDevice('d', 0);
    s.sweep(3 * DAY, false);
    expect([...s.accounts.keys()]).toEqual(['live']);
    expect(s.devices.size).toBe(0);
    expect(live.devices.size).toBe(2);
    s.sweep(3 * DAY, true);
    expect([...live.devices.keys()]).toEqual(['pda-new']);
    expect(s.peers.get('courier|OUT-A')!.members.has('old')).toBe(false);
  });

  it('finds an account\'s home city from its site, else where it was seen most, and distances between cities', () => {
    const s = store();
    const a = s.getAccount('m1', login('m1', 'manager', 'HQ'), 0);
    a.cities.set('杭州', { first: 0, last: 0, n: 1 });
    a.cities.set('南京', { first: 0, last: 0, n: 5 });
    expect(s.homeCity(a)).toBe('南京');
    s.siteCity.set('HQ', '上海');
    expect(s.homeCity(a)).toBe('上海');
    expect(s.distanceKm('上海', '上海')).toBe(0);
    expect(s.distanceKm('上海', '北京')).toBeGreaterThan(1000);
    expect(s.distanceKm('上海', 'Atlantis')).toBeNaN();
    expect(s.netKey('10.1.2.3')).toBe(s.netKey('10.1.2.200'));
  });

  it('prunes searches older than their TTL', () => {
    const s = store();
    const a = s.getAccount('cs1', login('cs1', 'customer_service'), 0);
    a.searches = new Map([['w1', 0], ['w2', 10 * MINUTE]]);
    pruneSearches(a, 12 * MINUTE, 5 * MINUTE);
    expect([...a.searches!.keys()]).toEqual(['w2']);
    pruneSearches(a, 30 * MINUTE, 5 * MINUTE);
    expect(a.searches).toBeUndefined();
  });
});
