/**
 * Abuse the access policy lets through (issue 9): every reveal has a reason the policy accepts,
 * so these detectors judge *how* an account uses its reasons against what its peers do.
 *
 * A parcel counts when it is worth harvesting: the fields revealed of it include one of the
 * detector's `harvest_fields` sets (any two of name, phone and address for a courier; the address,
 * or name and phone, after a phone search) — not only all three (attack review 6: name + address
 * evaded). The fields add up over the reveals of the parcel within the detector's window (the
 * early window after the assignment; the grant after the search), and a phone search counts the
 * phone as known, so the parcel counts once, when its fields first cover a set (attack review 8:
 * name then address in two requests, or a search by phone then the name alone, evaded).
 *
 * - work_harvest: the share of an account's assigned parcels it reveals (worth harvesting) within
 *   `early_minutes` of the assignment — long before the parcel can need it — against the same
 *   share of its peers (same role at the same site, else city, else company, else the role prior
 *   when too few peers have a full day on record).
 * - search_harvest: two views of reveals of what a search returned (the reveal the search
 *   "explains"). Quick: followed within `quick_seconds`, as a share of the account's searches,
 *   against its peers' share. Grant: followed at any time the search grant backs
 *   (`grant_minutes`, the policy's phone_search window): honest agents reveal most of what they
 *   search, so the count a day is judged against the peers' daily count (attack review 6: waiting
 *   a few minutes evaded the quick view). Ticket-backed reveals never count. Only searches that
 *   found something count as searches (attack review 9: 40 searches of numbers that match no
 *   customer diluted both shares below `min_share`); the ones that found nothing are kept apart,
 *   and a day where they are at least `min_records` and half of all searches (probing "is this a
 *   customer?") says so in the alert, with a higher score.
 * - trickle: per-account evidence that accumulates across days — a one-sided CUSUM on the daily
 *   count of records revealed with no work behind them, against the role's honest rate plus an
 *   allowance, decaying by `decay` a day. It does not reset at midnight.
 *
 * Every alert says against whom it compared (tier and group size, or "role prior"), the ratio,
 * the share of work-backed reveals that were needed (timed near the work) and the days of evidence.
 */
import { PII_FIELDS, type ActivityEvent } from '../../contracts/events.js';
import type { AccountProfile, Detector, DetectorEnv, Emit, EventContext } from '../types.js';
import { dayLabel, MINUTE, round } from '../util.js';
import { fromGateway } from './device-posture.js';

export const WORK_HARVEST = 'work_harvest';
export const SEARCH_HARVEST = 'search_harvest';
export const TRICKLE = 'trickle';

/** Fields as bits (bit i is PII_FIELDS[i]): what has been revealed of a parcel so far, in one number. */
export function fieldMask(fields: readonly string[] | undefined): number {
  let m = 0;
  if (fields) for (const f of fields) {
    const i = (PII_FIELDS as readonly string[]).indexOf(f);
    if (i >= 0) m |= 1 << i;
  }
  return m;
}

const PHONE = fieldMask(['phone']);

/** True when the known fields (a `fieldMask`) include every field of at least one of `sets`. */
export function coversHarvest(sets: readonly (readonly string[])[]): (known: number) => boolean {
  const masks = sets.filter((set) => set.length > 0).map(fieldMask);
  return (known) => masks.some((m) => (known & m) === m);
}

/** True when the reveal's fields include every field of at least one of `sets`. */
export function worthHarvesting(sets: readonly (readonly string[])[]): (ev: ActivityEvent) => boolean {
  const covers = coversHarvest(sets);
  return (ev) => ev.type === 'access' && ev.fields !== undefined && covers(fieldMask(ev.fields));
}

/** "name and phone, or address" — the sets as the alerts name them. */
export function fieldsText(sets: readonly (readonly string[])[]): string {
  return sets.map((set) => set.join(' and ')).join(', or ');
}

// ------------------------------------------------------------------ peer tiers

export interface PeerVerdict {
  /** The peers' median share, or the role prior. */
  median: number;
  /** 'site' | 'city' | 'company' | 'role_prior' */
  tier: string;
  /** Distinct peer accounts behind the median (0 for the prior). */
  peers: number;
  /** Peer account-days behind the median. */
  days: number;
}

/**
 * Recent closed account-days of a per-day share, kept per tier (role at site, role in city, role
 * company-wide) in rings of `RING` samples. The median of the narrowest tier that has at least
 * `minPeers` other accounts decides; otherwise the role prior — and the alert says which.
 */
export class PeerShares {
  private static readonly RING = 96;
  private readonly rings = new Map<string, { acc: string[]; val: number[]; next: number }>();
  constructor(private readonly minPeers: number) {}

  static keys(role: string, site: string | undefined, city: string | undefined): [string, string, string] {
    return [`${role}|s:${site ?? '?'}`, `${role}|c:${city ?? '?'}`, `${role}|*`];
  }

  add(keys: readonly string[], account: string, value: number): void {
    for (const k of keys) {
      let r = this.rings.get(k);
      if (!r) {
        r = { acc: [], val: [], next: 0 };
        this.rings.set(k, r);
      }
      if (r.acc.length < PeerShares.RING) {
        r.acc.push(account);
        r.val.push(value);
      } else {
        r.acc[r.next] = account;
        r.val[r.next] = value;
        r.next = (r.next + 1) % PeerShares.RING;
      }
    }
  }

  verdict(keys: readonly string[], self: string, prior: number): PeerVerdict {
    const tiers = ['site', 'city', 'company'];
    for (let i = 0; i < keys.length; i++) {
      const r = this.rings.get(keys[i]!);
      if (!r) continue;
      const vals: number[] = [];
      const who = new Set<string>();
      for (let j = 0; j < r.acc.length; j++) {
        if (r.acc[j] === self) continue;
        who.add(r.acc[j]!);
        vals.push(r.val[j]!);
      }
      if (who.size < this.minPeers) continue;
      vals.sort((a, b) => a - b);
      return { median: vals[vals.length >> 1]!, tier: tiers[i]!, peers: who.size, days: vals.length };
    }
    return { median: prior, tier: 'role_prior', peers: 0, days: 0 };
  }

  get size(): number {
    return this.rings.size;
  }
}

export function peerKeys(env: DetectorEnv, a: AccountProfile): [string, string, string] {
  const city = a.site !== undefined ? env.state.siteCity.get(a.site) : undefined;
  return PeerShares.keys(a.role, a.site, city ?? env.state.homeCity(a));
}

/** Days (local day numbers) on which the account showed the pattern, most recent last, at most 14. */
function noteDay(days: number[], day: number): number {
  if (days[days.length - 1] !== day) days.push(day);
  while (days.length > 14 || (days.length > 0 && days[0]! < day - 13)) days.shift();
  return days.length;
}

function peerText(p: PeerVerdict): string {
  return p.tier === 'role_prior'
    ? 'the role prior (too few peers with a full day on record)'
    : `the median of ${p.peers} peers (same role, ${p.tier === 'company' ? 'company-wide' : `same ${p.tier}`})`;
}

// ------------------------------------------------------------------ work_harvest

interface WorkState {
  day: number;
  assigned: number;
  /** assigned parcels whose reveals became worth harvesting today, and those within early_minutes of the assignment */
  full: number;
  early: number;
  ids: string[];
  /** waybill -> assignment time (until revealed worth harvesting, or a day old) */
  assignedAt: Map<string, number>;
  /** waybill (of assignedAt) -> fields revealed within early_minutes of the assignment, short of a harvest set */
  partial: Map<string, number>;
  evidenceDays: number[];
  /** Revealed through another producer than the gateway: never anyone's peer (attack review 9). */
  foreign?: boolean;
}

export function createWorkHarvestDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.work_harvest;
  const earlyMs = c.early_minutes * MINUTE;
  const covers = coversHarvest(c.harvest_fields);
  const book = new PeerShares(c.min_peers);
  let alerts = 0;

  function stateOf(ctx: EventContext): WorkState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as WorkState | undefined;
    if (!s) {
      s = { day: ctx.day, assigned: 0, full: 0, early: 0, ids: [], assignedAt: new Map(), partial: new Map(), evidenceDays: [] };
      a.slots[env.slot] = s;
    }
    if (ctx.day > s.day) {
      if (s.assigned >= c.min_day_assignments && !s.foreign) book.add(peerKeys(env, a), a.id, s.early / s.assigned);
      s.day = ctx.day;
      s.assigned = s.full = s.early = 0;
      s.ids = [];
      for (const [wb, at] of s.assignedAt) if (ctx.t - at > 24 * 60 * MINUTE) s.assignedAt.delete(wb);
      for (const wb of s.partial.keys()) if (!s.assignedAt.has(wb)) s.partial.delete(wb);
    }
    return s;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type === 'assign') {
      const s = stateOf(ctx);
      s.assigned++;
      if (s.assignedAt.size < c.max_open_assignments) {
        s.assignedAt.set(ev.waybill, ctx.t);
        s.partial.delete(ev.waybill);
      }
      return;
    }
    if (ev.type !== 'access' || ev.action !== 'reveal' || ctx.records === 0 || ctx.explanation !== 'assignment') return;
    const mask = fieldMask(ev.fields);
    if (mask === 0) return;
    const s = stateOf(ctx);
    if (!fromGateway(ev)) s.foreign = true;
    if (!completes(s, ev.waybill!, mask, ctx.t)) return;
    s.early++;
    if (s.ids.length < 20) s.ids.push(ev.id);
    if (s.early < c.min_records) return;
    const a = ctx.account!;
    const share = s.early / Math.max(s.assigned, s.early);
    if (share < c.min_share) return;
    const peers = book.verdict(peerKeys(env, a), a.id, c.prior_share);
    const ratio = share / Math.max(peers.median, c.floor_share);
    if (ratio < c.peer_factor) return;
    const days = noteDay(s.evidenceDays, ctx.day);
    alerts++;
    const needed = (s.full - s.early) / s.full;
    emit({
      account: a.id,
      device: ev.device,
      score: Math.min(95, 50 + (s.early - c.min_records) + 10 * (days - 1)),
      subject: 'work_harvest',
      summary:
        `Account ${a.id} (${a.role}) revealed ${fieldsText(c.harvest_fields)} of ${s.early} of its ${s.assigned} assigned parcels today within ${c.early_minutes} min of the assignment ` +
        `(${round(share * 100, 0)} %, ${round(ratio, 1)}x ${peerText(peers)}); ${round(needed * 100, 0)} % of those reveals came close to the work; ${days} day(s) of evidence.`,
      evidence: {
        event_ids: s.ids.slice(-10),
        records_early: s.early,
        assigned_today: s.assigned,
        share_early: round(share, 3),
        peer_median_share: round(peers.median, 3),
        ratio_vs_peers: round(ratio, 2),
        peer_tier: peers.tier,
        peer_group_size: peers.peers,
        peer_account_days: peers.days,
        needed_share: round(needed, 3),
        early_minutes: c.early_minutes,
        days_of_evidence: days,
      },
    });
  }

  /**
   * Adds a reveal's fields to what the early window has shown of the parcel; true when this reveal
   * is the first within the window to make them cover a harvest set (the parcel counts as early).
   */
  function completes(s: WorkState, wb: string, mask: number, t: number): boolean {
    const at = s.assignedAt.get(wb);
    const early = at !== undefined && t >= at && t - at <= earlyMs;
    const known = mask | (s.partial.get(wb) ?? 0);
    if (!covers(known)) {
      if (early) s.partial.set(wb, known);
      return false;
    }
    s.full++;
    if (at === undefined) return false;
    s.assignedAt.delete(wb);
    s.partial.delete(wb);
    return early;
  }

  return { name: WORK_HARVEST, scope: 'global', types: ['assign', 'access'], onEvent, stats: () => ({ alerts, peer_tiers: book.size }) };
}

// ------------------------------------------------------------------ search_harvest

interface SearchState {
  day: number;
  /** searches today that found something (the search event lists its matched waybills) */
  searches: number;
  /** searches today that found nothing (an empty `waybills`): "is this a customer?" probes */
  misses: number;
  /** searched waybills whose reveals became worth harvesting (once per search) within quick_seconds, and within the grant */
  quick: number;
  granted: number;
  reveals: number;
  ticketBacked: number;
  ids: string[];
  /** waybill -> its latest search (time), the fields known of it since (the phone, and what was revealed within the grant) and whether it counted */
  open: Map<string, OpenSearch>;
  evidenceDays: number[];
  /** Searched or revealed through another producer than the gateway: never anyone's peer (attack review 9). */
  foreign?: boolean;
}

interface OpenSearch {
  at: number;
  known: number;
  counted: boolean;
}

type SearchView = 'quick' | 'grant';

export function createSearchHarvestDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.search_harvest;
  const quickMs = c.quick_seconds * 1000;
  const grantMs = c.grant_minutes * MINUTE;
  const covers = coversHarvest(c.harvest_fields);
  /** Searched waybills remembered per account: the cap at which the engine prunes an account's searches. */
  const maxOpen = 4 * env.config.state.search_max_results;
  /** closed days' quick share, and closed days' count of reveals within the grant */
  const book = new PeerShares(c.min_peers);
  const counts = new PeerShares(c.min_peers);
  let alerts = 0;

  function stateOf(ctx: EventContext): SearchState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as SearchState | undefined;
    if (!s) {
      s = { day: ctx.day, searches: 0, misses: 0, quick: 0, granted: 0, reveals: 0, ticketBacked: 0, ids: [], open: new Map(), evidenceDays: [] };
      a.slots[env.slot] = s;
    }
    if (ctx.day > s.day) {
      if (s.searches >= c.min_day_searches && !s.foreign) {
        const keys = peerKeys(env, a);
        book.add(keys, a.id, s.quick / s.searches);
        counts.add(keys, a.id, s.granted);
      }
      s.day = ctx.day;
      s.searches = s.misses = s.quick = s.granted = s.reveals = s.ticketBacked = 0;
      s.ids = [];
      pruneOpen(s, ctx.t, Infinity);
    }
    if (!fromGateway(ctx.event)) s.foreign = true;
    return s;
  }

  /** Drops searches past the grant, oldest-inserted first (a re-search re-inserts); at `max`, the oldest live ones too. */
  function pruneOpen(s: SearchState, t: number, max: number): void {
    for (const [wb, o] of s.open) {
      if (t - o.at <= grantMs) break;
      s.open.delete(wb);
    }
    for (const wb of s.open.keys()) {
      if (s.open.size < max) break;
      s.open.delete(wb);
    }
  }

  /**
   * Adds a reveal's fields to what is known of the waybill since its search (the phone searched
   * for, and the reveals within the grant); true when this reveal is the first to make them cover
   * a harvest set (the waybill counts once per search).
   */
  function completes(s: SearchState, wb: string, at: number, mask: number, t: number): boolean {
    let o = s.open.get(wb);
    if (o === undefined || o.at !== at) {
      s.open.delete(wb);
      pruneOpen(s, t, maxOpen);
      o = { at, known: PHONE, counted: false };
      s.open.set(wb, o);
    }
    if (o.counted) return false;
    o.known |= mask;
    if (!covers(o.known)) return false;
    o.counted = true;
    return true;
  }

  /** The view that alerts, if any: quick share against the peers' share, else the count within the grant against theirs. */
  function judge(s: SearchState, a: AccountProfile, quick: boolean): { view: SearchView; share: number; peers: PeerVerdict; ratio: number } | undefined {
    const keys = peerKeys(env, a);
    if (quick && s.quick >= c.min_records) {
      const share = s.quick / Math.max(s.searches, s.quick);
      const peers = book.verdict(keys, a.id, c.prior_share);
      const ratio = share / Math.max(peers.median, c.floor_share);
      if (share >= c.min_share && ratio >= c.peer_factor) return { view: 'quick', share, peers, ratio };
    }
    if (s.granted < c.grant_min_records) return undefined;
    const share = s.granted / Math.max(s.searches, s.granted);
    const peers = counts.verdict(keys, a.id, c.grant_prior_records);
    const ratio = s.granted / Math.max(peers.median, 1);
    if (share >= c.min_share && ratio >= c.grant_peer_factor) return { view: 'grant', share, peers, ratio };
    return undefined;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'access' || ctx.denied) return;
    if (ev.action === 'search') {
      // A search known to have found nothing backs no reveal: it must not dilute the shares.
      const s = stateOf(ctx);
      if (ev.waybills !== undefined && ev.waybills.length === 0) s.misses++;
      else s.searches++;
      return;
    }
    if (ev.action !== 'reveal' || ctx.records === 0) return;
    const s = stateOf(ctx);
    s.reveals++;
    if (ctx.explanation === 'ticket') s.ticketBacked++;
    if (ctx.explanation !== 'search') return;
    const mask = fieldMask(ev.fields);
    const a = ctx.account!;
    const at = a.searches?.get(ev.waybill!);
    if (mask === 0 || at === undefined || ctx.t < at || ctx.t - at > grantMs) return;
    if (!completes(s, ev.waybill!, at, mask, ctx.t)) return;
    const quick = ctx.t - at <= quickMs;
    s.granted++;
    if (quick) s.quick++;
    if (s.ids.length < 20) s.ids.push(ev.id);
    const v = judge(s, a, quick);
    if (!v) return;
    const days = noteDay(s.evidenceDays, ctx.day);
    alerts++;
    const ticketShare = s.ticketBacked / s.reveals;
    const n = v.view === 'quick' ? s.quick : s.granted;
    const min = v.view === 'quick' ? c.min_records : c.grant_min_records;
    const all = s.searches + s.misses;
    const probing = s.misses >= c.min_records && 2 * s.misses >= all;
    const within = v.view === 'quick' ? `${c.quick_seconds} s` : `${c.grant_minutes} min (the search grant)`;
    const against = v.view === 'quick' ? `${round(v.share * 100, 0)} %, ${round(v.ratio, 1)}x ${peerText(v.peers)}` : `${round(v.share * 100, 0)} %; ${round(v.ratio, 1)}x the daily count of ${peerText(v.peers)}`;
    emit({
      account: a.id,
      device: ev.device,
      score: Math.min(95, 50 + (n - min) + 10 * (days - 1) + (probing ? 10 : 0)),
      subject: 'search_harvest',
      summary:
        `Account ${a.id} (${a.role}) followed ${n} of its ${s.searches} searches that found something today with a reveal of ${fieldsText(c.harvest_fields)} within ${within} ` +
        `(${against}); ${round(ticketShare * 100, 0)} % of its reveals today cite a ticket; ` +
        (s.misses ? `${s.misses} of its ${all} searches found nothing${probing ? ' (probing numbers)' : ''}; ` : '') +
        `${days} day(s) of evidence.`,
      evidence: {
        event_ids: s.ids.slice(-10),
        view: v.view,
        records_quick: s.quick,
        records_in_grant: s.granted,
        searches_today: s.searches,
        searches_zero_hit: s.misses,
        zero_hit_share: round(s.misses / Math.max(1, all), 3),
        probing,
        share_quick: round(s.quick / Math.max(s.searches, s.quick), 3),
        share_in_grant: round(s.granted / Math.max(s.searches, s.granted), 3),
        ...(v.view === 'quick' ? { peer_median_share: round(v.peers.median, 3) } : { peer_median_count: round(v.peers.median, 1) }),
        ratio_vs_peers: round(v.ratio, 2),
        peer_tier: v.peers.tier,
        peer_group_size: v.peers.peers,
        peer_account_days: v.peers.days,
        needed_share: round(ticketShare, 3),
        ticket_backed_share: round(ticketShare, 3),
        quick_seconds: c.quick_seconds,
        grant_minutes: c.grant_minutes,
        days_of_evidence: days,
      },
    });
  }

  return { name: SEARCH_HARVEST, scope: 'global', types: ['access'], onEvent, stats: () => ({ alerts, peer_tiers: book.size }) };
}

// ------------------------------------------------------------------ trickle

interface TrickleState {
  day: number;
  /** CUSUM carried from closed days */
  s: number;
  /** distinct unexplained records today */
  today: Set<string>;
  ids: string[];
  /** closed days that added evidence (count above the allowance) since the CUSUM was last 0 */
  evidenceDays: number;
  firstEvidenceDay: number;
}

export function createTrickleDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.trickle;
  /**
   * role -> its members' recent closed account-days (unexplained records each, winsorised), and
   * the honest rate derived from them: the mean of the lower three quarters, so that a few
   * thieves in a small role (a tiny company has five agents) do not raise the bar for themselves.
   */
  const roles = new Map<string, { counts: number[]; next: number; days: number; rate: number; rateDay: number }>();
  const RING = 512;
  let alerts = 0;

  const roleRate = (role: string, day: number): { rate: number; prior: boolean; days: number } => {
    const r = roles.get(role);
    if (!r || r.days < c.min_role_days) return { rate: c.prior_rate, prior: true, days: r?.days ?? 0 };
    if (r.rateDay !== day) {
      const sorted = [...r.counts].sort((a, b) => a - b);
      const keep = Math.max(1, Math.ceil(sorted.length * 0.75));
      let sum = 0;
      for (let i = 0; i < keep; i++) sum += sorted[i]!;
      r.rate = sum / keep;
      r.rateDay = day;
    }
    return { rate: r.rate, prior: false, days: r.days };
  };

  function stateOf(ctx: EventContext): TrickleState {
    const a = ctx.account!;
    let s = a.slots[env.slot] as TrickleState | undefined;
    if (!s) {
      s = { day: ctx.day, s: 0, today: new Set(), ids: [], evidenceDays: 0, firstEvidenceDay: -1 };
      a.slots[env.slot] = s;
    }
    if (ctx.day > s.day) {
      const x = s.today.size;
      let r = roles.get(a.role);
      if (!r) roles.set(a.role, (r = { counts: [], next: 0, days: 0, rate: 0, rateDay: -1 }));
      r.days++;
      if (r.counts.length < RING) r.counts.push(Math.min(x, c.winsorise));
      else {
        r.counts[r.next] = Math.min(x, c.winsorise);
        r.next = (r.next + 1) % RING;
      }
      const allowance = roleRate(a.role, s.day).rate + c.allowance;
      const next = Math.max(0, s.s * c.decay + x - allowance);
      if (x > allowance) {
        if (s.evidenceDays === 0) s.firstEvidenceDay = s.day;
        s.evidenceDays++;
      }
      s.s = next * Math.pow(c.decay, ctx.day - s.day - 1);
      if (s.s === 0) s.evidenceDays = 0;
      s.day = ctx.day;
      s.today.clear();
    }
    return s;
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    if (ev.type !== 'access') return;
    const s = stateOf(ctx); // every active account-day counts towards its role's honest rate
    // A counter role's weak own-site backing (a parcel not at its counter) counts as none (attack review 10, F3),
    // except a parcel that was at its counter long ago: honest clerks answer a few such questions a day, so
    // `unexplained`'s window judges those (attack review 11).
    if (ctx.records === 0 || (ctx.explanation !== 'none' && (!ctx.weakSite || ctx.pastSite)) || ev.waybill === undefined) return;
    if (s.today.has(ev.waybill)) return;
    s.today.add(ev.waybill);
    if (s.ids.length >= 20) s.ids.shift();
    s.ids.push(ev.id);
    const z = s.s + s.today.size;
    const days = s.evidenceDays + 1;
    if (z < c.threshold || s.evidenceDays < c.min_days - 1) return;
    const a = ctx.account!;
    const rate = roleRate(a.role, ctx.day);
    alerts++;
    emit({
      account: a.id,
      device: ev.device,
      score: Math.min(90, 50 + 2 * (z - c.threshold) + 5 * (days - c.min_days)),
      subject: 'trickle',
      summary:
        `Account ${a.id} (${a.role}) has revealed records with no work behind them on ${days} day(s) running: evidence ${round(z, 1)} against ` +
        `${round(rate.rate, 2)} a day that ${rate.prior ? 'the role prior allows (too few role account-days on record)' : `the role's honest members show (lower three quarters of ${Math.min(rate.days, RING)} recent account-days)`} ` +
        `plus ${c.allowance}; ${s.today.size} today, each under the daily thresholds.`,
      evidence: {
        event_ids: s.ids.slice(-10),
        cusum: round(z, 2),
        threshold: c.threshold,
        records_today: s.today.size,
        role_rate_per_day: round(rate.rate, 3),
        peer_tier: rate.prior ? 'role_prior' : 'role',
        peer_account_days: rate.days,
        ratio_vs_peers: round(s.today.size / Math.max(rate.rate, 0.1), 1),
        needed_share: 0,
        days_of_evidence: days,
        evidence_since: s.firstEvidenceDay >= 0 ? dayLabel(s.firstEvidenceDay) : dayLabel(ctx.day),
        decay_per_day: c.decay,
      },
    });
  }

  return { name: TRICKLE, scope: 'global', types: ['access'], onEvent, stats: () => ({ alerts, roles: roles.size }) };
}
