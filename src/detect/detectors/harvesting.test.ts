import { describe, expect, it } from 'vitest';
import { actionable, actor, courier, ev, history, local, run, sortByTime, waybill, workDay } from '../test-support/events.js';
import type { ActivityEvent } from '../../contracts/events.js';

const team = [1, 2, 3, 4, 5].map((n) => courier(n));
const base = history(team, 4, 60);

/** Reveals of parcels of the courier's own site (weakly explained), evenly over the day. */
function siteReveals(who: (typeof team)[number], n: number, day: number, fromHour = 9, hours = 9): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (let i = 0; i < n; i++) {
    const wb = waybill();
    const t = local(day, fromHour) + Math.floor((i * hours * 3_600_000) / n);
    out.push(ev(t - 60_000, { type: 'waybill', waybill: wb, origin_site: 'OUT-X', dest_site: who.site, dest_city: who.city }));
    out.push(ev(t, { type: 'access', ...actor(who), action: 'reveal', waybill: wb, fields: ['name', 'phone'], purpose: 'delivery', result: 'allowed' }));
  }
  return out;
}

describe('harvesting detector', () => {
  it('fires on a day far above the account\'s own baseline and its peers on the same day', () => {
    const day4 = [...workDay(team[1]!, 4, 60), ...workDay(team[2]!, 4, 60), ...workDay(team[3]!, 4, 60), ...workDay(team[4]!, 4, 60)];
    const { alerts } = run(sortByTime([...base, ...day4, ...siteReveals(team[0]!, 400, 4)]));
    const hit = actionable(alerts, 'harvesting', 'c1')[0];
    expect(hit).toBeDefined();
    expect(hit!.evidence.view).toBe('day');
    expect(hit!.evidence.peer_median_today as number).toBeLessThan(60);
    expect(hit!.evidence.uncommon_among_peers).toBe(true);
  });

  it('stays quiet on a surge day when every peer triples', () => {
    const surge = team.map((p) => workDay(p, 4, 200)).flat();
    const { alerts } = run(sortByTime([...base, ...surge]));
    expect(actionable(alerts, 'harvesting')).toEqual([]);
  });

  it('caps volume alone at low when nearly every record is explained by assignments (busy agent, 3x the peers)', () => {
    const busy = workDay(team[0]!, 4, 180);
    const day4 = [...busy, ...workDay(team[1]!, 4, 60), ...workDay(team[2]!, 4, 60), ...workDay(team[3]!, 4, 60)];
    const { alerts } = run(sortByTime([...base, ...day4]));
    const c1 = alerts.filter((a) => a.detector === 'harvesting' && a.account === 'c1');
    expect(c1.length).toBeGreaterThan(0);
    expect(actionable(alerts, 'harvesting', 'c1')).toEqual([]);
    expect(c1.every((a) => a.severity === 'low' && a.evidence.capped_as_explained === true)).toBe(true);
  });

  // Attack review 10 (F1): explained volume far above the peers' is not a busy day.
  it('does not cap it at low at 8x the peers\' median, every record explained', () => {
    const busy = workDay(team[0]!, 4, 480);
    const day4 = [...busy, ...workDay(team[1]!, 4, 60), ...workDay(team[2]!, 4, 60), ...workDay(team[3]!, 4, 60)];
    const { alerts } = run(sortByTime([...base, ...day4]));
    const hit = actionable(alerts, 'harvesting', 'c1')[0];
    expect(hit).toBeDefined();
    expect(hit!.evidence.capped_as_explained).toBe(false);
    expect(hit!.evidence.ratio_vs_peers as number).toBeGreaterThanOrEqual(4);
  });

  it('fires on a burst of reveals within minutes', () => {
    const burst = siteReveals(team[0]!, 80, 4, 10, 0.15);
    const peers = [...workDay(team[1]!, 4, 60), ...workDay(team[2]!, 4, 60), ...workDay(team[3]!, 4, 60)];
    const { alerts } = run(sortByTime([...base, ...peers, ...burst]));
    const hit = actionable(alerts, 'harvesting', 'c1')[0];
    expect(hit?.evidence.view).toBe('burst');
  });
});

describe('harvesting: peers beyond a small outlet', () => {
  // Two clerks per outlet: too few for a same-site peer group; the city's clerks are the peers.
  const clerks = ['OUT-A', 'OUT-B', 'OUT-C'].flatMap((site, i) =>
    [1, 2].map((k) => ({ ...courier(100 + i * 10 + k, site), account: `s${i}${k}`, role: 'outlet_staff', device: `pc-${i}${k}` })),
  );
  const usual = [0, 1, 2, 3].flatMap((d) => clerks.flatMap((p) => siteReveals(p, 60, d, 8, 10)));

  it('stays quiet on a surge day when every clerk in the city more than triples, though each is far above its own baseline', () => {
    const surge = clerks.flatMap((p) => siteReveals(p, 200, 4, 8, 10));
    const { alerts } = run(sortByTime([...usual, ...surge]));
    expect(actionable(alerts, 'harvesting')).toEqual([]);
  });

  it('fires when one clerk reveals several times what the city\'s clerks do that day', () => {
    const day4 = clerks.flatMap((p, i) => siteReveals(p, i === 0 ? 400 : 60, 4, 8, 10));
    const { alerts } = run(sortByTime([...usual, ...day4]));
    const hits = actionable(alerts, 'harvesting');
    expect(hits.map((a) => a.account)).toEqual(expect.arrayContaining(['s01']));
    expect(hits.every((a) => a.account === 's01')).toBe(true);
    expect(hits[0]!.evidence.peer_tier).toBe('city');
    expect(hits[0]!.evidence.uncommon_among_peers).toBe(true);
  });

  it('does not alert on a new clerk\'s first busy morning when its peers are as busy', () => {
    const hire = { ...courier(190, 'OUT-A'), account: 'sn1', role: 'outlet_staff', device: 'pc-new' };
    // morning van: every clerk, and the new one, reveals 45 parcels within 10 minutes
    const morning = [...clerks, hire].flatMap((p) => siteReveals(p, 45, 4, 7, 0.15));
    const { alerts } = run(sortByTime([...usual, ...morning]));
    expect(actionable(alerts, 'harvesting')).toEqual([]);
  });
});

// Attack review 9: another producer (a legacy system's token) may invent accounts of any role and
// site; their reveals must not lift the peers' median that an honest account is judged against.
describe('harvesting: peers are the gateway\'s accounts', () => {
  const fakes = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ ...courier(300 + n), account: `LG-${n}`, device: `lg-pda-${n}` }));
  const day4 = [...workDay(team[1]!, 4, 60), ...workDay(team[2]!, 4, 60), ...workDay(team[3]!, 4, 60), ...workDay(team[4]!, 4, 60)];
  const stamped = (events: ActivityEvent[], producer: string) => events.map((e) => (e.type === 'access' ? { ...e, producer } : e));

  it('denied: eight made-up accounts revealing 420 each from a legacy producer do not hide c1\'s 400', () => {
    const noise = stamped(fakes.flatMap((p) => siteReveals(p, 420, 4)), 'token:legacy');
    const { alerts } = run(sortByTime([...base, ...day4, ...noise, ...siteReveals(team[0]!, 400, 4)]));
    const hit = actionable(alerts, 'harvesting', 'c1')[0];
    expect(hit).toBeDefined();
    expect(hit!.evidence.peer_median_today as number).toBeLessThan(60);
  });

  it('allowed: the same busy day seen by the gateway itself is the peers\' day (c1 is not uncommon)', () => {
    const busy = stamped(fakes.flatMap((p) => siteReveals(p, 420, 4)), 'warden');
    const { alerts } = run(sortByTime([...base, ...day4, ...busy, ...siteReveals(team[0]!, 400, 4)]));
    const c1 = alerts.filter((a) => a.detector === 'harvesting' && a.account === 'c1');
    expect(c1.every((a) => a.evidence.uncommon_among_peers !== true)).toBe(true);
  });
});
