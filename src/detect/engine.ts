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
import type { ActivityEvent, EventType } from '../contracts/events.js';
import { AlertDesk } from './alerts.js';
import { buildCityTable } from './cities.js';
import { isResolvedConfig, resolveConfig, type DetectConfig } from './config.js';
import { ContextBuilder } from './context.js';
import type { AlertOut, AlertVerdict, DetectionEngine, EngineOptions, EngineStats } from './engine-api.js';
import { ExceptionSet } from './exceptions.js';
import { FutureHold } from './future.js';
import { ReorderBuffer } from './reorder.js';
import { RISK_WEIGHT, RiskBook, responseFor, type ResponseAction } from './risk.js';
import { ProfileStore } from './state.js';
import type { Detector, DetectorEnv, DetectorFactory, Emit, ExceptionKind } from './types.js';
import { ALL_DETECTORS } from './detectors/index.js';
import { DAY, localClock, MINUTE, networkOf, parseTs } from './util.js';
import { WorkLinks } from './work-links.js';

export type { AlertOut, AlertVerdict, DetectionEngine, EngineOptions, EngineStats } from './engine-api.js';

/**
 * The partition key of an event: its account. Waybill routing and scans have no account and must
 * be broadcast to every partition (returns undefined).
 */
export function partition(event: ActivityEvent): string | undefined {
  return event.type === 'waybill' || event.type === 'scan' ? undefined : event.account;
}

/** The contract's event types, in the order of `typeIndex` (and of stats().byType). */
const TYPES: readonly EventType[] = ['login', 'logout', 'waybill', 'assign', 'ticket', 'scan', 'access'];

/**
 * Index of an event type in TYPES, -1 for anything else. A switch, not a keyed property lookup:
 * an object indexed by a string that came out of JSON.parse costs a string-table probe per event.
 */
function typeIndex(type: string): number {
  switch (type) {
    case 'scan':
      return 5;
    case 'access':
      return 6;
    case 'assign':
      return 3;
    case 'waybill':
      return 2;
    case 'ticket':
      return 4;
    case 'login':
      return 0;
    case 'logout':
      return 1;
    default:
      return -1;
  }
}

/** The enabled detectors, and those that look at each event type (indexed as TYPES). */
function pickDetectors(cfg: DetectConfig, factories: readonly DetectorFactory[], env: Omit<DetectorEnv, 'slot'>): { detectors: Detector[]; byType: Detector[][] } {
  const detectors: Detector[] = [];
  factories.forEach((f) => {
    const d = f({ ...env, slot: detectors.length });
    const enabled = (cfg.detectors as Record<string, { enabled?: boolean }>)[d.name]?.enabled;
    if (enabled !== false) detectors.push(d);
  });
  const byType = TYPES.map((ty) => detectors.filter((d) => d.types.includes(ty)));
  return { detectors, byType };
}

const NO_DETECTORS: readonly Detector[] = [];

/** The engine's moving parts and its clock; the public API is built over it below. */
class Engine {
  readonly cfg: DetectConfig;
  readonly store: ProfileStore;
  readonly links: WorkLinks;
  readonly risk: RiskBook;
  readonly exceptions = new ExceptionSet(networkOf);
  readonly context: ContextBuilder;
  readonly desk: AlertDesk;
  readonly detectors: Detector[];
  private readonly byType: readonly (readonly Detector[])[];
  /** Events per contract type (indexed as TYPES), and per any other type seen. */
  private readonly typeCounts = new Float64Array(TYPES.length);
  private readonly otherTypeCounts: Record<string, number> = {};
  events = 0;
  late = 0;
  /** Verdicts handed back (counted only: a verdict teaches nothing). */
  readonly verdicts = { true_positive: 0, false_positive: 0 };
  readonly buffer = new ReorderBuffer();
  /** Events further than `max_future_minutes` ahead of the engine's clock: held, never moving it. */
  readonly future: FutureHold;
  readonly windowMs: number;
  private readonly futureMs: number;
  private readonly sweepEvery: number;
  maxT = -Infinity;
  lastProcessedT = -Infinity;
  private nextSweep = -Infinity;
  private lastDeepSweep = -Infinity;
  private currentDetector = '';
  private readonly emit: Emit;
  readonly insert = (ev: ActivityEvent, t: number): void => this.buffer.insert(ev, t);
  readonly handle = (ev: ActivityEvent, t: number): void => this.handleEvent(ev, t);

  constructor(cfg: DetectConfig, factories: readonly DetectorFactory[]) {
    this.cfg = cfg;
    const clock = localClock(cfg.time.utc_offset_hours);
    const cities = buildCityTable(cfg.cities);
    this.windowMs = cfg.time.reorder_window_seconds * 1000;
    this.futureMs = cfg.time.max_future_minutes * MINUTE;
    this.sweepEvery = cfg.state.sweep_interval_minutes * MINUTE;
    this.future = new FutureHold(cfg.time.max_future_events);
    this.store = new ProfileStore(cfg, cities, factories.length);
    this.links = new WorkLinks(cfg, this.store);
    this.risk = new RiskBook(cfg);
    this.context = new ContextBuilder(cfg, clock, this.store, this.links, this.exceptions);
    this.desk = new AlertDesk(cfg, this.risk, this.exceptions);
    const ctx = this.context.ctx;
    this.emit = (sig) => this.desk.raise(this.currentDetector, sig, ctx.event, ctx.t);
    const exceptions = this.exceptions;
    const isExcepted = (kind: ExceptionKind, value: string, account: string | undefined, t: number): boolean => exceptions.has(kind, value, account, t);
    ({ detectors: this.detectors, byType: this.byType } = pickDetectors(cfg, factories, { config: cfg, clock, cities, state: this.store, isExcepted }));
  }

  process(event: ActivityEvent): AlertOut[] {
    const t = parseTs(event.ts);
    if (Number.isNaN(t)) throw new Error(`event ${String(event.id)} has an invalid ts; validate events before process()`);
    this.events++;
    // Older than the watermark: beyond the tolerated disorder. Counted, and still processed.
    if (t < this.maxT - this.windowMs) this.late++;
    if (t < this.lastProcessedT) {
      // Older than what we already processed: process now rather than drop it.
      this.handleEvent(event, t);
      return this.desk.take();
    }
    const future = this.future;
    if (this.maxT !== -Infinity && t > this.maxT + this.futureMs) {
      future.add(event, t);
      // Many events agreeing on a later time: the stream really moved on (after a quiet spell or
      // an outage). The clock moves to the median held time, never to a lone outlier.
      if (future.size < this.cfg.time.future_confirm_events) return this.desk.take();
      this.maxT = future.medianTime();
      future.takeUpTo(this.maxT + this.futureMs, this.insert);
      this.buffer.releaseUpTo(this.maxT - this.windowMs, this.handle);
      return this.desk.take();
    }
    this.buffer.insert(event, t);
    if (t > this.maxT) {
      this.maxT = t;
      if (future.size > 0) future.takeUpTo(t + this.futureMs, this.insert);
    }
    this.buffer.releaseUpTo(this.maxT - this.windowMs, this.handle);
    return this.desk.take();
  }

  flush(): AlertOut[] {
    // The held far-future events, in their own time, after everything else.
    this.future.takeUpTo(Infinity, this.insert);
    this.buffer.releaseUpTo(Infinity, this.handle);
    return this.desk.take();
  }

  advanceTo(t: number): AlertOut[] {
    if (t > this.maxT) this.maxT = t;
    if (this.future.size > 0) this.future.takeUpTo(this.maxT + this.futureMs, this.insert);
    this.buffer.releaseUpTo(this.maxT - this.windowMs, this.handle);
    return this.desk.take();
  }

  /** One event in engine order: expiry when due, work context first, detectors, then learning. */
  private handleEvent(ev: ActivityEvent, t: number): void {
    if (t >= this.nextSweep) {
      this.sweep(t);
      this.nextSweep = t + this.sweepEvery;
    }
    if (t > this.lastProcessedT) this.lastProcessedT = t;
    // An assignment or search explains the reveals that follow it: apply work context first.
    const links = this.links;
    const type = ev.type;
    switch (type) {
      case 'scan':
        if (ev.op === 'delivered' || ev.op === 'pickup') links.onDelivered(ev.waybill, t, ev.backfill === true);
        links.onScan(ev.waybill, ev.op, ev.role, t, ev.backfill === true);
        break;
      case 'waybill':
        links.onWaybill(ev.waybill, ev.origin_site, ev.dest_site, ev.dest_city, t);
        break;
      case 'assign':
        links.onAssign(ev.waybill, ev.account, t, ev.backfill === true);
        break;
      case 'ticket':
        links.onTicket(ev, t);
        break;
      default:
    }
    const ti = typeIndex(type);
    let list: readonly Detector[];
    if (ti >= 0) {
      this.typeCounts[ti] = this.typeCounts[ti]! + 1;
      list = this.byType[ti]!;
    } else {
      // Not a contract type (process() takes validated events only): counted, with no detectors.
      const other = this.otherTypeCounts;
      other[type] = (other[type] ?? 0) + 1;
      list = NO_DETECTORS;
    }
    // Routing and scans (two thirds of the traffic) have no actor: with no detector for them
    // there is no context to build and nothing to learn (prepare() would only clear it).
    if (list.length === 0 && (type === 'scan' || type === 'waybill')) return;
    const ctx = this.context.prepare(ev, t);
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!;
      this.currentDetector = d.name;
      d.onEvent(ctx, this.emit);
    }
    this.context.learn(ev, t);
  }

  private sweep(t: number): void {
    const deep = t - this.lastDeepSweep >= DAY;
    if (deep) this.lastDeepSweep = t;
    this.store.sweep(t, deep);
    this.links.sweep(t);
    this.desk.sweep(t);
    this.risk.sweep(t);
    this.exceptions.sweep(t);
    for (const d of this.detectors) d.sweep?.(t);
  }

  now(at?: number): number {
    return at ?? (this.lastProcessedT === -Infinity ? 0 : this.lastProcessedT);
  }

  riskOf(subject: string, at?: number): { risk: number; response: ResponseAction } {
    const r = Math.round(this.risk.get(subject, this.now(at)));
    return { risk: r, response: responseFor(r, this.cfg) };
  }

  /**
   * A verdict closes an alert; it teaches the engine nothing (attack review 9: one analyst's
   * false positive on a device_posture alert made a trojaned build known fleet-wide, with no second
   * analyst, no end date, until a restart; and taught the alert's device, network and city as the
   * account's own). A false positive only takes back the risk the alert added and is counted.
   * Anything more — a build, device, network or account left out of detection — is an exception
   * (`addException`), which the service gives the engine only once a second analyst approved it.
   */
  feedback(v: AlertVerdict): void {
    this.verdicts[v.verdict]++;
    if (v.verdict !== 'false_positive') return;
    const t = this.now();
    const al = v.alert;
    const account = al.account;
    const subject = account !== undefined ? `a:${account}` : al.device !== undefined ? `d:${al.device}` : undefined;
    if (subject) this.risk.add(subject, -(al.score ?? 0) * RISK_WEIGHT[al.severity ?? 'low'], t);
  }

  private countsByType(): Record<string, number> {
    const out: Record<string, number> = {};
    TYPES.forEach((ty, i) => (out[ty] = this.typeCounts[i]!));
    return Object.assign(out, this.otherTypeCounts);
  }

  stats(): EngineStats {
    const det: Record<string, Record<string, number>> = {};
    for (const d of this.detectors) if (d.stats) det[d.name] = d.stats();
    const c = this.desk.counts;
    const { store, links } = this;
    return {
      events: this.events,
      late: this.late,
      reordered: this.buffer.reordered,
      future_held: this.future.held,
      future_waiting: this.future.size,
      future_dropped: this.future.dropped,
      maxBuffered: this.buffer.maxSize,
      alerts: c.alerts,
      alertsByDetector: { ...c.alertsByDetector },
      alertsBySeverity: { ...c.alertsBySeverity },
      suppressed: c.suppressed,
      suppressedByDetector: { ...c.suppressedByDetector },
      excepted: c.excepted,
      verdicts: { ...this.verdicts },
      byType: this.countsByType(),
      buffered: this.buffer.size,
      evicted: { ...store.evicted },
      state: {
        accounts: store.accounts.size,
        devices: store.devices.size,
        networks: store.networks.size,
        peer_groups: store.peers.size,
        sites: store.sites.size,
        waybills: links.waybills.size,
        tickets: links.tickets.size,
        incidents: this.desk.openIncidents,
        risk_subjects: this.risk.size,
        exceptions: this.exceptions.size,
      },
      watermark: this.maxT === -Infinity ? null : new Date(this.maxT - this.windowMs).toISOString(),
      detectors: det,
    };
  }
}

export function createDetectionEngine(
  config: DetectConfig | Record<string, unknown> = {},
  options: EngineOptions = {},
): DetectionEngine {
  const cfg: DetectConfig = isResolvedConfig(config) ? config : resolveConfig(config);
  const e = new Engine(cfg, options.detectors ?? ALL_DETECTORS);
  return {
    config: cfg,
    process: (event) => e.process(event),
    flush: () => e.flush(),
    advanceTo: (t) => e.advanceTo(t),
    riskOf: (account, at) => e.riskOf(`a:${account}`, at),
    riskOfDevice: (device, at) => e.riskOf(`d:${device}`, at),
    addException: (x) => e.exceptions.add(x),
    removeException: (x) => e.exceptions.remove(x),
    listExceptions: (activeOnly = true) => e.exceptions.list(activeOnly ? e.now() : undefined),
    feedback: (v) => e.feedback(v),
    stats: () => e.stats(),
    detectors: () => e.detectors.map((d) => ({ name: d.name, scope: d.scope })),
  };
}
