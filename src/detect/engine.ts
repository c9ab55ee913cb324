/**
 * The streaming detection engine: pure, synchronous, deterministic, driven by event time only.
 *
 * Invariants:
 * - Output depends only on the sequence of events given to process() (and on exceptions and
 *   feedback applied between calls); never on the wall clock. A replay of a file therefore gives
 *   exactly the alerts the live engine gave, byte for byte.
 * - Events are processed in (event time, arrival order) through a reorder buffer that holds
 *   `time.reorder_window_seconds` of disorder; an event older than what was already processed is
 *   still processed immediately and counted as late. Nothing is dropped.
 * - Every per-key map expires by event time and has a hard cap; evictions are counted in stats().
 * - Alerts are never capped: repeated signals are folded into the open alert (dedup) and counted.
 */
import type { AccessEvent, ActivityEvent, Alert, EventType, LoginEvent, Severity, TicketEvent } from '../contracts/events.js';
import { buildCityTable } from './cities.js';
import { isResolvedConfig, resolveConfig, type DetectConfig } from './config.js';
import { ExceptionSet, type DetectionException } from './exceptions.js';
import { FutureHold } from './future.js';
import { RISK_WEIGHT, RiskBook, responseFor, severityFor, type ResponseAction } from './risk.js';
import type {
  AccountProfile,
  Detector,
  DetectorFactory,
  DeviceProfile,
  EngineStateView,
  EventContext,
  ExceptionKind,
  Explanation,
  NetworkProfile,
  PeerGroup,
  Seen,
  SignalInput,
  SiteProfile,
} from './types.js';
import { ALL_DETECTORS } from './detectors/index.js';
import { cityKey, DAY, haversineKm, HOUR, localClock, MINUTE, networkOf, parseTs, SEVERITY_RANK, stableId } from './util.js';

export interface AlertOut extends Alert {
  /** Incident that groups this account's (or device's) related alerts. */
  incident: string;
  /** Subject risk (0–100) right after this alert. */
  risk: number;
  /** What responseFor(risk) says the gateway should do now. */
  response: ResponseAction;
  /** Id of the event that raised the alert. */
  event_id: string;
}

export interface AlertVerdict {
  alert: Pick<Alert, 'id' | 'account' | 'device' | 'detector' | 'evidence' | 'score' | 'severity'>;
  verdict: 'true_positive' | 'false_positive';
  note?: string;
}

export interface EngineStats {
  events: number;
  byType: Record<string, number>;
  late: number;
  reordered: number;
  /** Events more than `time.max_future_minutes` ahead of the engine's clock: held aside (never moving it), and dropped past the cap. */
  future_held: number;
  future_waiting: number;
  future_dropped: number;
  buffered: number;
  maxBuffered: number;
  alerts: number;
  alertsByDetector: Record<string, number>;
  alertsBySeverity: Record<Severity, number>;
  /** Signals folded into an already-open alert (same detector and subject, no severity rise). */
  suppressed: number;
  suppressedByDetector: Record<string, number>;
  /** Signals dropped because an analyst exception covers the account. */
  excepted: number;
  /** Entries evicted because a map hit its hard cap (before their time-based expiry). */
  evicted: Record<string, number>;
  state: Record<string, number>;
  watermark: string | null;
  detectors: Record<string, Record<string, number>>;
}

export interface DetectionEngine {
  readonly config: DetectConfig;
  /** Feeds one contract event; returns the alerts it (or events it released from the reorder buffer) raised. */
  process(event: ActivityEvent): AlertOut[];
  /** Releases every buffered event (end of a replay, or a live engine told time has moved on). */
  flush(): AlertOut[];
  /** Releases buffered events at or before `t - reorder window` (live: call with the current time). */
  advanceTo(t: number): AlertOut[];
  /** Current risk (0–100) of an account and the response it calls for. */
  riskOf(account: string, at?: number): { risk: number; response: ResponseAction };
  riskOfDevice(device: string, at?: number): { risk: number; response: ResponseAction };
  addException(e: DetectionException): void;
  removeException(e: Pick<DetectionException, 'kind' | 'value' | 'account'>): boolean;
  listExceptions(activeOnly?: boolean): DetectionException[];
  feedback(v: AlertVerdict): void;
  stats(): EngineStats;
  /** Names of the detectors that are enabled, and whether each is partition-safe by account. */
  detectors(): Array<{ name: string; scope: 'account' | 'global' }>;
}

export interface EngineOptions {
  /** Detector factories (default: all built-in). */
  detectors?: readonly DetectorFactory[];
}

/**
 * The partition key of an event: its account. Waybill routing and scans have no account and must
 * be broadcast to every partition (returns undefined).
 */
export function partition(event: ActivityEvent): string | undefined {
  return event.type === 'waybill' || event.type === 'scan' ? undefined : event.account;
}

interface WorkLink {
  account: string;
  kind: 'assignment' | 'ticket';
  until: number;
  ticket: string | undefined;
}
/**
 * What the engine knows about a waybill. Its work links (assignment/ticket) are a set, unique by
 * (account, kind, ticket), order without meaning: the first is stored inline (most waybills get
 * one assignment and nothing else; no array and link object per waybill to allocate, keep and
 * chase), any further ones in `more`.
 */
interface WaybillCtx {
  origin: string | undefined;
  dest: string | undefined;
  city: string | undefined;
  touched: number;
  /** When the entry was (re)inserted; map order is by `born`, and touched <= born + 1 day. */
  born: number;
  /** A work link was ever added (even if every link has expired and been dropped since). */
  linked: boolean;
  /** Inline link: its account (undefined = slot empty), kind, until and ticket. */
  a0: string | undefined;
  k0: WorkLink['kind'];
  u0: number;
  t0: string | undefined;
  more: WorkLink[] | undefined;
}
interface TicketCtx {
  account: string;
  waybill: string | undefined;
  until: number;
}
interface DedupMemo {
  rank: number;
  at: number;
}
interface Incident {
  id: string;
  last: number;
}

const isLogin = (e: ActivityEvent): e is LoginEvent => e.type === 'login';

export function createDetectionEngine(
  config: DetectConfig | Record<string, unknown> = {},
  options: EngineOptions = {},
): DetectionEngine {
  const cfg: DetectConfig = isResolvedConfig(config) ? config : resolveConfig(config);
  const clock = localClock(cfg.time.utc_offset_hours);
  const cities = buildCityTable(cfg.cities);
  const windowMs = cfg.time.reorder_window_seconds * 1000;
  const st = cfg.state;
  const profileTtl = st.profile_ttl_days * DAY;
  const waybillTtl = st.waybill_ttl_days * DAY;
  const baselineWindow = cfg.baseline.window_days * DAY;
  const sweepEvery = st.sweep_interval_minutes * MINUTE;
  const searchTtl = st.search_ttl_minutes * MINUTE;

  // ---- state ------------------------------------------------------------------------------
  const accounts = new Map<string, AccountProfile>();
  const devices = new Map<string, DeviceProfile>();
  const networks = new Map<string, NetworkProfile>();
  const peers = new Map<string, PeerGroup>();
  const sites = new Map<string, SiteProfile>();
  const cityAccounts = new Map<string, number>();
  const siteCity = new Map<string, string>();
  const waybills = new Map<string, WaybillCtx>();
  const tickets = new Map<string, TicketCtx>();
  /** Waybill number range (all but the last `waybill_range_digits` digits) -> origin site; '' = mixed. */
  const rangeOrigin = new Map<string, string>();
  const rangeDigits = Math.floor(cfg.state.waybill_range_digits);
  const dedup = new Map<string, DedupMemo>();
  const incidents = new Map<string, Incident>();
  const risk = new RiskBook(cfg);
  const exceptions = new ExceptionSet(networkOf);
  const evicted: Record<string, number> = {};
  /** Moves whenever a profile or Seen entry may have been deleted: invalidates accounts' lookup memos. */
  let generation = 0;
  // Small memo tables for hot string transforms (bounded; cleared when full).
  const netMemo = new Map<string, string>();
  const cityMemo = new Map<string, string>();
  const netKey = (ip: string): string => {
    let k = netMemo.get(ip);
    if (k === undefined) {
      if (netMemo.size >= 100_000) netMemo.clear();
      k = networkOf(ip);
      netMemo.set(ip, k);
    }
    return k;
  };
  const cityOf = (city: string): string => {
    let k = cityMemo.get(city);
    if (k === undefined) {
      if (cityMemo.size >= 10_000) cityMemo.clear();
      k = cityKey(city);
      cityMemo.set(city, k);
    }
    return k;
  };

  const distanceKm = (a: string | undefined, b: string | undefined): number => {
    if (a === undefined || b === undefined) return NaN;
    if (a === b) return 0;
    const pa = cities.get(a);
    const pb = cities.get(b);
    return pa && pb ? haversineKm(pa, pb) : NaN;
  };
  const homeCity = (a: AccountProfile): string | undefined => {
    if (a.site !== undefined) {
      const c = siteCity.get(a.site);
      if (c !== undefined) return c;
    }
    let best: string | undefined;
    let bestN = 0;
    for (const [c, s] of a.cities) if (s.n > bestN) ((best = c), (bestN = s.n));
    return best;
  };
  const view: EngineStateView = { accounts, devices, networks, peers, cityAccounts, siteCity, homeCity, distanceKm };
  const isExcepted = (kind: ExceptionKind, value: string, account: string | undefined, t: number): boolean =>
    exceptions.has(kind, value, account, t);

  // ---- detectors --------------------------------------------------------------------------
  const factories = options.detectors ?? ALL_DETECTORS;
  const detectors: Detector[] = [];
  factories.forEach((f) => {
    const d = f({ config: cfg, clock, cities, slot: detectors.length, state: view, isExcepted });
    const enabled = (cfg.detectors as Record<string, { enabled?: boolean }>)[d.name]?.enabled;
    if (enabled !== false) detectors.push(d);
  });
  const forType = (ty: EventType): Detector[] => detectors.filter((d) => d.types.includes(ty));
  const onLogin = forType('login');
  const onLogout = forType('logout');
  const onAccess = forType('access');
  const onOther = { waybill: forType('waybill'), assign: forType('assign'), ticket: forType('ticket'), scan: forType('scan') };
  const slotCount = factories.length;

  // ---- stats ------------------------------------------------------------------------------
  const typeCounts: Record<EventType, number> = { login: 0, logout: 0, waybill: 0, assign: 0, ticket: 0, scan: 0, access: 0 };
  const stats = {
    events: 0,
    late: 0,
    reordered: 0,
    future_held: 0,
    future_waiting: 0,
    future_dropped: 0,
    maxBuffered: 0,
    alerts: 0,
    alertsByDetector: {} as Record<string, number>,
    alertsBySeverity: { low: 0, medium: 0, high: 0, critical: 0 } as Record<Severity, number>,
    suppressed: 0,
    suppressedByDetector: {} as Record<string, number>,
    excepted: 0,
  };

  // ---- reorder buffer (sorted by time; in-order arrivals append in O(1)) -------------------
  // A ring of capacity `ringMask + 1` (a power of two, doubled when full): `ringN` events from
  // `ringHead`, sorted by (time, arrival). No allocation per event.
  let ringMask = 1023;
  let ringEv: Array<ActivityEvent | undefined> = new Array<ActivityEvent | undefined>(ringMask + 1).fill(undefined);
  let ringT = new Float64Array(ringMask + 1);
  let ringHead = 0;
  let ringN = 0;
  let maxT = -Infinity;
  let lastProcessedT = -Infinity;
  /** Events further than `max_future_minutes` ahead of the engine's clock: held, never moving it. */
  const future = new FutureHold(cfg.time.max_future_events);
  const futureMs = cfg.time.max_future_minutes * MINUTE;
  let nextSweep = -Infinity;
  // Most events raise nothing: hand back one shared frozen empty array instead of allocating.
  const NONE: AlertOut[] = Object.freeze([]) as unknown as AlertOut[];
  let out: AlertOut[] = NONE;

  const ctx: EventContext = {
    event: undefined as unknown as ActivityEvent,
    t: 0,
    day: 0,
    hour: 0,
    account: undefined,
    device: undefined,
    network: undefined,
    peers: undefined,
    site: undefined,
    mature: false,
    deviceSeen: undefined,
    networkSeen: undefined,
    citySeen: undefined,
    novelDevice: false,
    novelNetwork: false,
    novelCity: false,
    cityKey: undefined,
    explanation: undefined,
    records: 0,
    denied: false,
    parcelKm: NaN,
    parcelCity: undefined,
    unknownWaybill: false,
  };

  let currentDetector = '';
  const emit = (sig: SignalInput): void => raise(currentDetector, sig);

  function growRing(): void {
    const cap = (ringMask + 1) * 2;
    const ev = new Array<ActivityEvent | undefined>(cap).fill(undefined);
    const ts = new Float64Array(cap);
    for (let i = 0; i < ringN; i++) {
      const j = (ringHead + i) & ringMask;
      ev[i] = ringEv[j];
      ts[i] = ringT[j]!;
    }
    ringEv = ev;
    ringT = ts;
    ringHead = 0;
    ringMask = cap - 1;
  }

  function insert(ev: ActivityEvent, t: number): void {
    if (ringN > ringMask) growRing();
    const mask = ringMask;
    if (ringN === 0 || t >= ringT[(ringHead + ringN - 1) & mask]!) {
      const j = (ringHead + ringN) & mask;
      ringEv[j] = ev;
      ringT[j] = t;
    } else {
      // Out of order: binary search the first buffered time > t (stable for equal times), then
      // shift the later ones up by one.
      let lo = 0;
      let hi = ringN;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ringT[(ringHead + mid) & mask]! <= t) lo = mid + 1;
        else hi = mid;
      }
      for (let i = ringN; i > lo; i--) {
        const to = (ringHead + i) & mask;
        const from = (ringHead + i - 1) & mask;
        ringEv[to] = ringEv[from];
        ringT[to] = ringT[from]!;
      }
      const j = (ringHead + lo) & mask;
      ringEv[j] = ev;
      ringT[j] = t;
      stats.reordered++;
    }
    ringN++;
    if (ringN > stats.maxBuffered) stats.maxBuffered = ringN;
  }

  function release(upTo: number): void {
    while (ringN > 0 && ringT[ringHead]! <= upTo) {
      const ev = ringEv[ringHead]!;
      const t = ringT[ringHead]!;
      ringEv[ringHead] = undefined;
      ringHead = (ringHead + 1) & ringMask;
      ringN--;
      handle(ev, t);
    }
  }

  function process(event: ActivityEvent): AlertOut[] {
    out = NONE;
    const t = parseTs(event.ts);
    if (Number.isNaN(t)) throw new Error(`event ${String(event.id)} has an invalid ts; validate events before process()`);
    stats.events++;
    // Older than the watermark: beyond the tolerated disorder. Counted, and still processed.
    if (t < maxT - windowMs) stats.late++;
    if (t < lastProcessedT) {
      // Older than what we already processed: process now rather than drop it.
      handle(event, t);
      return out;
    }
    if (maxT !== -Infinity && t > maxT + futureMs) {
      future.add(event, t);
      // Many events agreeing on a later time: the stream really moved on (after a quiet spell or
      // an outage). The clock moves to the median held time, never to a lone outlier.
      if (future.size < cfg.time.future_confirm_events) return out;
      maxT = future.medianTime();
      future.takeUpTo(maxT + futureMs, insert);
      release(maxT - windowMs);
      return out;
    }
    insert(event, t);
    if (t > maxT) {
      maxT = t;
      if (future.size > 0) future.takeUpTo(maxT + futureMs, insert);
    }
    release(maxT - windowMs);
    return out;
  }

  function flush(): AlertOut[] {
    out = NONE;
    // The held far-future events, in their own time, after everything else.
    future.takeUpTo(Infinity, insert);
    release(Infinity);
    return out;
  }

  function advanceTo(t: number): AlertOut[] {
    out = NONE;
    if (t > maxT) maxT = t;
    if (future.size > 0) future.takeUpTo(maxT + futureMs, insert);
    release(maxT - windowMs);
    return out;
  }

  // ---- per-event handling -----------------------------------------------------------------
  function handle(ev: ActivityEvent, t: number): void {
    if (t >= nextSweep) {
      sweep(t);
      nextSweep = t + sweepEvery;
    }
    if (t > lastProcessedT) lastProcessedT = t;

    // Count the type, pick its detectors, and apply work context first: an assignment or search
    // explains the reveals that follow it.
    let list: Detector[];
    switch (ev.type) {
      case 'access':
        typeCounts.access++;
        list = onAccess;
        break;
      case 'scan':
        typeCounts.scan++;
        list = onOther.scan;
        if (ev.op === 'delivered' || ev.op === 'pickup') onDelivered(ev.waybill, t);
        break;
      case 'waybill':
        typeCounts.waybill++;
        list = onOther.waybill;
        onWaybill(ev.waybill, ev.origin_site, ev.dest_site, ev.dest_city, t);
        break;
      case 'assign':
        typeCounts.assign++;
        list = onOther.assign;
        link(ev.waybill, ev.account, 'assignment', t + st.assignment_ttl_hours * HOUR, undefined, t);
        break;
      case 'ticket':
        typeCounts.ticket++;
        list = onOther.ticket;
        onTicket(ev, t);
        break;
      case 'login':
        typeCounts.login++;
        list = onLogin;
        break;
      case 'logout':
        typeCounts.logout++;
        list = onLogout;
        break;
      default: {
        // Not a contract type (process() takes validated events only): as before, the type is
        // counted and there is no detector list for it.
        const ty = (ev as { type: string }).type;
        (typeCounts as Record<string, number>)[ty]!++;
        list = (onOther as Record<string, Detector[]>)[ty]!;
      }
    }

    prepare(ev, t);
    if (ev.type === 'access') classify(ev, t);

    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      currentDetector = d.name;
      d.onEvent(ctx, emit);
    }
    learn(ev, t);
  }

  function onWaybill(wb: string, origin: string | undefined, dest: string | undefined, city: string | undefined, t: number): void {
    let w = waybills.get(wb);
    if (!w) {
      capMap(waybills, st.max_waybills, 'waybills');
      w = newWaybill(origin, dest, city === undefined ? undefined : cityOf(city), t);
      waybills.set(wb, w);
    } else {
      if (origin !== undefined) w.origin = origin;
      if (dest !== undefined) w.dest = dest;
      if (city !== undefined) w.city = cityOf(city);
      touchWaybill(wb, w, t);
    }
    if (dest !== undefined && city !== undefined && !siteCity.has(dest)) siteCity.set(dest, cityOf(city));
    if (origin !== undefined && rangeDigits > 0 && wb.length > rangeDigits) {
      const r = wb.slice(0, wb.length - rangeDigits);
      const o = rangeOrigin.get(r);
      if (o === undefined) {
        capMap(rangeOrigin, Math.max(1, Math.floor(st.max_waybills / 10)), 'waybill_ranges');
        rangeOrigin.set(r, origin);
      } else if (o !== origin && o !== '') rangeOrigin.set(r, '');
    }
  }

  function waybillCtx(wb: string, t: number): WaybillCtx {
    let w = waybills.get(wb);
    if (!w) {
      capMap(waybills, st.max_waybills, 'waybills');
      w = newWaybill(undefined, undefined, undefined, t);
      waybills.set(wb, w);
    } else touchWaybill(wb, w, t);
    return w;
  }

  /** Keeps the map roughly ordered by last touch so expiry can stop at the first live entry. */
  function touchWaybill(wb: string, w: WaybillCtx, t: number): void {
    if (t <= w.touched) return;
    w.touched = t;
    if (t - w.born > DAY) {
      waybills.delete(wb);
      w.born = t;
      waybills.set(wb, w);
    }
  }

  function newWaybill(origin: string | undefined, dest: string | undefined, city: string | undefined, t: number): WaybillCtx {
    return { origin, dest, city, touched: t, born: t, linked: false, a0: undefined, k0: 'assignment', u0: -Infinity, t0: undefined, more: undefined };
  }

  function link(wb: string, account: string, kind: WorkLink['kind'], until: number, ticket: string | undefined, t: number): void {
    const w = waybillCtx(wb, t);
    w.linked = true;
    if (w.a0 === account && w.k0 === kind && w.t0 === ticket) {
      if (until > w.u0) w.u0 = until;
      return;
    }
    let more = w.more;
    if (more !== undefined) {
      for (const l of more) {
        if (l.account === account && l.kind === kind && l.ticket === ticket) {
          if (until > l.until) l.until = until;
          return;
        }
      }
    }
    // Drop links that have expired so a long-lived waybill does not accumulate them.
    if ((w.a0 !== undefined ? 1 : 0) + (more === undefined ? 0 : more.length) >= 4) {
      if (w.a0 !== undefined && w.u0 < t) ((w.a0 = undefined), (w.t0 = undefined));
      if (more !== undefined) for (let i = more.length - 1; i >= 0; i--) if (more[i]!.until < t) more.splice(i, 1);
    }
    if (w.a0 === undefined) {
      w.a0 = account;
      w.k0 = kind;
      w.u0 = until;
      w.t0 = ticket;
    } else (more ??= w.more = []).push({ account, kind, until, ticket });
  }

  function onTicket(ev: TicketEvent, t: number): void {
    if (ev.status === 'open') {
      const until = t + st.ticket_ttl_days * DAY;
      tickets.set(ev.ticket, { account: ev.account, waybill: ev.waybill, until });
      if (ev.waybill) link(ev.waybill, ev.account, 'ticket', until, ev.ticket, t);
    } else {
      const open = tickets.get(ev.ticket);
      tickets.delete(ev.ticket);
      const wb = ev.waybill ?? open?.waybill;
      const w = wb === undefined ? undefined : waybills.get(wb);
      if (w !== undefined) {
        if (w.a0 !== undefined && w.k0 === 'ticket' && w.t0 === ev.ticket) w.u0 = t;
        if (w.more !== undefined) for (const l of w.more) if (l.kind === 'ticket' && l.ticket === ev.ticket) l.until = t;
      }
    }
  }

  function onDelivered(wb: string, t: number): void {
    const w = waybills.get(wb);
    if (w === undefined) return;
    const cap = t + st.after_delivery_hours * HOUR;
    if (w.a0 !== undefined && w.k0 === 'assignment' && w.u0 > cap) w.u0 = cap;
    if (w.more !== undefined) for (const l of w.more) if (l.kind === 'assignment' && l.until > cap) l.until = cap;
  }

  function prepare(ev: ActivityEvent, t: number): void {
    ctx.event = ev;
    ctx.t = t;
    ctx.day = clock.day(t);
    ctx.hour = clock.hour(t);
    ctx.explanation = undefined;
    ctx.records = 0;
    ctx.denied = false;
    ctx.parcelKm = NaN;
    ctx.parcelCity = undefined;
    ctx.unknownWaybill = false;
    ctx.deviceSeen = undefined;
    ctx.networkSeen = undefined;
    ctx.citySeen = undefined;
    ctx.novelDevice = false;
    ctx.novelNetwork = false;
    ctx.novelCity = false;
    ctx.cityKey = undefined;
    ctx.peers = undefined;
    ctx.site = undefined;
    ctx.mature = false;

    ctx.device = undefined;
    ctx.network = undefined;
    ctx.account = undefined;
    const type = ev.type;
    // Routing and scans describe parcels, not an account's behaviour: no actor profile.
    if (type === 'waybill' || type === 'scan') return;
    const accId = ev.account;
    const a = getAccount(accId, ev, t);
    ctx.account = a;
    ctx.peers = a.group ?? getPeers(a, t);
    // assign/ticket name the account work was given to; their device/ip/time describe the sender.
    if (type === 'assign' || type === 'ticket') return;
    // The same lookups as below, skipped while the account's memo (last device/IP/site/city and
    // what they resolved to) is current: same profiles, same Seen entries, same lastSeen updates.
    if (a.memoGen !== generation) {
      a.memoGen = generation;
      a.memoDevId = a.memoIp = a.memoSiteId = a.memoCity = undefined;
    }
    const devId = ev.device;
    if (devId !== undefined) {
      if (devId === a.memoDevId) {
        const d = a.memoDevice!;
        if (t > d.lastSeen) d.lastSeen = t;
        ctx.device = d;
      } else {
        ctx.device = getDevice(devId, t);
        a.memoDevId = undefined;
      }
    }
    const ip = ev.ip;
    if (ip !== undefined) {
      if (ip === a.memoIp) {
        const n = a.memoNetwork!;
        if (t > n.lastSeen) n.lastSeen = t;
        ctx.network = n;
      } else {
        ctx.network = getNetwork(netKey(ip), t);
        a.memoIp = undefined;
      }
    }
    const siteId = ev.site;
    if (siteId !== undefined) {
      if (siteId === a.memoSiteId) {
        const s = a.memoSite!;
        if (t > s.lastSeen) s.lastSeen = t;
        ctx.site = s;
      } else {
        ctx.site = a.memoSite = getSite(siteId, t);
        a.memoSiteId = siteId;
      }
    }
    ctx.mature = a.events >= cfg.baseline.min_events && t - a.firstSeen >= cfg.baseline.min_history_hours * HOUR;
    if (devId !== undefined) {
      // Only a Seen entry that exists is remembered: a new device becomes known when learned.
      const seen = devId === a.memoDevId ? a.memoDeviceSeen : a.devices.get(devId);
      ctx.deviceSeen = seen;
      if (seen === undefined) ctx.novelDevice = !exceptions.has('device', devId, accId, t);
      else if (devId !== a.memoDevId) {
        a.memoDevId = devId;
        a.memoDevice = ctx.device;
        a.memoDeviceSeen = seen;
      }
    }
    if (ctx.network !== undefined) {
      const seen = ip === a.memoIp ? a.memoNetworkSeen : a.networks.get(ctx.network.key);
      ctx.networkSeen = seen;
      if (seen === undefined) ctx.novelNetwork = !exceptions.has('network', ctx.network.key, accId, t);
      else if (ip !== a.memoIp) {
        a.memoIp = ip;
        a.memoNetwork = ctx.network;
        a.memoNetworkSeen = seen;
      }
    }
    const city = ev.city;
    if (city !== undefined) {
      if (city === a.memoCity) {
        ctx.cityKey = a.memoCityKey;
        ctx.citySeen = a.memoCitySeen;
      } else {
        const ck = cityOf(city);
        const seen = a.cities.get(ck);
        ctx.cityKey = ck;
        ctx.citySeen = seen;
        ctx.novelCity = seen === undefined;
        if (seen !== undefined) {
          a.memoCity = city;
          a.memoCityKey = ck;
          a.memoCitySeen = seen;
        }
      }
    }
  }

  function classify(ev: AccessEvent, t: number): void {
    const a = ctx.account!;
    ctx.denied = ev.result === 'denied';
    const action = ev.action;
    if (action === 'export') {
      if (!ctx.denied) ctx.records = ev.waybills?.length ?? 0;
      return;
    }
    if (action === 'search') {
      const list = ev.waybills;
      if (list && list.length && !ctx.denied) {
        const s = (a.searches ??= new Map());
        const n = Math.min(list.length, st.search_max_results);
        for (let i = 0; i < n; i++) {
          const wb = list[i]!;
          s.delete(wb);
          s.set(wb, t);
        }
        if (s.size > 4 * st.search_max_results) pruneSearches(a, t);
      }
      return;
    }
    const wb = ev.waybill;
    if (wb === undefined) return;
    if (action === 'reveal' && !ctx.denied && (ev.fields === undefined || ev.fields.length > 0)) ctx.records = 1;
    // A view is usually followed by a reveal of the same parcel: reuse an assignment verdict for
    // a few minutes rather than look the waybill up again.
    if (a.memoWaybill === wb && t - a.memoAt <= 5 * MINUTE && t >= a.memoAt) {
      ctx.explanation = 'assignment';
      return;
    }
    const e = explain(a, wb, ev, t);
    ctx.explanation = e;
    if (e === 'assignment') {
      a.memoWaybill = wb;
      a.memoAt = t;
    }
  }

  function explain(a: AccountProfile, wb: string, ev: AccessEvent, t: number): Explanation {
    const w = waybills.get(wb);
    if (w !== undefined) {
      let best: Explanation | undefined;
      if (w.a0 === a.id && w.u0 >= t) {
        if (w.k0 === 'assignment') return 'assignment';
        best = 'ticket';
      }
      if (w.more !== undefined) {
        for (const l of w.more) {
          if (l.account === a.id && l.until >= t) {
            if (l.kind === 'assignment') return 'assignment';
            best = 'ticket';
          }
        }
      }
      if (best) return best;
    }
    if (ev.ticket !== undefined) {
      const tk = tickets.get(ev.ticket);
      if (tk && tk.account === a.id && tk.until >= t && (tk.waybill === undefined || tk.waybill === wb)) return 'ticket';
    }
    const s = a.searches?.get(wb);
    if (s !== undefined && t - s <= searchTtl) return 'search';
    if (!w || (w.origin === undefined && w.dest === undefined)) {
      if (!w || !w.linked) ctx.unknownWaybill = true;
      // Not routed yet (a parcel taken in at a counter before its order is entered): the number's
      // range tells its origin.
      const o = rangeDigits > 0 && wb.length > rangeDigits ? rangeOrigin.get(wb.slice(0, wb.length - rangeDigits)) : undefined;
      if (o) {
        if (o === a.site) return 'site';
        if (a.role === 'manager') {
          const home = homeCity(a);
          if (home !== undefined && siteCity.get(o) === home) return 'city';
        }
      }
      return 'none';
    }
    ctx.parcelCity = w.city;
    if (a.site !== undefined && (w.origin === a.site || w.dest === a.site)) return 'site';
    const home = homeCity(a);
    if (w.city !== undefined && home !== undefined) ctx.parcelKm = distanceKm(home, w.city);
    // Managers oversee their city: parcels going to it or sent from it.
    if (a.role === 'manager' && home !== undefined && (w.city === home || (w.origin !== undefined && siteCity.get(w.origin) === home))) {
      return 'city';
    }
    return 'none';
  }

  function pruneSearches(a: AccountProfile, t: number): void {
    const s = a.searches;
    if (!s) return;
    for (const [wb, at] of s) {
      if (t - at <= searchTtl) break; // insertion order is time order (delete+set on refresh)
      s.delete(wb);
    }
    if (s.size === 0) a.searches = undefined;
  }

  // ---- learning (after detectors, so "first seen" means before this event) -----------------
  function learn(ev: ActivityEvent, t: number): void {
    const a = ctx.account;
    if (!a || ev.type === 'scan' || ev.type === 'assign' || ev.type === 'ticket') return;
    // A failed login is someone *trying* the account: it must not teach the owner's baseline.
    if (isLogin(ev) && ev.result !== 'success') return;
    a.events++;
    if (t > a.lastSeen) a.lastSeen = t;
    const group = ctx.peers!;
    if (t > group.lastSeen) group.lastSeen = t;
    if (ev.device !== undefined) {
      touchSeen(a.devices, ev.device, ctx.deviceSeen, t);
      const d = ctx.device!;
      if (d.accounts.size < 64) d.accounts.add(a.id);
    }
    if (ctx.network !== undefined) {
      const key = ctx.network.key;
      if (touchSeen(a.networks, key, ctx.networkSeen, t)) group.networks.set(key, (group.networks.get(key) ?? 0) + 1);
      if (ctx.network.accounts.size < 256) ctx.network.accounts.add(a.id);
    }
    if (ctx.cityKey !== undefined) {
      const ck = ctx.cityKey;
      if (touchSeen(a.cities, ck, ctx.citySeen, t)) {
        group.cities.set(ck, (group.cities.get(ck) ?? 0) + 1);
        cityAccounts.set(ck, (cityAccounts.get(ck) ?? 0) + 1);
      }
      a.lastCity = ck;
      a.lastCityAt = t;
    }
    const slot = ctx.day * 24 + ctx.hour;
    if (slot > a.lastSlot) {
      a.lastSlot = slot;
      a.hourDays[ctx.hour]!++;
      group.hours[ctx.hour]!++;
      group.hoursTotal++;
      if (ctx.site) {
        ctx.site.hours[ctx.hour]!++;
        ctx.site.hoursTotal++;
      }
      if (ctx.day > a.lastDay) {
        a.lastDay = ctx.day;
        a.activeDays++;
      }
    }
    if (isLogin(ev) && ev.result === 'success') {
      a.logins++;
      if (ev.mfa === true) a.mfaLogins++;
    }
  }

  /** Updates a Seen entry; returns true when the value was new. */
  function touchSeen(map: Map<string, Seen>, key: string, seen: Seen | undefined, t: number): boolean {
    if (seen) {
      seen.n++;
      if (t > seen.last) seen.last = t;
      return false;
    }
    const again = map.get(key); // a feedback call may have added it in between
    if (again) {
      again.n++;
      return false;
    }
    map.set(key, { first: t, last: t, n: 1 });
    return true;
  }

  function getAccount(id: string, ev: ActivityEvent, t: number): AccountProfile {
    let a = accounts.get(id);
    if (!a) {
      capMap(accounts, st.max_accounts, 'accounts');
      a = {
        id,
        role: ev.role ?? 'unknown',
        site: ev.site,
        firstSeen: t,
        lastSeen: t,
        events: 0,
        devices: new Map(),
        networks: new Map(),
        cities: new Map(),
        hourDays: new Uint16Array(24),
        lastSlot: -1,
        activeDays: 0,
        lastDay: -1,
        logins: 0,
        mfaLogins: 0,
        lastCity: undefined,
        lastCityAt: 0,
        group: undefined,
        memoWaybill: undefined,
        memoAt: 0,
        searches: undefined,
        memoGen: generation,
        memoDevId: undefined,
        memoDevice: undefined,
        memoDeviceSeen: undefined,
        memoIp: undefined,
        memoNetwork: undefined,
        memoNetworkSeen: undefined,
        memoSiteId: undefined,
        memoSite: undefined,
        memoCity: undefined,
        memoCityKey: undefined,
        memoCitySeen: undefined,
        slots: new Array<unknown>(slotCount),
      };
      accounts.set(id, a);
    } else {
      // Work given to an account (assign/ticket) describes the assignee, not its actor fields.
      if (ev.type !== 'assign' && ev.type !== 'ticket') {
        if (ev.role !== undefined && ev.role !== a.role) ((a.role = ev.role), (a.group = undefined));
        if (ev.site !== undefined && ev.site !== a.site) ((a.site = ev.site), (a.group = undefined));
      }
    }
    return a;
  }

  function getPeers(a: AccountProfile, t: number): PeerGroup {
    const key = `${a.role}|${a.site ?? ''}`;
    let g = peers.get(key);
    if (!g) {
      g = {
        key,
        members: new Set(),
        networks: new Map(),
        cities: new Map(),
        hours: new Float64Array(24),
        hoursTotal: 0,
        lastSeen: t,
        slots: new Array<unknown>(slotCount),
      };
      peers.set(key, g);
    }
    g.members.add(a.id);
    a.group = g;
    return g;
  }

  function getDevice(id: string, t: number): DeviceProfile {
    let d = devices.get(id);
    if (!d) {
      capMap(devices, st.max_devices, 'devices');
      d = { id, firstSeen: t, lastSeen: t, accounts: new Set(), appHash: undefined, slots: new Array<unknown>(slotCount) };
      devices.set(id, d);
    } else if (t > d.lastSeen) d.lastSeen = t;
    return d;
  }

  function getNetwork(key: string, t: number): NetworkProfile {
    let n = networks.get(key);
    if (!n) {
      capMap(networks, st.max_networks, 'networks');
      n = { key, firstSeen: t, lastSeen: t, accounts: new Set(), slots: new Array<unknown>(slotCount) };
      networks.set(key, n);
    } else if (t > n.lastSeen) n.lastSeen = t;
    return n;
  }

  function getSite(site: string, t: number): SiteProfile {
    let s = sites.get(site);
    if (!s) {
      s = { site, hours: new Float64Array(24), hoursTotal: 0, lastSeen: t };
      sites.set(site, s);
    } else if (t > s.lastSeen) s.lastSeen = t;
    return s;
  }

  function capMap<K, V>(map: Map<K, V>, max: number, name: string): void {
    if (map.size < max) return;
    generation++;
    // Oldest inserted first; counted, never silent.
    const it = map.keys();
    const drop = Math.max(1, Math.floor(max / 100));
    for (let i = 0; i < drop; i++) {
      const k = it.next();
      if (k.done) break;
      map.delete(k.value);
    }
    evicted[name] = (evicted[name] ?? 0) + drop;
  }

  // ---- expiry -----------------------------------------------------------------------------
  let lastDeepSweep = -Infinity;
  function sweep(t: number): void {
    generation++;
    const deep = t - lastDeepSweep >= DAY;
    if (deep) lastDeepSweep = t;
    // Maps are walked by value (each profile knows its key): no [key, value] pair per entry.
    for (const a of accounts.values()) {
      if (t - a.lastSeen > profileTtl) {
        accounts.delete(a.id);
        continue;
      }
      if (a.searches) pruneSearches(a, t);
      if (deep) {
        pruneSeen(a.devices, t - baselineWindow);
        pruneSeen(a.networks, t - baselineWindow);
        pruneSeen(a.cities, t - baselineWindow);
      }
    }
    for (const d of devices.values()) if (t - d.lastSeen > profileTtl) devices.delete(d.id);
    for (const n of networks.values()) if (t - n.lastSeen > profileTtl) networks.delete(n.key);
    for (const s of sites.values()) if (t - s.lastSeen > profileTtl) sites.delete(s.site);
    for (const g of peers.values()) {
      if (t - g.lastSeen > profileTtl) {
        peers.delete(g.key);
        for (const m of g.members) {
          const a = accounts.get(m);
          if (a && a.group === g) a.group = undefined;
        }
      }
      else if (deep) for (const m of g.members) if (!accounts.has(m)) g.members.delete(m);
    }
    // Entries are in `born` order and touched <= born + 1 day: stop at the first that may be live.
    for (const [k, w] of waybills) {
      if (t - w.touched > waybillTtl) waybills.delete(k);
      else if (t - w.born <= waybillTtl + DAY) break;
    }
    tickets.forEach((tk, k) => {
      if (tk.until < t) tickets.delete(k);
    });
    const memoTtl = Math.max(cfg.risk.cooldown_hours, cfg.risk.incident_gap_hours) * HOUR;
    dedup.forEach((m, k) => {
      if (t - m.at > memoTtl) dedup.delete(k);
    });
    const gap = cfg.risk.incident_gap_hours * HOUR;
    incidents.forEach((inc, k) => {
      if (t - inc.last > gap) incidents.delete(k);
    });
    risk.sweep(t);
    exceptions.sweep(t);
    for (const d of detectors) d.sweep?.(t);
  }

  function pruneSeen(map: Map<string, Seen>, before: number): void {
    map.forEach((s, k) => {
      if (s.last < before) map.delete(k);
    });
  }

  // ---- alerts -----------------------------------------------------------------------------
  function raise(detector: string, sig: SignalInput): void {
    const ev = ctx.event;
    const t = ctx.t;
    const account = sig.account;
    const device = sig.device;
    if (account !== undefined && exceptions.has('account', account, account, t)) {
      stats.excepted++;
      return;
    }
    const score = Math.round(Math.max(0, Math.min(100, sig.score)));
    const severity = sig.severity ?? severityFor(score, cfg);
    const rank = SEVERITY_RANK[severity];
    const subject = account !== undefined ? `a:${account}` : device !== undefined ? `d:${device}` : `x:${sig.subject ?? ''}`;
    const memoKey = `${detector}|${subject}|${sig.subject ?? ''}`;
    const memo = dedup.get(memoKey);
    if (memo && rank <= memo.rank && t - memo.at < cfg.risk.cooldown_hours * HOUR) {
      stats.suppressed++;
      stats.suppressedByDetector[detector] = (stats.suppressedByDetector[detector] ?? 0) + 1;
      return;
    }
    dedup.set(memoKey, { rank, at: t });

    const id = stableId('al', `${detector}|${account ?? ''}|${device ?? ''}|${sig.subject ?? ''}|${ev.id}`);
    let inc = incidents.get(subject);
    if (!inc || t - inc.last > cfg.risk.incident_gap_hours * HOUR) {
      inc = { id: stableId('inc', `${subject}|${id}`), last: t };
      incidents.set(subject, inc);
    } else inc.last = t;
    const r = Math.round(risk.add(subject, score * RISK_WEIGHT[severity], t));

    const alert: AlertOut = {
      id,
      ts: ev.ts,
      ...(account !== undefined ? { account } : {}),
      ...(device !== undefined ? { device } : {}),
      detector,
      severity,
      score,
      summary: sig.summary,
      evidence: sig.evidence,
      incident: inc.id,
      risk: r,
      response: responseFor(r, cfg),
      event_id: ev.id,
    };
    stats.alerts++;
    stats.alertsByDetector[detector] = (stats.alertsByDetector[detector] ?? 0) + 1;
    stats.alertsBySeverity[severity]++;
    if (out === NONE) out = [];
    out.push(alert);
  }

  // ---- public API -------------------------------------------------------------------------
  const nowT = (at?: number): number => at ?? (lastProcessedT === -Infinity ? 0 : lastProcessedT);

  function feedback(v: AlertVerdict): void {
    if (v.verdict !== 'false_positive') return;
    generation++;
    const t = nowT();
    const al = v.alert;
    const ev = al.evidence ?? {};
    const str = (x: unknown): string | undefined => (typeof x === 'string' && x ? x : undefined);
    const account = al.account;
    const a = account === undefined ? undefined : accounts.get(account);
    if (a) {
      const dev = str(ev.device) ?? al.device;
      const net = str(ev.network);
      const city = str(ev.city);
      const add = (map: Map<string, Seen>, key: string): void => {
        if (!map.has(key)) map.set(key, { first: t, last: t, n: 1 });
      };
      if (dev) add(a.devices, dev);
      if (net) add(a.networks, networkOf(net));
      if (city) add(a.cities, cityKey(city));
    }
    const subject = account !== undefined ? `a:${account}` : al.device !== undefined ? `d:${al.device}` : undefined;
    if (subject) risk.add(subject, -(al.score ?? 0) * RISK_WEIGHT[al.severity ?? 'low'], t);
    for (const d of detectors) if (d.name === al.detector) d.feedback?.(al as Alert, t);
  }

  function engineStats(): EngineStats {
    const det: Record<string, Record<string, number>> = {};
    for (const d of detectors) if (d.stats) det[d.name] = d.stats();
    return {
      ...stats,
      byType: { ...typeCounts },
      alertsByDetector: { ...stats.alertsByDetector },
      alertsBySeverity: { ...stats.alertsBySeverity },
      suppressedByDetector: { ...stats.suppressedByDetector },
      buffered: ringN,
      future_held: future.held,
      future_waiting: future.size,
      future_dropped: future.dropped,
      evicted: { ...evicted },
      state: {
        accounts: accounts.size,
        devices: devices.size,
        networks: networks.size,
        peer_groups: peers.size,
        sites: sites.size,
        waybills: waybills.size,
        tickets: tickets.size,
        incidents: incidents.size,
        risk_subjects: risk.size,
        exceptions: exceptions.size,
      },
      watermark: maxT === -Infinity ? null : new Date(maxT - windowMs).toISOString(),
      detectors: det,
    };
  }

  return {
    config: cfg,
    process,
    flush,
    advanceTo,
    riskOf: (account, at) => {
      const r = Math.round(risk.get(`a:${account}`, nowT(at)));
      return { risk: r, response: responseFor(r, cfg) };
    },
    riskOfDevice: (device, at) => {
      const r = Math.round(risk.get(`d:${device}`, nowT(at)));
      return { risk: r, response: responseFor(r, cfg) };
    },
    addException: (e) => exceptions.add(e),
    removeException: (e) => exceptions.remove(e),
    listExceptions: (activeOnly = true) => exceptions.list(activeOnly ? nowT() : undefined),
    feedback,
    stats: engineStats,
    detectors: () => detectors.map((d) => ({ name: d.name, scope: d.scope })),
  };
}
