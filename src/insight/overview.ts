/**
 * The overview the console's first page shows, and its live stream: events per second, allowed
 * reveals by role and by basis (explained or not), refusals by reason, open alerts by severity,
 * the riskiest accounts now, the newest alerts, and a 24-hour trend.
 *
 * Invariants:
 * - Reading the overview never scans the audit trail: reveals and refusals come from an
 *   in-memory rollup fed by committed audit records (seeded once, in the background, from the
 *   last 25 hours at start); alert counts come from the indexed alerts table.
 * - One snapshot is computed per tick however many consoles listen; listeners are bounded.
 * - In a multi-process deployment each process counts the audit records it committed itself
 *   (plus the seed); alerts and risk are shared through the database and the engine.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditRecord } from '../audit/kinds.js';
import type { EventBus } from '../events/bus.js';
import type { Clock } from '../ops/clock.js';
import type { Logger } from '../ops/logger.js';
import { errorSummary } from '../audit/writer.js';
import { createRollup, type Rollup, type WindowTotals } from './rollup.js';

const HOUR = 3_600_000;
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

export interface RiskSource {
  riskOf(account: string, at?: number): { risk: number; response: string };
}

export interface OverviewDeps {
  db: Kysely<Database>;
  audit: { onCommitted(listener: (records: AuditRecord[]) => void): void };
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** The live engine's risk book; null when detection is off. */
  risk: RiskSource | null;
  /** How often the stream pushes a snapshot (ms). */
  tickMs?: number;
  maxListeners?: number;
}

export interface OverviewSnapshot {
  at: string;
  events_per_second: number;
  last_hour: WindowTotals;
  alerts_open: Record<(typeof SEVERITIES)[number], number>;
  riskiest: Array<{ account: string; role: string | null; site: string | null; status: string | null; risk: number; response: string; in_force: string | null; alerts: number; last_alert: string }>;
  latest_alerts: Array<{ id: string; ts: string; account: string | null; device: string | null; detector: string; severity: string; summary: string; status: string }>;
  trend: Array<{ hour: string; events: number; reveals: number; explained: number; unexplained: number; refusals: number; alerts: number }>;
  detection: boolean;
}

type Listener = (s: OverviewSnapshot) => void;

/**
 * The snapshot as one reader sees it: the riskiest accounts and latest alerts leave out the
 * reader's own accounts (and those linked by creation) and devices (attack review 10: a suspected
 * analyst read his own risk, response and alerts off the overview). The counts stay whole.
 */
export function forReader(s: OverviewSnapshot, self: { accounts: string[]; devices: string[] }): OverviewSnapshot {
  if (!self.accounts.length && !self.devices.length) return s;
  const accounts = new Set(self.accounts);
  const devices = new Set(self.devices);
  return {
    ...s,
    riskiest: s.riskiest.filter((r) => !accounts.has(r.account)),
    latest_alerts: s.latest_alerts.filter((a) => !(a.account && accounts.has(a.account)) && !(a.device && devices.has(a.device))),
  };
}

export function createOverview(deps: OverviewDeps) {
  const { db, clock, logger } = deps;
  const rollup: Rollup = createRollup();
  const listeners = new Set<Listener>();
  const maxListeners = deps.maxListeners ?? 200;
  let seededThrough = -1;
  let seed: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let cached: { at: number; value: Promise<OverviewSnapshot> } | null = null;
  let unsubscribe: (() => void) | undefined;

  function onRecords(records: AuditRecord[]): void {
    for (const r of records) {
      if (r.seq <= seededThrough) continue;
      if (r.kind === 'access.reveal') rollup.addReveal({ ts: r.ts.getTime(), role: r.role ?? null, decision: r.decision, reason: r.reason ?? null, basis: r.detail?.basis });
    }
  }

  function start(): void {
    deps.audit.onCommitted(onRecords);
    unsubscribe = deps.bus.subscribe('insight-overview', (events) => {
      for (const e of events) {
        const seq = e.id.startsWith('audit-') ? Number(e.id.slice(6)) : NaN;
        if (seq <= seededThrough) continue;
        rollup.addEvents(Date.parse(e.ts), 1);
      }
    });
    seed = seedFromStore().catch((err: unknown) => logger.error({ err: errorSummary(err) }, 'overview: seeding the last day from the store failed; counting from now'));
  }

  /** The last 25 hours from the store, up to the audit head at start (live records count after it). */
  async function seedFromStore(): Promise<void> {
    const head = await db.selectFrom('audit_head').select('seq').executeTakeFirst();
    const through = Number(head?.seq ?? 0);
    seededThrough = through;
    const since = new Date(clock.now() - 25 * HOUR);
    const startedAt = new Date(clock.now());
    const reveals = await sql<{ m: Date; role: string | null; decision: string; reason: string | null; basis: string | null; n: number }>`
      select date_trunc('minute', ts) as m, role, decision, reason, detail->>'basis' as basis, count(*)::int as n
      from audit_log where kind = 'access.reveal' and ts > ${since} and seq <= ${through}
      group by 1, 2, 3, 4, 5`.execute(db);
    for (const r of reveals.rows) rollup.addReveal({ ts: new Date(r.m).getTime(), role: r.role, decision: r.decision, reason: r.reason, basis: r.basis, count: Number(r.n) });
    const audited = await sql<{ m: Date; n: number }>`
      select date_trunc('minute', ts) as m, count(*)::int as n from audit_log
      where ts > ${since} and seq <= ${through} and (kind like 'access.%' or kind like 'auth.%') group by 1`.execute(db);
    for (const r of audited.rows) rollup.addEvents(new Date(r.m).getTime(), Number(r.n), false);
    const ingested = await sql<{ m: Date; n: number }>`
      select date_trunc('minute', ts) as m, count(*)::int as n from activity_events
      where ts > ${since} and received_at < ${startedAt} group by 1`.execute(db);
    for (const r of ingested.rows) rollup.addEvents(new Date(r.m).getTime(), Number(r.n), false);
  }

  async function compute(): Promise<OverviewSnapshot> {
    await seed;
    const now = clock.now();
    const dayAgo = new Date(now - 24 * HOUR);
    const [open, alertHours, latest, riskiest] = await Promise.all([
      db.selectFrom('alerts').select(['severity']).select(sql<number>`count(*)::int`.as('n')).where('status', '<>', 'resolved').groupBy('severity').execute(),
      sql<{ h: Date; n: number }>`select date_trunc('hour', ts) as h, count(*)::int as n from alerts where ts > ${dayAgo} group by 1`.execute(db),
      db.selectFrom('alerts')
        .select(['id', 'ts', 'account', 'device', 'detector', 'severity', 'summary', 'status'])
        .where('severity', 'in', ['medium', 'high', 'critical'])
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(8)
        .execute(),
      riskiestAccounts(now),
    ]);
    const alertsOpen = { low: 0, medium: 0, high: 0, critical: 0 };
    for (const r of open) alertsOpen[r.severity] = Number(r.n);
    const alertsByHour = new Map(alertHours.rows.map((r) => [new Date(r.h).getTime(), Number(r.n)]));
    return {
      at: new Date(now).toISOString(),
      events_per_second: rollup.eventsPerSecond(),
      last_hour: rollup.totals(now - HOUR, now + 60_000),
      alerts_open: alertsOpen,
      riskiest,
      latest_alerts: latest.map((a) => ({ ...a, ts: new Date(a.ts).toISOString() })),
      trend: rollup.hourly(now, 24).map((h) => ({ ...h, hour: new Date(h.hour).toISOString(), alerts: alertsByHour.get(h.hour) ?? 0 })),
      detection: deps.risk !== null,
    };
  }

  /** Accounts with alerts in the last two days, ranked by their current (decayed) risk. */
  async function riskiestAccounts(now: number): Promise<OverviewSnapshot['riskiest']> {
    if (!deps.risk) return [];
    const rows = await db
      .selectFrom('alerts')
      .select(['account'])
      .select(sql<Date>`max(ts)`.as('last'))
      .select(sql<number>`count(*)::int`.as('n'))
      .where('ts', '>', new Date(now - 48 * HOUR))
      .where('account', 'is not', null)
      .groupBy('account')
      .orderBy(sql`max(ts)`, 'desc')
      .limit(500)
      .execute();
    const ranked = rows
      .map((r) => ({ account: r.account!, last: r.last, n: Number(r.n), ...deps.risk!.riskOf(r.account!, now) }))
      .filter((r) => r.risk > 0)
      .sort((a, b) => b.risk - a.risk || a.account.localeCompare(b.account))
      .slice(0, 10);
    if (!ranked.length) return [];
    const ids = ranked.map((r) => r.account);
    const [accounts, responses] = await Promise.all([
      db.selectFrom('accounts').select(['id', 'role', 'site', 'status']).where('id', 'in', ids).execute(),
      db.selectFrom('account_responses').select(['account', 'action']).where('account', 'in', ids).execute(),
    ]);
    const byId = new Map(accounts.map((a) => [a.id, a]));
    const inForce = new Map(responses.map((r) => [r.account, r.action]));
    return ranked.map((r) => ({
      account: r.account,
      role: byId.get(r.account)?.role ?? null,
      site: byId.get(r.account)?.site ?? null,
      status: byId.get(r.account)?.status ?? null,
      risk: r.risk,
      response: r.response,
      in_force: inForce.get(r.account) ?? null,
      alerts: r.n,
      last_alert: new Date(r.last).toISOString(),
    }));
  }

  /** The current snapshot; concurrent callers within a second share one computation. */
  function snapshot(): Promise<OverviewSnapshot> {
    const t = Date.now();
    if (cached && t - cached.at < 1000) return cached.value;
    const value = compute();
    cached = { at: t, value };
    value.catch(() => {
      if (cached?.value === value) cached = null;
    });
    return value;
  }

  function tick(): void {
    if (!listeners.size) return;
    snapshot().then(
      (s) => {
        for (const l of listeners) l(s);
      },
      (err: unknown) => logger.error({ err: errorSummary(err) }, 'overview snapshot failed'),
    );
  }

  /** Registers a stream listener; returns null when the listener limit is reached. */
  function listen(listener: Listener): (() => void) | null {
    if (listeners.size >= maxListeners) return null;
    listeners.add(listener);
    if (!timer) {
      timer = setInterval(tick, deps.tickMs ?? 2000);
      timer.unref();
    }
    return () => {
      listeners.delete(listener);
      if (!listeners.size && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  }

  function stop(): void {
    unsubscribe?.();
    if (timer) clearInterval(timer);
    timer = undefined;
    listeners.clear();
  }

  return { start, snapshot, listen, stop, listeners: () => listeners.size, ready: () => seed };
}

export type Overview = ReturnType<typeof createOverview>;
