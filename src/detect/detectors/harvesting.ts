/**
 * harvesting — more customer records than the account, and its peers today, would ever need.
 *
 * Three views of records revealed (allowed reveals and exports):
 * - burst (minutes): records in the last `burst_minutes` against the account's own usual busiest
 *   burst and the peer group's current rate;
 * - day: records today against the account's own daily baseline and the peer-group (same role,
 *   same site) median *on the same day* — a shopping-festival surge lifts the median and does not
 *   alert;
 * - slow (days): records over `slow_days` against the peers' usual day, so low-and-slow adds up.
 * If nearly all of the records are explained by assignments, tickets or searches, volume alone
 * stays low (a legitimately busy agent).
 */
import type { Detector, DetectorEnv, EventContext, Emit, PeerGroup } from '../types.js';
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
  ids: string[];
}

interface PeerState {
  day: number;
  /** Members active today -> their account state (its `today` is read for the median). */
  counts: Map<string, HarvestState>;
  median: number;
  medianAt: number;
  active: number;
  firstToday: number;
  baseMedian: number;
  baseDays: number;
}

export const HARVESTING = 'harvesting';

export function createHarvestingDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.harvesting;
  const B = Math.max(1, Math.round(c.burst_minutes));
  const minPeers = env.config.baseline.min_peers;
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
        ids: [],
      };
      a.slots[env.slot] = s;
    } else if (ctx.day > s.day) {
      s.days.push(s.today);
      for (let d = s.day + 1; d < ctx.day && s.days.length <= c.slow_days; d++) s.days.push(0);
      while (s.days.length >= c.slow_days) s.days.shift();
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
    }
    return s;
  }

  function peerState(g: PeerGroup, ctx: EventContext): PeerState {
    let p = g.slots[env.slot] as PeerState | undefined;
    if (!p) {
      p = { day: ctx.day, counts: new Map(), median: 0, medianAt: -Infinity, active: 0, firstToday: ctx.t, baseMedian: 0, baseDays: 0 };
      g.slots[env.slot] = p;
    } else if (ctx.day > p.day) {
      const m = median([...p.counts.values()].map((x) => (x.day === p!.day ? x.today : x.days[x.days.length - 1] ?? 0)));
      if (p.counts.size >= minPeers) {
        p.baseMedian = p.baseDays === 0 ? m : 0.8 * p.baseMedian + 0.2 * m;
        p.baseDays++;
      }
      p.day = ctx.day;
      p.counts.clear();
      p.medianAt = -Infinity;
      p.firstToday = ctx.t;
    }
    return p;
  }

  /** Median of the other active members' counts today (cached for 5 minutes of event time). */
  function peerMedian(p: PeerState, self: string, t: number): void {
    if (t - p.medianAt < 5 * MINUTE) return;
    const vals: number[] = [];
    for (const [k, v] of p.counts) if (k !== self && v.day === p.day) vals.push(v.today);
    p.median = median(vals);
    p.active = vals.length;
    p.medianAt = t;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    // Reveals only: exports are judged by privileged_bulk against the account's export history.
    const n = ctx.event.type === 'access' && ctx.event.action === 'reveal' ? ctx.records : 0;
    if (n <= 0) return;
    const a = ctx.account!;
    const s = accountState(ctx);
    const g = ctx.peers;
    const p = g ? peerState(g, ctx) : undefined;
    const ev = ctx.event;
    const strong = ctx.explanation === 'assignment' || ctx.explanation === 'ticket' || ctx.explanation === 'search';
    s.today += n;
    if (strong) s.todayExplained += n;
    if (s.ids.length < 10) s.ids.push(ev.id);
    if (p && s.today === n) p.counts.set(a.id, s); // first records of the day: join today's peers

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
    const slowTotal = s.today + s.days.reduce((x, y) => x + y, 0);
    const maybeSlow = slowTotal >= c.slow_min_records;
    if (!maybeBurst && !maybeDay && !maybeSlow) return;
    checks++;
    if (p) peerMedian(p, a.id, ctx.t);
    const peersOk = p !== undefined && p.active >= minPeers;
    const ownOk = s.baseDays >= 3;

    let view: 'burst' | 'day' | 'slow' | undefined;
    let observed = 0;
    let threshold = 0;
    const basis: Record<string, unknown> = {};
    if (maybeBurst) {
      const own = ownOk ? c.burst_factor * s.burstBase : 0;
      const elapsedMin = p ? Math.max(60, (ctx.t - p.firstToday) / MINUTE) : 60;
      const peerRate = peersOk ? (p.median / elapsedMin) * B : 0;
      const thr = Math.max(c.burst_min_records, own, c.burst_factor * peerRate);
      if (burst >= thr) {
        view = 'burst';
        observed = burst;
        threshold = thr;
        basis.own_busiest_burst = s.burstBase;
        basis.peer_rate_per_window = round(peerRate, 1);
      }
    }
    if (!view && maybeDay) {
      const own = ownOk ? c.day_factor * s.dailyBase : 0;
      const peer = peersOk ? c.peer_factor * p.median : 0;
      const thr = Math.max(c.day_min_records, own, peer);
      // Without peers and without an own baseline there is nothing to compare with but the floor.
      const need = ownOk || peersOk ? thr : Math.max(thr, 2 * c.day_min_records);
      if (s.today >= need) {
        view = 'day';
        observed = s.today;
        threshold = need;
      }
    }
    if (!view && maybeSlow && p && p.baseDays >= 1) {
      const days = s.days.length + 1;
      const peer = c.peer_factor * p.baseMedian * days;
      const own = ownOk ? c.slow_factor * s.dailyBase * days : 0;
      const thr = Math.max(c.slow_min_records, peer, own);
      if (slowTotal >= thr) {
        view = 'slow';
        observed = slowTotal;
        threshold = thr;
        basis.days = days;
      }
    }
    if (!view) return;
    const ratio = observed / Math.max(1, threshold);
    let score = Math.min(95, 50 + 15 * Math.log2(ratio) * 2);
    const explainedShare = s.todayExplained / Math.max(1, s.today);
    const capped = explainedShare >= c.explained_share_ok;
    if (capped) score = Math.min(score, 35);
    const windowText = view === 'burst' ? `${B} min` : view === 'day' ? 'today' : `${s.days.length + 1} days`;
    emit({
      account: a.id,
      device: ev.device,
      score,
      ...(capped ? { severity: 'low' as const } : {}),
      subject: view,
      summary: `Account ${a.id} (${a.role}) revealed ${observed} records ${windowText}, over its threshold of ${Math.round(threshold)} (own usual day ${round(s.dailyBase, 0)}, peer median today ${p ? round(p.median, 0) : 'n/a'} of ${p?.active ?? 0} peers); ${Math.round(explainedShare * 100)}% explained by work.`,
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
        peer_group: g?.key ?? null,
        peer_median_today: p ? round(p.median, 1) : null,
        peers_active_today: p?.active ?? 0,
        peer_usual_median: p ? round(p.baseMedian, 1) : null,
        uncommon_among_peers: peersOk ? observed > c.peer_factor * Math.max(1, p.median) : null,
        baseline_window_days: env.config.baseline.window_days,
        ...basis,
        ...(ev.device !== undefined ? { device: ev.device } : {}),
      },
    });
  }

  return { name: HARVESTING, scope: 'global', types: ['access'], onEvent, stats: () => ({ checks }) };
}
