/**
 * Watch: the live side of detection. Feeds every event on the bus to the detection engine (the
 * same engine `warden detect` replays), stores its alerts, and applies the response policy that
 * the gateway enforces on the account's next request. The parts, by concern:
 * - responses.ts: step-up / throttle / suspend and the gate the access service asks;
 * - alerts.ts: storing, listing and triaging alerts;
 * - exceptions.ts: analysts' exceptions to detection;
 * - access/self.ts (shared with cases): nobody acts on a response, exception or alert about themselves.
 *
 * Invariant: an alert is stored before its response is applied; events are processed in order,
 * one batch at a time (the engine is single-threaded state).
 */
import type { Kysely } from 'kysely';
import { eventTime, type ActivityEvent } from '../contracts/events.js';
import type { Database } from '../store/schema.js';
import type { DetectionEngine, AlertOut } from '../detect/engine.js';
import type { EventBus } from '../events/bus.js';
import type { AuditWriter } from '../audit/writer.js';
import { errorSummary } from '../audit/writer.js';
import type { Actor, IdentityService, RequestContext } from '../identity/identity.js';
import { refuseSelfRead } from '../access/self.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { WebhookNotifier } from './webhook.js';
import { createResponses } from './responses.js';
import { createAlerts } from './alerts.js';
import { createExceptions } from './exceptions.js';
import { restoreEngine } from './restore.js';

export type { ResponseAction } from './responses.js';
export type { AlertQuery, AlertChange } from './alerts.js';

export interface WatchDeps {
  db: Kysely<Database>;
  bus: EventBus;
  engine: DetectionEngine;
  identity: IdentityService;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  webhook?: WebhookNotifier | undefined;
  /** Records an account under `throttle` may still reveal per hour. */
  throttlePerHour?: number;
  /** Told of alerts once stored (the SIEM export); must not block. */
  onAlerts?: (alerts: AlertOut[]) => void;
  /** Detection latency (live events only). */
  metrics?: Pick<Metrics, 'detectionLatency'>;
  /** How often the live engine is told that time moved on (releases its reorder buffer). */
  tickMs?: number;
  /** Several processes on one database: responses are read and throttles counted there. */
  shared?: boolean;
  /**
   * Whether this process runs detection on the bus (default). A gateway on NATS JetStream does
   * not: `warden watch` workers do, and the gateway keeps the gate, alerts and responses.
   */
  consume?: boolean;
  /**
   * Rebuild the engine's learned state from stored events at start (default true). Off for a
   * `warden watch` worker on NATS, which rebuilds from its partition's stream (./worker.ts).
   */
  restore?: boolean;
}

export function createWatch(deps: WatchDeps) {
  const { engine, clock, logger } = deps;
  const responses = createResponses({ ...deps, throttlePerHour: deps.throttlePerHour ?? 10 });
  const alerts = createAlerts(deps);
  const exceptions = createExceptions(deps);
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let processing: Promise<void> = Promise.resolve();
  let alertsRaised = 0;

  async function start(): Promise<void> {
    await responses.load();
    await exceptions.load();
    if (deps.consume === false) return;
    if (deps.restore !== false) {
      const r = await restoreEngine(deps.db, engine, clock.now());
      if (r.events > 0) logger.info({ events: r.events, alerts_already_raised: r.discardedAlerts }, 'detection state rebuilt from stored events');
    }
    unsubscribe = deps.bus.subscribe('detect', (events) => {
      // Serialised: the engine is single-threaded state, and alerts must be stored in order.
      processing = processing.then(() => handle(events));
      return processing;
    });
    timer = setInterval(() => {
      processing = processing.then(() => persist(engine.advanceTo(clock.now())));
    }, deps.tickMs ?? 5000);
    timer.unref();
  }

  async function handle(events: readonly ActivityEvent[]): Promise<void> {
    const raised: AlertOut[] = [];
    for (const e of events) raised.push(...engine.process(e));
    raised.push(...engine.advanceTo(clock.now()));
    const latency = deps.metrics?.detectionLatency;
    if (latency) {
      const now = clock.now();
      for (const e of events) if (!e.backfill) latency.observe(Math.max(0, now - eventTime(e)) / 1000);
    }
    await persist(raised);
  }

  async function persist(raised: AlertOut[]): Promise<void> {
    if (!raised.length) return;
    try {
      await alerts.store(raised);
      alertsRaised += raised.length;
      deps.onAlerts?.(raised);
      for (const a of raised) {
        if (a.severity !== 'low') deps.webhook?.notify(a);
        if (a.account && a.response && a.response !== 'none') await responses.escalate(a.account, a.response, a);
      }
    } catch (err) {
      logger.error({ err: errorSummary(err), alerts: raised.length }, 'storing alerts failed');
      throw err;
    }
  }

  return {
    start,
    gate: responses.gate,
    setResponse: responses.set,
    clearResponse: responses.clear,
    responseOf: responses.responseOf,
    /** The response on an account as a reader sees it: not one on themselves (404, audited; attack review 9). */
    async readResponse(account: string, actor: Actor, ctx: RequestContext) {
      await refuseSelfRead(deps.db, deps.audit, new Date(clock.now()), account, 'response', actor, ctx);
      return responses.responseOf(account);
    },
    listAlerts: alerts.list,
    listAlertsFor: alerts.listFor,
    updateAlert: alerts.update,
    bulkUpdateAlerts: alerts.bulk,
    addException: exceptions.add,
    approveException: exceptions.approve,
    removeException: exceptions.remove,
    listExceptions: exceptions.list,
    /**
     * Alerts raised outside the engine (the canary tripwire, the privacy-number pool): stored and
     * their responses applied in order with the engine's own, through the same machinery.
     */
    raise(extra: AlertOut[]): Promise<void> {
      const run = processing.then(() => persist(extra));
      processing = run.catch(() => undefined);
      return run;
    },
    stats: () => ({ alertsRaised, engine: engine.stats() }),
    /** Waits for queued events to be processed (tests, shutdown). */
    async idle() {
      await processing;
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      await processing;
      if (deps.consume === false) return void (await deps.webhook?.drain());
      try {
        await persist(engine.flush());
      } catch (err) {
        logger.error({ err: errorSummary(err) }, 'alerts flushed at shutdown could not be stored');
      }
      await deps.webhook?.drain();
    },
  };
}
export type Watch = ReturnType<typeof createWatch>;
