/**
 * Attack review 9: search_harvest judged reveals as a share of every search, including those that
 * found nothing, so 40 searches of numbers matching no customer, then 20 search-and-reveals,
 * stayed under `min_share`. Only searches that found something count now; the misses are kept
 * apart and, when they are most of the day's searches, called probing.
 */
import { describe, expect, it } from 'vitest';
import type { ActivityEvent } from '../../contracts/events.js';
import { actionable, actor, ev, local, run, sortByTime, waybill, type Person } from '../test-support/events.js';

const MIN = 60_000;
const NA = ['name', 'address'];
const agent: Person = { account: 'cs3', role: 'customer_service', site: 'CS1', device: 'pc-3', ip: '10.9.0.3', city: '上海' };
const session = 's-cs3';

/** `misses` searches that find nothing (1 min apart from 09:00), then `hits` searches each followed `delaySec` later by a reveal. */
function day(misses: number, hits: number, delaySec: number, opts: { listed?: boolean } = {}): ActivityEvent[] {
  const out: ActivityEvent[] = [ev(local(0, 8, 55), { type: 'login', ...actor(agent, session), result: 'success', mfa: true })];
  for (let i = 0; i < misses; i++) {
    const miss = { type: 'access', ...actor(agent, session), action: 'search', fields: [], purpose: 'customer_service', result: 'allowed' };
    out.push(ev(local(0, 9, i), opts.listed === false ? miss : { ...miss, waybills: [] }));
  }
  for (let i = 0; i < hits; i++) {
    const wb = waybill();
    const t = local(0, 10, 3 * i);
    out.push(ev(t - MIN, { type: 'waybill', waybill: wb, origin_site: 'OUT-A', dest_site: 'OUT-Z', dest_city: '上海' }));
    out.push(ev(t, { type: 'access', ...actor(agent, session), action: 'search', waybills: [wb], fields: [], purpose: 'customer_service', result: 'allowed' }));
    out.push(ev(t + delaySec * 1000, { type: 'access', ...actor(agent, session), action: 'reveal', waybill: wb, fields: NA, purpose: 'customer_service', result: 'allowed' }));
  }
  return sortByTime(out);
}

const alerts = (events: ActivityEvent[]) => actionable(run(events).alerts, 'search_harvest', agent.account);

describe('search_harvest: searches that found nothing do not dilute the shares', () => {
  it('is caught when 40 zero-hit searches pad 20 quick search-and-reveals; the misses are evidence (probing)', () => {
    const hits = alerts(day(40, 20, 30));
    expect(hits.length).toBeGreaterThan(0);
    const e = hits[0]!.evidence;
    expect(e.view).toBe('quick');
    expect(e.searches_today).toBe(10);
    expect(e.searches_zero_hit).toBe(40);
    expect(e.zero_hit_share).toBe(0.8);
    expect(e.probing).toBe(true);
    expect(hits[0]!.summary).toMatch(/40 of its 50 searches found nothing \(probing numbers\)/);
  });

  it('the same reveals without padding alert as before, with no misses in the evidence', () => {
    const hits = alerts(day(0, 20, 30));
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]!.evidence.searches_zero_hit).toBe(0);
    expect(hits[0]!.evidence.probing).toBe(false);
  });

  it('stays silent on an honest day with many misses: each found parcel revealed minutes later', () => {
    expect(alerts(day(40, 40, 300))).toEqual([]);
  });

  it('a search event that does not list its matches (an upstream producer) still counts as a search', () => {
    // 40 unlisted searches dilute the 20 quick reveals as before: nothing says they found nothing.
    expect(alerts(day(40, 20, 30, { listed: false }))).toEqual([]);
  });
});
