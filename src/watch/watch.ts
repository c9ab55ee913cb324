/**
 * Watch: the live side of detection. Feeds every event on the bus to the detection engine
 * (the same engine `warden detect` replays), stores its alerts, applies the response policy
 * (step-up, throttle, suspend) that the gateway enforces on the account's next request, and
 * lets analysts review alerts, undo responses and add exceptions — all audited.
 *
 * Invariants:
 * - An alert is stored before its response is applied; a response is recorded (and audited)
 *   before the gateway enforces it.
 * - Responses only escalate automatically; only an analyst lowers or clears one.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ActivityEvent, Severity } from '../contracts/events.js';
import type { Database } from '../store/schema.js';
import type { DetectionEngine, AlertOut } from '../detect/engine.js';
import type { DetectionException } from '../detect/exceptions.js';
import type { EventBus } from '../events/bus.js';
import type { AuditWriter } from '../audit/writer.js';
import { errorSummary } from '../audit/writer.js';
import type { IdentityService, Principal, RequestContext } from '../identity/identity.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import { AppError } from '../errors.js';
import type { WebhookNotifier } from './webhook.js';

export type ResponseAction = 'step_up' | 'throttle' | 'suspend';
const RANK: Record<ResponseAction | 'none', number> = { none: 0, step_up: 1, throttle: 2, suspend: 3 };
const SYSTEM_CTX: RequestContext = { ip: null, requestId: 'warden-detect' };

export interface WatchDeps {
  db: Kysely<Database>;
  bus: EventBus;
  engine: DetectionEngine;
  identity: IdentityService;
  audit: AuditWriter;
  clock: Clock;
  logger: Logger;
  webhook?: WebhookNotifier | undefined;
  /** Reveals an account under `throttle` may still make per hour. */
  throttlePerHour?: number;
  /** How often the live engine is told that time moved on (releases its reorder buffer). */
  tickMs?: number;
}

export interface AlertQuery {
  status?: 'open' | 'acknowledged' | 'resolved' | undefined;
  severity?: Severity | undefined;
  minSeverity?: Severity | undefined;
  account?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: number | undefined;
}

interface ActiveResponse {
  action: ResponseAction;
  reason: string;
  since: number;
}

export function createWatch(deps: WatchDeps) {
  const { db, engine, audit, clock, logger } = deps;
  const active = new Map<string, ActiveResponse>();
  const throttleLog = new Map<string, number[]>();
  const throttlePerHour = deps.throttlePerHour ?? 10;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let processing: Promise<void> = Promise.resolve();
  let alertsRaised = 0;

  async function start(): Promise<void> {
    for (const r of await db.selectFrom('account_responses').selectAll().execute()) {
      active.set(r.account, { action: r.action, reason: r.reason, since: new Date(r.since).getTime() });
    }
    const now = clock.now();
    for (const x of await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).where('until', '>', new Date(now)).execute()) {
      engine.addException(toException(x));
    }
    unsubscribe = deps.bus.subscribe('detect', (events) => {
      // Serialised: the engine is single-threaded state, and alerts must be stored in order.
      processing = processing.then(() => handle(events));
      return processing;
    });
    const tick = deps.tickMs ?? 5000;
    timer = setInterval(() => {
      processing = processing.then(() => persist(engine.advanceTo(clock.now())));
    }, tick);
    timer.unref();
  }

  async function handle(events: readonly ActivityEvent[]): Promise<void> {
    const alerts: AlertOut[] = [];
    for (const e of events) alerts.push(...engine.process(e));
    alerts.push(...engine.advanceTo(clock.now()));
    await persist(alerts);
  }

  async function persist(alerts: AlertOut[]): Promise<void> {
    if (!alerts.length) return;
    try {
      const now = new Date(clock.now());
      await db
        .insertInto('alerts')
        .values(
          alerts.map((a) => ({
            id: a.id,
            ts: new Date(a.ts),
            account: a.account ?? null,
            device: a.device ?? null,
            detector: a.detector,
            severity: a.severity,
            score: Math.round(a.score),
            summary: a.summary,
            incident: a.incident ?? null,
            response: a.response ?? null,
            body: JSON.stringify(a),
            status: 'open' as const,
            verdict: null,
            note: null,
            updated_by: null,
            created_at: now,
            updated_at: now,
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      alertsRaised += alerts.length;
      for (const a of alerts) {
        if (a.severity !== 'low') deps.webhook?.notify(a);
        if (a.account && a.response && a.response !== 'none') await escalate(a.account, a.response, a);
      }
    } catch (err) {
      logger.error({ err: errorSummary(err), alerts: alerts.length }, 'storing alerts failed');
      throw err;
    }
  }

  async function escalate(account: string, action: ResponseAction, alert: AlertOut): Promise<void> {
    const current = active.get(account);
    if (current && RANK[current.action] >= RANK[action]) return;
    await apply(account, action, `${alert.detector}: ${alert.summary}`.slice(0, 300), { alert: alert.id, detector: alert.detector, risk: Math.round(alert.risk), actor: 'warden-detect' }, SYSTEM_CTX);
  }

  /** Records (audited) and enforces a response; from the engine, or set by an analyst. */
  async function apply(account: string, action: ResponseAction, reason: string, detail: Record<string, string | number>, ctx: RequestContext): Promise<{ account: string; action: ResponseAction; reason: string; since: string }> {
    const since = clock.now();
    const alertId = typeof detail.alert === 'string' ? detail.alert : null;
    await audit.append(
      [{ kind: 'watch.response_applied', ts: new Date(since), decision: 'ok', account, reason: action, ip: ctx.ip, requestId: ctx.requestId, detail }],
      async (tx) => {
        await tx
          .insertInto('account_responses')
          .values({ account, action, reason, alert_id: alertId, since: new Date(since) })
          .onConflict((oc) => oc.column('account').doUpdateSet({ action, reason, alert_id: alertId, since: new Date(since) }))
          .execute();
      },
    );
    active.set(account, { action, reason, since });
    if (action === 'suspend') {
      const info = await deps.identity.loadAccount(account);
      if (info && info.status !== 'suspended') {
        await deps.identity.setStatus(account, 'suspended', `suspended pending review: ${reason}`.slice(0, 400), String(detail.actor ?? 'warden-detect'), ctx);
      }
    }
    logger.warn({ account, action, alert: alertId }, 'response applied');
    return { account, action, reason, since: new Date(since).toISOString() };
  }

  async function setResponse(account: string, action: ResponseAction, reason: string, actor: string, ctx: RequestContext) {
    if (!(await deps.identity.loadAccount(account))) throw new AppError('not_found', `account ${account} does not exist`);
    return apply(account, action, reason, { actor }, ctx);
  }

  /** The gateway asks before every data access; null means go ahead. */
  function gate(principal: Extract<Principal, { kind: 'account' }>, action: 'view' | 'search' | 'reveal', now: number): AppError | null {
    const r = active.get(principal.account.id);
    if (!r) return null;
    if (r.action === 'suspend') return new AppError('account_suspended', `suspended pending review: ${r.reason}`);
    if (r.action === 'step_up') {
      // A session opened after the response, with the second factor when the account has one.
      const fresh = principal.sessionCreatedAt !== null && principal.sessionCreatedAt > r.since;
      if (fresh && (principal.mfa || !principal.account.mfaEnrolled)) return null;
      return new AppError('step_up_required', `log in again${principal.account.mfaEnrolled ? ' with your one-time code' : ''} to continue (${r.reason})`);
    }
    if (action !== 'reveal') return null;
    const log = (throttleLog.get(principal.account.id) ?? []).filter((t) => t > now - 3_600_000);
    if (log.length >= throttlePerHour) {
      throttleLog.set(principal.account.id, log);
      return new AppError('throttled', `reveals are throttled to ${throttlePerHour} per hour pending review (${r.reason})`, { retryAfterSeconds: Math.ceil((log[0]! + 3_600_000 - now) / 1000) });
    }
    log.push(now);
    throttleLog.set(principal.account.id, log);
    return null;
  }

  async function clearResponse(account: string, actor: string, ctx: RequestContext): Promise<{ account: string; cleared: string | null }> {
    const current = active.get(account);
    await audit.append(
      [{ kind: 'watch.response_cleared', ts: new Date(clock.now()), decision: 'ok', account, reason: current?.action ?? 'none', ip: ctx.ip, requestId: ctx.requestId, detail: { actor } }],
      async (tx) => {
        await tx.deleteFrom('account_responses').where('account', '=', account).execute();
      },
    );
    active.delete(account);
    throttleLog.delete(account);
    if (current?.action === 'suspend') {
      const info = await deps.identity.loadAccount(account);
      if (info?.status === 'suspended') await deps.identity.setStatus(account, 'active', `cleared by ${actor}`, actor, ctx);
    }
    return { account, cleared: current?.action ?? null };
  }

  async function listAlerts(q: AlertQuery) {
    let query = db.selectFrom('alerts').select(['id', 'ts', 'account', 'device', 'detector', 'severity', 'score', 'summary', 'incident', 'response', 'status', 'verdict', 'note', 'updated_by', 'updated_at', 'body']);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.severity) query = query.where('severity', '=', q.severity);
    if (q.minSeverity) {
      const order: Severity[] = ['low', 'medium', 'high', 'critical'];
      query = query.where('severity', 'in', order.slice(order.indexOf(q.minSeverity)));
    }
    if (q.account) query = query.where('account', '=', q.account);
    if (q.since) query = query.where('ts', '>=', new Date(q.since));
    if (q.until) query = query.where('ts', '<', new Date(q.until));
    const rows = await query.orderBy('ts', 'desc').orderBy('id').limit(q.limit ?? 100).execute();
    return rows.map(({ body, ...r }) => {
      const full = (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
      return { ...r, ts: new Date(r.ts).toISOString(), updated_at: new Date(r.updated_at).toISOString(), evidence: full.evidence ?? {}, risk: full.risk ?? null };
    });
  }

  async function updateAlert(id: string, change: { status?: 'acknowledged' | 'resolved' | undefined; verdict?: 'true_positive' | 'false_positive' | undefined; note?: string | undefined }, actor: string, ctx: RequestContext) {
    const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `alert ${id} does not exist`);
    const status = change.status ?? (change.verdict ? 'resolved' : row.status);
    await audit.append(
      [{ kind: 'watch.alert_updated', ts: new Date(clock.now()), decision: 'ok', account: row.account, ip: ctx.ip, requestId: ctx.requestId, reason: change.verdict ?? status, detail: { alert: id, actor, status } }],
      async (tx) => {
        await tx
          .updateTable('alerts')
          .set({ status, verdict: change.verdict ?? row.verdict, note: change.note ?? row.note, updated_by: actor, updated_at: new Date(clock.now()) })
          .where('id', '=', id)
          .execute();
      },
    );
    if (change.verdict) {
      const body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as AlertOut;
      // A false positive teaches the engine (its device or network becomes known for the account).
      engine.feedback({ alert: body, verdict: change.verdict, ...(change.note ? { note: change.note } : {}) });
    }
    return (await listAlerts({ limit: 1, ...(row.account ? { account: row.account } : {}) })).find((a) => a.id === id) ?? { id, status };
  }

  async function addException(input: Omit<DetectionException, 'created_by'>, actor: string, ctx: RequestContext) {
    const id = randomUUID();
    const x = { ...input, created_by: actor };
    engine.addException(x);
    await audit.append(
      [{ kind: 'watch.exception_added', ts: new Date(clock.now()), decision: 'ok', account: input.account ?? null, ip: ctx.ip, requestId: ctx.requestId, reason: input.kind, detail: { exception: id, until: input.until, actor } }],
      async (tx) => {
        await tx
          .insertInto('detect_exceptions')
          .values({ id, kind: input.kind, account: input.account ?? null, value: input.value, until: new Date(input.until), reason: input.reason, created_by: actor, created_at: new Date(clock.now()), removed_at: null })
          .execute();
      },
    );
    return { id, ...x };
  }

  async function removeException(id: string, actor: string, ctx: RequestContext) {
    const row = await db.selectFrom('detect_exceptions').selectAll().where('id', '=', id).where('removed_at', 'is', null).executeTakeFirst();
    if (!row) throw new AppError('not_found', `exception ${id} does not exist`);
    await audit.append(
      [{ kind: 'watch.exception_removed', ts: new Date(clock.now()), decision: 'ok', account: row.account, ip: ctx.ip, requestId: ctx.requestId, reason: row.kind, detail: { exception: id, actor } }],
      async (tx) => {
        await tx.updateTable('detect_exceptions').set({ removed_at: new Date(clock.now()) }).where('id', '=', id).execute();
      },
    );
    engine.removeException({ kind: row.kind, value: row.value, ...(row.account ? { account: row.account } : {}) });
    return { id, removed: true };
  }

  async function listExceptions() {
    const rows = await db.selectFrom('detect_exceptions').selectAll().where('removed_at', 'is', null).orderBy('created_at', 'desc').execute();
    return rows.map((r) => ({ ...r, until: new Date(r.until).toISOString(), created_at: new Date(r.created_at).toISOString() }));
  }

  return {
    start,
    gate,
    clearResponse,
    setResponse,
    listAlerts,
    updateAlert,
    addException,
    removeException,
    listExceptions,
    responseOf: (account: string) => active.get(account) ?? null,
    stats: () => ({ alertsRaised, engine: engine.stats() }),
    /** Waits for queued events to be processed (tests, shutdown). */
    async idle() {
      await processing;
    },
    async stop() {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      await processing;
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

function toException(x: Database['detect_exceptions'] extends infer T ? { [K in keyof T]: unknown } : never): DetectionException {
  return {
    kind: x.kind as DetectionException['kind'],
    ...(x.account ? { account: x.account as string } : {}),
    value: x.value as string,
    until: new Date(x.until as string | Date).toISOString(),
    reason: x.reason as string,
    created_by: x.created_by as string,
  };
}
