/**
 * Detector settings from the console: what each detector is set to, how often it fired, a
 * backtest of candidate settings over the stored last N days, and saving settings (audited).
 *
 * Invariants:
 * - A backtest replays stored activity through fresh engines (`createDetectionEngine`) — one with
 *   the running settings, one with the candidate — never through the live engine, and never
 *   stores or notifies anything. It yields to the event loop as it goes, is bounded by days and
 *   events, and backtests run one at a time.
 * - A backtest never shows its reader detection about themselves (attack review 11: a suspected
 *   analyst backtested a detector switched off and read, in `removed`, the live alert that
 *   suspended him): alerts about the reader's accounts (theirs and those linked to it by creation)
 *   and enrolled devices are left out of the whole answer — samples, counts and totals alike, so
 *   nothing in it differs by whether there were any. Every backtest is audited (`insight.backtest`:
 *   actor, detector, window, the settings' digest, counts, and how many alerts were withheld); the
 *   trail search hides that entry from its actor and the accounts linked to it (src/audit/search.ts).
 * - Settings are validated by the detection config's own resolver, asked for and approved by two
 *   analysts (`detector-requests.ts`), audited in the same transaction as each step, and applied
 *   when the engine is next built (at start): the live engine's state is not rebuilt in place.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import { AppError } from '../errors.js';
import { ConfigError, resolveConfig, type DetectConfig } from '../detect/config.js';
import { createDetectionEngine, type AlertOut, type DetectionEngine } from '../detect/engine.js';
import type { DetectionException } from '../detect/exceptions.js';
import { canonicalDigest } from '../audit/chain.js';
import type { ReaderSelf } from '../audit/search.js';
import { readerSelf } from '../access/self.js';
import { actorAccount, actorName, type Actor, type RequestContext } from '../identity/identity.js';
import { storedEvents } from './stored-events.js';
import { createDetectorRequests } from './detector-requests.js';

const DAY = 86_400_000;
export type DetectorName = keyof DetectConfig['detectors'];
type Settings = Record<string, number | boolean>;

export interface DetectorsDeps {
  db: Kysely<Database>;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  /** The config the live engine was built with (stored settings included). */
  running: DetectConfig;
  /** The live engine, for its counters; null when detection is off. */
  engine: Pick<DetectionEngine, 'stats' | 'detectors'> | null;
  maxBacktestEvents?: number;
}

export interface BacktestResult {
  detector: string;
  days: number;
  from: string;
  to: string;
  events: number;
  truncated: boolean;
  ms: number;
  current: BacktestSide;
  candidate: BacktestSide;
  /** Alerts of this detector the candidate raises and the running settings do not (sample). */
  added: Array<Pick<AlertOut, 'id' | 'ts' | 'account' | 'device' | 'severity' | 'summary'>>;
  /** Alerts of this detector the running settings raise and the candidate does not (sample). */
  removed: Array<Pick<AlertOut, 'id' | 'ts' | 'account' | 'device' | 'severity' | 'summary'>>;
  /**
   * True for every reader with an account: alerts about the reader and accounts linked to it by
   * creation are left out of this answer (whether there were any or not; the trail records how many).
   */
  reader_left_out: boolean;
}

/** Who asked for a backtest: the reader whose own detection it leaves out, and what its entry records. */
export interface BacktestReader {
  actor: Actor;
  ctx: RequestContext;
}

interface BacktestSide {
  alerts: number;
  by_severity: Record<string, number>;
  accounts: number;
  all_detectors: number;
}

/** A waiting settings change as the console shows it: the whole set it would store over the running one. */
function requestOf(r: { settings: Settings; requested_by: string; requested_at: string; reason: string } | undefined, running: Settings) {
  return r ? { settings: { ...running, ...r.settings }, requested_by: r.requested_by, requested_at: r.requested_at, reason: r.reason } : null;
}

/** Whether an alert is about the reader: one of its accounts (its own, linked by creation) or enrolled devices. */
function aboutSelf(self: ReaderSelf): (a: Pick<AlertOut, 'account' | 'device'>) => boolean {
  const accounts = new Set(self.accounts);
  const devices = new Set(self.devices);
  return (a) => Boolean((a.account && accounts.has(a.account)) || (a.device && devices.has(a.device)));
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stored settings over a base config; a stored section that no longer validates is skipped, loudly. */
export function applyStoredSettings(base: DetectConfig, rows: ReadonlyArray<{ detector: string; settings: unknown }>, logger?: Logger): DetectConfig {
  let cfg = base;
  for (const r of rows) {
    const settings = typeof r.settings === 'string' ? (JSON.parse(r.settings) as unknown) : r.settings;
    try {
      cfg = withSettings(cfg, r.detector, settings);
    } catch (err) {
      logger?.error({ detector: r.detector, problems: err instanceof ConfigError ? err.problems : [String(err)] }, 'stored detector settings no longer valid; running with the configured ones for this detector');
    }
  }
  return cfg;
}

/** The config with one detector's settings replaced by `settings` merged over them; validated. */
export function withSettings(base: DetectConfig, detector: string, settings: unknown): DetectConfig {
  if (!Object.hasOwn(base.detectors, detector)) throw new ConfigError([`detectors.${detector}: unknown detector`]);
  if (!isPlain(settings)) throw new ConfigError([`detectors.${detector}: expected an object of settings`]);
  const clone = structuredClone(base) as unknown as Record<string, unknown>;
  const detectors = clone.detectors as Record<string, Record<string, unknown>>;
  detectors[detector] = { ...detectors[detector], ...settings };
  return resolveConfig(clone);
}

export function createDetectorsInsight(deps: DetectorsDeps) {
  const { db, audit, clock } = deps;
  const maxEvents = deps.maxBacktestEvents ?? 3_000_000;
  let queue: Promise<unknown> = Promise.resolve();
  let waiting = 0;

  async function stored(): Promise<Map<string, { settings: Settings; updated_by: string; updated_at: string; reason: string | null }>> {
    const rows = await db.selectFrom('detector_settings').selectAll().execute();
    return new Map(rows.map((r) => [r.detector, { settings: (typeof r.settings === 'string' ? JSON.parse(r.settings) : r.settings) as Settings, updated_by: r.updated_by, updated_at: new Date(r.updated_at).toISOString(), reason: r.reason ?? null }]));
  }

  async function list() {
    const now = clock.now();
    const [saved, requested, fired] = await Promise.all([
      stored(),
      requests.pending(),
      db
        .selectFrom('alerts')
        .select(['detector', 'severity'])
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .select((eb) => eb.fn.max('ts').as('last'))
        .where('ts', '>', new Date(now - 7 * DAY))
        .groupBy(['detector', 'severity'])
        .execute(),
    ]);
    const dayAgo = await db.selectFrom('alerts').select('detector').select((eb) => eb.fn.countAll<number>().as('n')).where('ts', '>', new Date(now - DAY)).groupBy('detector').execute();
    const stats = deps.engine?.stats();
    const scopes = new Map((deps.engine?.detectors() ?? []).map((d) => [d.name, d.scope]));
    return {
      applies: 'restart' as const,
      detection: deps.engine !== null,
      detectors: (Object.keys(deps.running.detectors) as DetectorName[]).map((name) => {
        const running = deps.running.detectors[name] as unknown as Settings;
        const s = saved.get(name);
        const effective = s ? { ...running, ...s.settings } : running;
        const week = fired.filter((f) => f.detector === name);
        return {
          name,
          enabled: running.enabled === true,
          scope: scopes.get(name) ?? null,
          settings: running,
          saved: s ? { settings: effective, updated_by: s.updated_by, updated_at: s.updated_at, reason: s.reason } : null,
          pending_restart: s ? Object.entries(effective).some(([k, v]) => running[k] !== v) : false,
          request: requestOf(requested.get(name), running),
          fired: {
            last_24h: Number(dayAgo.find((d) => d.detector === name)?.n ?? 0),
            last_7d: week.reduce((n, f) => n + Number(f.n), 0),
            by_severity_7d: Object.fromEntries(week.map((f) => [f.severity, Number(f.n)])),
            last: week.reduce<string | null>((m, f) => {
              const t = f.last ? new Date(f.last as string | Date).toISOString() : null;
              return t && (!m || t > m) ? t : m;
            }, null),
            since_start: stats?.alertsByDetector[name] ?? 0,
            folded_since_start: stats?.suppressedByDetector[name] ?? 0,
          },
        };
      }),
    };
  }

  async function exceptionsNow(now: number): Promise<DetectionException[]> {
    const rows = await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).where('approval', '=', 'approved').where('until', '>', new Date(now)).execute();
    return rows.map((x) => ({ kind: x.kind, ...(x.account ? { account: x.account } : {}), value: x.value, until: new Date(x.until).toISOString(), reason: x.reason, created_by: x.created_by }));
  }

  async function runBacktest(detector: string, settings: unknown, days: number, reader: BacktestReader): Promise<BacktestResult> {
    const candidateConfig = withSettingsOrError(detector, settings);
    const self = await readerSelf(db, reader.actor);
    const started = performance.now();
    const to = clock.now();
    const from = to - days * DAY;
    const exceptions = await exceptionsNow(to);
    const engines = [createDetectionEngine(deps.running), createDetectionEngine(candidateConfig)] as const;
    for (const e of engines) for (const x of exceptions) e.addException(x);
    const raised: [AlertOut[], AlertOut[]] = [[], []];
    let events = 0;
    let truncated = false;
    for await (const ev of storedEvents(db, new Date(from), new Date(to))) {
      if (events >= maxEvents) {
        truncated = true;
        break;
      }
      events++;
      raised[0].push(...engines[0].process(ev));
      raised[1].push(...engines[1].process(ev));
      if (events % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
    raised[0].push(...engines[0].flush());
    raised[1].push(...engines[1].flush());
    // Left out before anything is counted: the answer reads as if the reader's alerts never were.
    const about = aboutSelf(self);
    const withheld = raised.map((list) => list.filter((a) => a.detector === detector && about(a)).length);
    for (const list of raised) list.splice(0, list.length, ...list.filter((a) => !about(a)));
    const side = (alerts: AlertOut[]): BacktestSide => {
      const mine = alerts.filter((a) => a.detector === detector);
      const bySeverity: Record<string, number> = { low: 0, medium: 0, high: 0, critical: 0 };
      for (const a of mine) bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;
      return { alerts: mine.length, by_severity: bySeverity, accounts: new Set(mine.map((a) => a.account ?? a.device)).size, all_detectors: alerts.length };
    };
    const ids = raised.map((list) => new Set(list.filter((a) => a.detector === detector).map((a) => a.id)));
    const pick = (a: AlertOut) => ({ id: a.id, ts: a.ts, account: a.account, device: a.device, severity: a.severity, summary: a.summary });
    const result: BacktestResult = {
      detector,
      days,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      events,
      truncated,
      ms: Math.round(performance.now() - started),
      current: side(raised[0]),
      candidate: side(raised[1]),
      added: raised[1].filter((a) => a.detector === detector && !ids[0]!.has(a.id)).slice(0, 50).map(pick),
      removed: raised[0].filter((a) => a.detector === detector && !ids[1]!.has(a.id)).slice(0, 50).map(pick),
      reader_left_out: self.accounts.length > 0,
    };
    await recordBacktest(result, settings, { current: withheld[0]!, candidate: withheld[1]! }, reader);
    return result;
  }

  /** The backtest's entry, before its answer leaves: ids, counts and the settings' digest, never an alert's account or summary. */
  async function recordBacktest(r: BacktestResult, settings: unknown, withheld: { current: number; candidate: number }, reader: BacktestReader): Promise<void> {
    const { actor, ctx } = reader;
    await audit.append([{
      kind: 'insight.backtest',
      ts: new Date(clock.now()),
      decision: 'ok',
      account: actorAccount(actor),
      role: actor.kind === 'account' ? actor.role : null,
      ip: ctx.ip,
      requestId: ctx.requestId,
      detail: {
        actor: actorName(actor), detector: r.detector, days: r.days, from: r.from, to: r.to, settings_sha256: canonicalDigest(settings),
        events: r.events, truncated: r.truncated, alerts_current: r.current.alerts, alerts_candidate: r.candidate.alerts,
        withheld_current: withheld.current, withheld_candidate: withheld.candidate,
      },
    }]);
  }

  /** Backtests run one at a time; a third caller waiting is told to come back. */
  function backtest(detector: string, settings: unknown, days: number, reader: BacktestReader): Promise<BacktestResult> {
    if (waiting >= 2) return Promise.reject(new AppError('rate_limited', 'backtests are running; try again when they finish', { retryAfterSeconds: 10 }));
    waiting++;
    const run = queue.then(() => runBacktest(detector, settings, days, reader));
    queue = run.catch(() => undefined).finally(() => {
      waiting--;
    });
    return run;
  }

  function withSettingsOrError(detector: string, settings: unknown): DetectConfig {
    if (!Object.hasOwn(deps.running.detectors, detector)) throw new AppError('not_found', `no detector named ${detector}`);
    try {
      return withSettings(deps.running, detector, settings);
    } catch (err) {
      if (err instanceof ConfigError) {
        throw new AppError('validation_failed', err.problems.join('; '), { fields: err.problems.map((p) => ({ field: p.split(':')[0]!, code: 'invalid', message: p.slice(p.indexOf(':') + 1).trim() })) });
      }
      throw err;
    }
  }

  const requests = createDetectorRequests({ db, audit, clock, logger: deps.logger, running: deps.running, validate: withSettingsOrError });

  return { list, backtest, request: requests.request, approve: requests.approve, discard: requests.discard };
}

export type DetectorsInsight = ReturnType<typeof createDetectorsInsight>;
