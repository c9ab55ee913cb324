/**
 * The account investigation queries behind the console's account page: the activity timeline
 * (each reveal marked explained or unexplained and by what), risk over time, devices (enrolled
 * id and the client's label), networks and cities, and the working-hours profile against the account's peers.
 *
 * Invariants:
 * - Read-only, over the audit trail (which never holds PII), alerts and activity events.
 * - Every query is bounded: a time window with a maximum, a row limit, a keyset cursor on the
 *   (account, ts) index — never an offset.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Clock } from '../ops/clock.js';
import { AppError } from '../errors.js';
import { networkOf } from '../detect/util.js';
import { deviceLabels } from '../identity/devices.js';
import { explainBasis } from './explain.js';
import type { RiskSource } from './overview.js';

const DAY = 86_400_000;
/** Entry kinds that are the account's own activity (what the peers comparison counts). */
const ACTIVITY_KINDS = ['access.view', 'access.reveal', 'access.search', 'access.print', 'auth.login', 'auth.logout'];
const MAX_PEERS = 50;

export interface ActivityQuery {
  cursor?: string | undefined;
  limit: number;
  kinds?: string[] | undefined;
  since?: string | undefined;
  until?: string | undefined;
  unexplainedOnly?: boolean | undefined;
}

export interface InvestigationDeps {
  db: Kysely<Database>;
  clock: Clock;
  risk: RiskSource | null;
}

const parseDetail = (d: unknown): Record<string, unknown> => (typeof d === 'string' ? (JSON.parse(d) as Record<string, unknown>) : ((d as Record<string, unknown> | null) ?? {}));

function encodeCursor(ts: Date, seq: number): string {
  return Buffer.from(`${new Date(ts).toISOString()}|${seq}`).toString('base64url');
}
function decodeCursor(cursor: string): { ts: Date; seq: number } {
  const [ts, seq] = Buffer.from(cursor, 'base64url').toString().split('|');
  const t = new Date(ts ?? '');
  if (!ts || Number.isNaN(t.getTime()) || !/^\d+$/.test(seq ?? '')) throw new AppError('validation_failed', 'cursor is not one this API returned', { fields: [{ field: 'cursor', code: 'invalid', message: 'unknown cursor' }] });
  return { ts: t, seq: Number(seq) };
}

export function createInvestigation(deps: InvestigationDeps) {
  const { db, clock } = deps;

  async function account(id: string) {
    const row = await db
      .selectFrom('accounts')
      .leftJoin('sites', 'sites.code', 'accounts.site')
      .leftJoin('account_responses', 'account_responses.account', 'accounts.id')
      .select(['accounts.id', 'accounts.role', 'accounts.site', 'accounts.status', 'accounts.status_reason', 'sites.city', 'account_responses.action', 'account_responses.reason', 'account_responses.since'])
      .where('accounts.id', '=', id)
      .executeTakeFirst();
    if (!row) throw new AppError('not_found', `account ${id} does not exist`);
    return row;
  }

  async function activity(id: string, q: ActivityQuery) {
    await account(id);
    let query = db
      .selectFrom('audit_log')
      .select(['seq', 'ts', 'kind', 'role', 'site', 'device', 'ip', 'session', 'waybill', 'fields', 'purpose', 'ticket', 'decision', 'reason', 'detail'])
      .where('account', '=', id);
    if (q.kinds?.length) query = query.where('kind', 'in', q.kinds);
    if (q.since) query = query.where('ts', '>=', new Date(q.since));
    if (q.until) query = query.where('ts', '<', new Date(q.until));
    if (q.unexplainedOnly) {
      query = query.where('kind', '=', 'access.reveal').where('decision', '=', 'allowed').where((eb) =>
        eb.or([eb(sql`detail->>'basis'`, 'is', null), eb(sql`detail->>'basis'`, '!~', 'assignment|ticket|phone_search|case')]),
      );
    }
    if (q.cursor) {
      const c = decodeCursor(q.cursor);
      query = query.where((eb) => eb.or([eb('ts', '<', c.ts), eb.and([eb('ts', '=', c.ts), eb('seq', '<', c.seq)])]));
    }
    const rows = await query.orderBy('ts', 'desc').orderBy('seq', 'desc').limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      account: id,
      entries: page.map((r) => {
        const detail = parseDetail(r.detail);
        const isReveal = r.kind === 'access.reveal' && r.decision === 'allowed';
        const e = isReveal ? explainBasis(detail.basis) : null;
        return {
          seq: Number(r.seq),
          ts: new Date(r.ts).toISOString(),
          kind: r.kind,
          decision: r.decision,
          reason: r.reason,
          role: r.role,
          site: r.site,
          device: r.device,
          ip: r.ip,
          network: r.ip ? networkOf(r.ip) : null,
          waybill: r.waybill,
          fields: r.fields ? r.fields.split(',') : [],
          purpose: r.purpose,
          ticket: r.ticket,
          case: typeof detail.case === 'string' ? detail.case : null,
          basis: typeof detail.basis === 'string' ? detail.basis : null,
          explained: e ? e.explained : null,
          explained_by: e ? e.by : null,
          actor: typeof detail.actor === 'string' ? detail.actor : null,
          matches: typeof detail.matches === 'number' ? detail.matches : null,
        };
      }),
      next_cursor: rows.length > q.limit && last ? encodeCursor(last.ts, Number(last.seq)) : null,
    };
  }

  async function risk(id: string, days: number) {
    const a = await account(id);
    const now = clock.now();
    const rows = await db
      .selectFrom('alerts')
      .select(['id', 'ts', 'detector', 'severity', 'score', 'status', 'verdict', 'body'])
      .where('account', '=', id)
      .where('ts', '>', new Date(now - days * DAY))
      .orderBy('ts', 'asc')
      .limit(1000)
      .execute();
    const current = deps.risk?.riskOf(id, now) ?? null;
    return {
      account: id,
      role: a.role,
      site: a.site,
      city: a.city,
      status: a.status,
      status_reason: a.status_reason,
      response: a.action ? { action: a.action, reason: a.reason, since: new Date(a.since!).toISOString() } : null,
      risk_now: current?.risk ?? null,
      response_due: current?.response ?? null,
      at: new Date(now).toISOString(),
      points: rows.map((r) => {
        const body = parseDetail(r.body);
        return { ts: new Date(r.ts).toISOString(), risk: typeof body.risk === 'number' ? Math.round(body.risk) : null, alert: r.id, detector: r.detector, severity: r.severity, score: r.score, status: r.status, verdict: r.verdict };
      }),
    };
  }

  async function footprint(id: string, days: number) {
    await account(id);
    const since = new Date(clock.now() - days * DAY);
    const seen = (col: 'device' | 'ip') =>
      db
        .selectFrom('audit_log')
        .select([col])
        .select(sql<Date>`min(ts)`.as('first'))
        .select(sql<Date>`max(ts)`.as('last'))
        .select(sql<number>`count(*)::int`.as('n'))
        .where('account', '=', id)
        .where('ts', '>', since)
        .where(col, 'is not', null)
        .groupBy(col)
        .orderBy(sql`max(ts)`, 'desc')
        .limit(col === 'ip' ? 500 : 50)
        .execute();
    const [devices, ips, cities] = await Promise.all([
      seen('device'),
      seen('ip'),
      sql<{ city: string; first: Date; last: Date; n: number }>`
        select body->>'city' as city, min(ts) as first, max(ts) as last, count(*)::int as n from activity_events
        where account = ${id} and ts > ${since} and body->>'city' is not null group by 1 order by max(ts) desc limit 50`.execute(db),
    ]);
    const labels = await deviceLabels(db, devices.map((d) => d.device!));
    const networks = new Map<string, { network: string; first: number; last: number; n: number; ips: number }>();
    for (const r of ips) {
      const key = networkOf(r.ip!);
      const n = networks.get(key) ?? { network: key, first: Infinity, last: -Infinity, n: 0, ips: 0 };
      n.first = Math.min(n.first, new Date(r.first).getTime());
      n.last = Math.max(n.last, new Date(r.last).getTime());
      n.n += Number(r.n);
      n.ips++;
      networks.set(key, n);
    }
    const iso = (t: Date | number) => new Date(t).toISOString();
    return {
      account: id,
      days,
      // The trail names the enrolled device id; its label is the name the client gave at enrolment.
      devices: devices.map((d) => ({ device: d.device!, label: labels.get(d.device!) ?? null, first: iso(d.first), last: iso(d.last), events: Number(d.n) })),
      networks: [...networks.values()].sort((a, b) => b.last - a.last).slice(0, 50).map((n) => ({ network: n.network, first: iso(n.first), last: iso(n.last), events: n.n, addresses: n.ips })),
      cities: cities.rows.map((c) => ({ city: c.city, first: iso(c.first), last: iso(c.last), events: Number(c.n) })),
    };
  }

  /** Activity per (weekday, hour) in the viewer's time zone: the account's, and its peers' mean. */
  async function hours(id: string, days: number, tzOffsetMinutes: number) {
    const a = await account(id);
    const since = new Date(clock.now() - days * DAY);
    const peers = a.site
      ? (await db.selectFrom('accounts').select('id').where('role', '=', a.role).where('site', '=', a.site).where('id', '<>', id).orderBy('id').limit(MAX_PEERS).execute()).map((p) => p.id)
      : [];
    const rows = await db
      .selectFrom('audit_log')
      .select(['account'])
      .select(sql<Date>`date_trunc('hour', ts)`.as('h'))
      .select(sql<number>`count(*)::int`.as('n'))
      .where('account', 'in', [id, ...peers])
      .where('ts', '>', since)
      .where('kind', 'in', ACTIVITY_KINDS)
      .groupBy(['account', sql`date_trunc('hour', ts)`])
      .execute();
    const grid = () => Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
    const own = grid();
    const peerSum = grid();
    const activePeers = new Set<string>();
    for (const r of rows) {
      const local = new Date(new Date(r.h).getTime() + tzOffsetMinutes * 60_000);
      const day = (local.getUTCDay() + 6) % 7; // Monday first
      const hour = local.getUTCHours();
      if (r.account === id) own[day]![hour]! += Number(r.n);
      else {
        peerSum[day]![hour]! += Number(r.n);
        activePeers.add(r.account!);
      }
    }
    const k = activePeers.size || 1;
    return {
      account: id,
      days,
      tz_offset_minutes: tzOffsetMinutes,
      peer_group: { role: a.role, site: a.site, size: peers.length, active: activePeers.size },
      account_hours: own,
      peer_hours: peerSum.map((row) => row.map((v) => Math.round((v / k) * 10) / 10)),
    };
  }

  return { activity, risk, footprint, hours };
}

export type Investigation = ReturnType<typeof createInvestigation>;
