/**
 * harvesting — more customer records than the account, and its peers today, would ever need.
 *
 * Three views of records revealed (allowed reveals):
 * - burst (minutes): records in the last `burst_minutes` against the account's own usual busiest
 *   burst and its peers' busiest bursts (today's, or their usual ones);
 * - day: records today against the account's own daily baseline and the peers' median *on the
 *   same day* — a shopping-festival surge lifts the median and does not alert;
 * - slow (days): records over `slow_days` against the account's own days and the peers' totals
 *   over the same days, so low-and-slow adds up but a surge week does not.
 * Peers are the same role, taken at the narrowest scope with at least `min_peers` active members
 * today: the same site, else the same city, else the whole company (an outlet has two clerks, a
 * city has a dozen). With neither an own baseline nor peers, only a doubled floor alerts.
 * If nearly all of the records are explained by assignments, tickets or searches, volume alone
 * stays low (a legitimately busy agent).
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { fromGateway } from './device-posture.js';
import { median, MINUTE, round } from '../util.js';

interface HarvestState {
  day: number;
  today: number;
  todayExplained: number;
  /** EWMA of completed active days. */
  dailyBase: number;
  baseDays: number;
  /** Per-minute buckets for the burst view. */
  buckets: Uint16Array;
  bucketMinute: Float64Array;
  burstMaxToday: number;
  burstBase: number;
  days: number[];
  /** Sum of `days` (completed days of the slow window). */
  past: number;
  ids: string[];
  /** Peer tiers (narrowest first) the account joined today. */
  tiers: PeerState[];
}

/** Accounts of one role in one scope (site, city, company) that revealed records today. */
interface PeerState {
  readonly key: string;
  readonly tier: 'site' | 'city' | 'company';
  day: number;
  members: Map<string, HarvestState>;
  /** Medians over today's active members (cached a few minutes). */
  medianAt: number;
  active: number;
  today: number;
  burst: number;
  slow: number;
  firstToday: number;
  /** EWMA of completed days' median (peers' usual day). */
  baseMedian: number;
  baseDays: number;
}

export const HARVESTING = 'harvesting';

const TIER_LABEL = { site: 'same role, same site', city: 'same role, same city', company: 'same role, company-wide' } as const;

export function createHarvestingDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.harvesting;
  const B = Math.max(1, Math.round(c.burst_minutes));
  const minPeers = env.config.baseline.min_peers;
  /** Peer tiers by key; bounded by roles x (sites + cities + 1). */
  const groups = new Map<string, PeerState>();
  let checks = 0;

  function accountState(ctx: EventContext): HarvestState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as HarvestState | undefined;
    if (!s) {
      s = {
        day: ctx.day,
        today: 0,
        todayExplained: 0,
        dailyBase: 0,
        baseDays: 0,
        buckets: new Uint16Array(B),
        bucketMinute: new Float64Array(B).fill(-1),
        burstMaxToday: 0,
        burstBase: 0,
        days: [],
        past: 0,
        ids: [],
        tiers: [],
      };
      a.slots[env.slot] = s;
    } else if (ctx.day > s.day) {
      s.days.push(s.today);
      for (let d = s.day + 1; d < ctx.day && s.days.length <= c.slow_days; d++) s.days.push(0);
      while (s.days.length >= c.slow_days) s.days.shift();
      s.past = s.days.reduce((x, y) => x + y, 0);
      if (s.today > 0) {
        s.dailyBase = s.baseDays === 0 ? s.today : 0.8 * s.dailyBase + 0.2 * s.today;
        s.burstBase = s.baseDays === 0 ? s.burstMaxToday : Math.max(s.burstMaxToday, 0.9 * s.burstBase);
        s.baseDays++;
      }
      s.day = ctx.day;
      s.today = 0;
      s.todayExplained = 0;
      s.burstMaxToday = 0;
      s.ids = [];
      s.tiers = [];
    }
    return s;
  }

  function group(key: string, tier: PeerState['tier'], ctx: EventContext): PeerState {
    let p = groups.get(key);
    if (!p) {
      p = {
        key,
        tier,
        day: ctx.day,
        members: new Map(),
        medianAt: -Infinity,
        active: 0,
        today: 0,
        burst: 0,
        slow: 0,
        firstToday: ctx.t,
        baseMedian: 0,
        baseDays: 0,
      };
      groups.set(key, p);
    } else if (ctx.day > p.day) {
      if (p.members.size >= minPeers) {
        const m = median([...p.members.values()].map((x) => (x.day === p!.day ? x.today : x.days[x.days.length - 1] ?? 0)));
        p.baseMedian = p.baseDays === 0 ? m : 0.8 * p.baseMedian + 0.2 * m;
        p.baseDays++;
      }
      p.day = ctx.day;
      p.members.clear();
      p.medianAt = -Infinity;
      p.firstToday = ctx.t;
    }
    return p;
  }

  /**
   * The account joins today's peer tiers: its role at its site, in its city, company-wide. Only an
   * account the gateway saw reveal is anyone's peer (attack review 9): another producer's accounts
   * (a legacy system's, which it may invent, with any role and site) are judged against the
   * tiers but never move their medians.
   */
  function join(s: HarvestState, ctx: EventContext): void {
    const a = ctx.account!;
    const role = a.role;
    const home = env.state.homeCity(a);
    s.tiers = [];
    if (a.site !== undefined) s.tiers.push(group(`${role}@${a.site}`, 'site', ctx));
    if (home !== undefined) s.tiers.push(group(`${role}@city:${home}`, 'city', ctx));
    s.tiers.push(group(`${role}@company`, 'company', ctx));
    if (fromGateway(ctx.event)) for (const p of s.tiers) p.members.set(a.id, s);
  }

  /**
   * Medians of today's active members (cached for 5 minutes of event time). The account itself is
   * one of them: with at least `min_peers` others its own count cannot move the median far.
   */
  function peerStats(p: PeerState, t: number): void {
    if (t - p.medianAt < 5 * MINUTE) return;
    const today: number[] = [];
    const burst: number[] = [];
    const slow: number[] = [];
    for (const v of p.members.values()) {
      if (v.day !== p.day) continue;
      today.push(v.today);
      burst.push(Math.max(v.burstMaxToday, v.burstBase));
      slow.push(v.past + v.today);
    }
    p.today = median(today);
    p.burst = median(burst);
    p.slow = median(slow);
    p.active = Math.max(0, today.length - 1);
    p.medianAt = t;
  }

  /** The narrowest tier with enough active peers today, if any. */
  function peersFor(s: HarvestState, t: number): PeerState | undefined {
    for (const p of s.tiers) {
      if (p.members.size - 1 < minPeers) continue;
      peerStats(p, t);
      if (p.active >= minPeers) return p;
    }
    return undefined;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    // Reveals only: exports are judged by privileged_bulk against the account's export history.
    const n = ctx.event.type === 'access' && ctx.event.action === 'reveal' ? ctx.records : 0;
    if (n <= 0) return;
    const a = ctx.account!;
    const s = accountState(ctx);
    const ev = ctx.event;
    const strong = ctx.explanation === 'assignment' || ctx.explanation === 'ticket' || ctx.explanation === 'search';
    if (s.today === 0) join(s, ctx); // first records of the day: join today's peers
    s.today += n;
    if (strong) s.todayExplained += n;
    if (s.ids.length < 10) s.ids.push(ev.id);

    const minute = Math.floor(ctx.t / MINUTE);
    const bi = minute % B;
    if (s.bucketMinute[bi] !== minute) {
      s.bucketMinute[bi] = minute;
      s.buckets[bi] = 0;
    }
    s.buckets[bi] = Math.min(65535, s.buckets[bi]! + n);
    let burst = 0;
    for (let i = 0; i < B; i++) if (minute - s.bucketMinute[i]! < B) burst += s.buckets[i]!;
    if (burst > s.burstMaxToday) s.burstMaxToday = burst;

    const maybeBurst = burst >= c.burst_min_records;
    const maybeDay = s.today >= c.day_min_records;
    const maybeLowDay = s.today >= c.low_day_min_records;
    const slowTotal = s.today + s.past;
    const maybeSlow = slowTotal >= c.slow_min_records;
    if (!maybeBurst && !maybeLowDay && !maybeSlow) return;
    checks++;
    const p = peersFor(s, ctx.t);
    const peersOk = p !== undefined;
    const ownOk = s.baseDays >= 3;
    // With neither an own baseline nor peers there is nothing to compare with but a doubled floor.
    const blind = !ownOk && !peersOk ? 2 : 1;

    let view: 'burst' | 'day' | 'slow' | undefined;
    let observed = 0;
    let threshold = 0;
    const basis: Record<string, unknown> = {};
    if (maybeBurst) {
      // Bursts are compared with bursts: the account's usual busiest burst and its peers' busiest
      // burst today (or usually) — a morning van or a surge makes every peer's burst bigger.
      const own = ownOk ? c.burst_factor * s.burstBase : 0;
      const peer = peersOk ? c.burst_factor * p.burst : 0;
      const thr = Math.max(c.burst_min_records * blind, own, peer);
      if (burst >= thr) {
        view = 'burst';
        observed = burst;
        threshold = thr;
        basis.own_busiest_burst = s.burstBase;
        basis.peer_busiest_burst = peersOk ? round(p.burst, 1) : null;
      }
    }
    if (!view && maybeDay) {
      const own = ownOk ? c.day_factor * s.dailyBase : 0;
      const peer = peersOk ? c.peer_factor * p.today : 0;
      const thr = Math.max(c.day_min_records * blind, own, peer);
      if (s.today >= thr) {
        view = 'day';
        observed = s.today;
        threshold = thr;
      }
    }
    if (!view && peersOk && s.today >= c.low_day_min_records && s.today < c.day_min_records * blind) {
      // Below the day floor (attack review 10, F3: a clerk adding 110 a day to her usual 30): judged
      // against today's peers (and her own usual day), at a higher factor than above the floor.
      const thr = Math.max(c.low_day_min_records, c.low_day_peer_factor * Math.max(p.today, p.baseMedian), ownOk ? c.day_factor * s.dailyBase : 0);
      if (s.today >= thr) {
        view = 'day';
        observed = s.today;
        threshold = thr;
        basis.below_day_floor = true;
      }
    }
    if (!view && maybeSlow && (ownOk || peersOk)) {
      // Over days: against the peers' totals over the same days (a surge week lifts them too).
      const days = s.days.length + 1;
      const peer = peersOk ? c.peer_factor * p.slow : 0;
      const own = ownOk ? c.slow_factor * s.dailyBase * days : 0;
      const thr = Math.max(c.slow_min_records, peer, own);
      if (slowTotal >= thr) {
        view = 'slow';
        observed = slowTotal;
        threshold = thr;
        basis.days = days;
        basis.peer_median_same_days = peersOk ? round(p.slow, 0) : null;
      }
    }
    if (!view) return;
    const ratio = observed / Math.max(1, threshold);
    let score = Math.min(95, 50 + 15 * Math.log2(ratio) * 2);
    const explainedShare = s.todayExplained / Math.max(1, s.today);
    // Volume far above the peers' is not a busy day, however well each record is backed (attack
    // review 10, F1: 345 ticket-backed reveals a day, 15x the peers' median, stayed low).
    // A day is compared with the peers' day so far and their usual day, whichever is larger: at
    // noon a temporary courier who reveals early is ahead of peers who reveal close to delivery.
    const peerRef = p ? (view === 'slow' ? p.slow : view === 'burst' ? p.burst : Math.max(p.today, p.baseMedian)) : 0;
    const ratioVsPeers = p ? observed / Math.max(1, peerRef) : null;
    const farAbovePeers = ratioVsPeers !== null && ratioVsPeers >= c.uncap_peer_factor && observed >= c.uncap_min_records;
    const capped = explainedShare >= c.explained_share_ok && !farAbovePeers;
    if (capped) score = Math.min(score, 35);
    const windowText = view === 'burst' ? `${B} min` : view === 'day' ? 'today' : `${s.days.length + 1} days`;
    const peerText = p ? `peer median today ${round(p.today, 0)} of ${p.active} peers (${TIER_LABEL[p.tier]})` : 'no active peer group today';
    emit({
      account: a.id,
      device: ev.device,
      score,
      ...(capped ? { severity: 'low' as const } : {}),
      subject: view,
      summary:
        `Account ${a.id} (${a.role}) revealed ${observed} records ${windowText}, over its threshold of ${Math.round(threshold)} (own usual day ${round(s.dailyBase, 0)}, ${peerText}` +
        `${ratioVsPeers !== null ? `; ${round(ratioVsPeers, 1)}x the peers' median ${view === 'burst' ? 'busiest burst' : view === 'slow' ? 'total over the same days' : 'day (today so far, or usual if larger)'}` : ''}); ${Math.round(explainedShare * 100)}% explained by work` +
        `${explainedShare >= c.explained_share_ok ? (capped ? ' (volume alone stays low)' : `, but ${c.uncap_peer_factor}x or more the peers' median is not a busy day`) : ''}.`,
      evidence: {
        event_ids: [...s.ids],
        view,
        observed,
        threshold: Math.round(threshold),
        records_today: s.today,
        explained_today: s.todayExplained,
        explained_share: round(explainedShare, 3),
        own_daily_baseline: round(s.dailyBase, 1),
        own_baseline_days: s.baseDays,
        peer_group: p?.key ?? null,
        peer_tier: p?.tier ?? null,
        peer_median_today: p ? round(p.today, 1) : null,
        peers_active_today: p?.active ?? 0,
        peer_usual_median: p ? round(p.baseMedian, 1) : null,
        ratio_vs_peers: ratioVsPeers === null ? null : round(ratioVsPeers, 2),
        capped_as_explained: capped,
        uncommon_among_peers: p ? observed > c.peer_factor * Math.max(1, view === 'slow' ? p.slow : view === 'burst' ? p.burst : p.today) : null,
        baseline_window_days: env.config.baseline.window_days,
        ...basis,
        ...(ev.device !== undefined ? { device: ev.device } : {}),
      },
    });
  }

  return { name: HARVESTING, scope: 'global', types: ['access'], onEvent, stats: () => ({ checks }) };
}
