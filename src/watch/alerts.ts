/**
 * Alerts and their triage: stored as the engine raises them (with the subject's site and city for
 * filtering), listed newest first with keyset pages, reviewed, assigned and bulk-updated by
 * analysts — every change audited with its actor.
 *
 * Invariants: nobody changes an alert about themselves (their account or one of their devices),
 * nor assigns it to its own subject; a bulk update applies that rule, and the audit, per alert.
 * Attack review 9:
 * - Nor one that names them as the actor, requester or approver of what it reports (a
 *   privileged_account_change alert: its approver, or the admin token about its own act, closed it).
 * - A verdict closes the alert and teaches the engine nothing it would not be told by a second
 *   analyst (engine.feedback only takes back the alert's risk); the admin token sets no verdict
 *   (403, audited), so every verdict is a named analyst's.
 * - A reader's list leaves out the alerts about themselves (their account, an account linked to
 *   theirs by creation, their devices), as cases naming them.
 */
import type { Kysely } from 'kysely';
import type { Severity } from '../contracts/events.js';
import type { Database } from '../store/schema.js';
import type { AlertOut, DetectionEngine } from '../detect/engine.js';
import type { AuditWriter } from '../audit/writer.js';
import type { IdentityService } from '../identity/identity.js';
import type { Clock } from '../ops/clock.js';
import { AppError, isAppError } from '../errors.js';
import { profileOf } from '../access/roles.js';
import { deviceAccounts, footprintOf, isOwn, readerSelf, refuseSameHand, refuseSelf, type Footprint } from '../access/self.js';
import { actorName, type Actor, type RequestContext } from '../identity/identity.js';

const SEVERITY_ORDER: Severity[] = ['low', 'medium', 'high', 'critical'];

export interface AlertQuery {
  id?: string | undefined;
  status?: 'open' | 'acknowledged' | 'resolved' | undefined;
  severity?: Severity | undefined;
  minSeverity?: Severity | undefined;
  account?: string | undefined;
  detector?: string | undefined;
  site?: string | undefined;
  city?: string | undefined;
  assignee?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** Keyset: alerts after this one in the listing order (newest first). */
  after?: { ts: string; id: string } | undefined;
  limit?: number | undefined;
  /** Left out: alerts about these accounts or devices (the reader's own). */
  hide?: { accounts: readonly string[]; devices: readonly string[] } | undefined;
}

/** Evidence fields in which an alert names who did what it reports (privileged_account_change: `actor`). */
const NAMED_FIELDS = ['actor', 'requested_by', 'requester', 'approved_by', 'approver', 'created_by'] as const;

/** The people an alert names as actor, requester or approver of what it reports. */
export function namedIn(evidence: unknown): string[] {
  if (!evidence || typeof evidence !== 'object') return [];
  const e = evidence as Record<string, unknown>;
  return NAMED_FIELDS.flatMap((k) => (typeof e[k] === 'string' && e[k] ? [e[k] as string] : []));
}

export interface AlertChange {
  status?: 'acknowledged' | 'resolved' | undefined;
  verdict?: 'true_positive' | 'false_positive' | undefined;
  note?: string | undefined;
  /** An analyst's account; null unassigns. */
  assignee?: string | null | undefined;
}

export interface AlertsDeps {
  db: Kysely<Database>;
  engine: DetectionEngine;
  identity: IdentityService;
  audit: AuditWriter;
  clock: Clock;
}

export function createAlerts(deps: AlertsDeps) {
  const { db, audit, clock } = deps;

  /** Stores new alerts (idempotent by id) with their subject's site and city at this moment. */
  async function store(alerts: AlertOut[]): Promise<void> {
    const accounts = [...new Set(alerts.flatMap((a) => (a.account ? [a.account] : [])))];
    const homes = accounts.length
      ? await db.selectFrom('accounts').leftJoin('sites', 'sites.code', 'accounts.site').select(['accounts.id', 'accounts.site', 'sites.city']).where('accounts.id', 'in', accounts).execute()
      : [];
    const home = new Map(homes.map((h) => [h.id, h]));
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
          assignee: null,
          site: (a.account && home.get(a.account)?.site) ?? null,
          city: (a.account && home.get(a.account)?.city) ?? null,
        })),
      )
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async function list(q: AlertQuery) {
    let query = db
      .selectFrom('alerts')
      .select(['id', 'ts', 'account', 'device', 'detector', 'severity', 'score', 'summary', 'incident', 'response', 'status', 'verdict', 'note', 'assignee', 'site', 'city', 'updated_by', 'updated_at', 'body']);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.severity) query = query.where('severity', '=', q.severity);
    if (q.minSeverity) query = query.where('severity', 'in', SEVERITY_ORDER.slice(SEVERITY_ORDER.indexOf(q.minSeverity)));
    for (const key of ['id', 'account', 'detector', 'site', 'city', 'assignee'] as const) {
      const value = q[key];
      if (value !== undefined) query = query.where(key, '=', value);
    }
    const hide = q.hide;
    if (hide?.accounts.length) query = query.where((eb) => eb.or([eb('account', 'is', null), eb('account', 'not in', [...hide.accounts])]));
    if (hide?.devices.length) query = query.where((eb) => eb.or([eb('device', 'is', null), eb('device', 'not in', [...hide.devices])]));
    if (q.since) query = query.where('ts', '>=', new Date(q.since));
    if (q.until) query = query.where('ts', '<', new Date(q.until));
    const after = q.after;
    if (after) {
      const ts = new Date(after.ts);
      query = query.where((eb) => eb.or([eb('ts', '<', ts), eb.and([eb('ts', '=', ts), eb('id', '>', after.id)])]));
    }
    const rows = await query.orderBy('ts', 'desc').orderBy('id').limit(q.limit ?? 100).execute();
    return rows.map(({ body, ...r }) => {
      const full = (typeof body === 'string' ? JSON.parse(body) : body) as Record<string, unknown>;
      return { ...r, ts: new Date(r.ts).toISOString(), updated_at: new Date(r.updated_at).toISOString(), evidence: full.evidence ?? {}, risk: full.risk ?? null };
    });
  }

  async function checkAssignee(assignee: string | null | undefined): Promise<void> {
    if (!assignee) return;
    const account = await deps.identity.loadAccount(assignee);
    if (!account || !profileOf(account.role).analyst) {
      throw new AppError('validation_failed', `assignee ${assignee} is not an analyst account`, { fields: [{ field: 'assignee', code: 'not_analyst', message: 'must be an analyst account' }] });
    }
  }

  /** The list as a reader sees it: without the alerts about the reader (attack review 9). */
  async function listFor(q: AlertQuery, actor: Actor) {
    return list({ ...q, hide: await readerSelf(db, actor) });
  }

  /** A verdict is a named analyst's: the admin token sets none (403, audited as denied). */
  async function refuseAdminVerdict(ids: readonly string[], change: AlertChange, actor: Actor, ctx: RequestContext): Promise<void> {
    if (!change.verdict || actor.kind === 'account') return;
    const err = new AppError('forbidden', 'the admin token may not set a verdict on an alert: a security analyst does, from their own account');
    await audit.append([{ kind: 'watch.alert_updated', ts: new Date(clock.now()), decision: 'denied', reason: err.code, account: null, ip: ctx.ip, requestId: ctx.requestId, detail: { alerts: ids.slice(0, 200), verdict: change.verdict, actor: actorName(actor) } }]);
    throw err;
  }

  async function update(id: string, change: AlertChange, actor: Actor, ctx: RequestContext) {
    await refuseAdminVerdict([id], change, actor, ctx);
    await checkAssignee(change.assignee);
    return apply(id, change, actor, ctx, await footprintOf(db, actor, ctx));
  }

  async function apply(id: string, change: AlertChange, actor: Actor, ctx: RequestContext, own: Footprint | null) {
    const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new AppError('not_found', `alert ${id} does not exist`);
    const ts = new Date(clock.now());
    if (isOwn(own, { account: row.account, device: row.device }) || (change.assignee && change.assignee === row.account)) {
      await refuseSelf(audit, { kind: 'watch.alert_updated', ts, account: row.account, detail: { alert: id } }, actor, ctx, 'review or assign an alert about yourself (your account or device), nor assign an alert to its subject');
    }
    const body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as AlertOut;
    // Nor through a puppet: not an alert about an account linked to the actor by creation (access/self.ts);
    // nor one naming the actor (or an account linked to it) as who made, asked for or approved what it reports;
    // nor one about a device such an account enrolled or used (attack review 10).
    const deviceHolders = await deviceAccounts(db, [row.device]);
    await refuseSameHand(db, audit, { kind: 'watch.alert_updated', ts, account: row.account, detail: { alert: id } }, actor, ctx, 'review or assign an alert about yourself (your account or device, or a change you made, asked for or approved), nor assign an alert to its subject', [row.account, ...namedIn(body.evidence), ...deviceHolders]);
    const status = change.status ?? (change.verdict ? 'resolved' : row.status);
    const assignee = change.assignee === undefined ? row.assignee : change.assignee;
    await audit.append(
      [{ kind: 'watch.alert_updated', ts, decision: 'ok', account: row.account, ip: ctx.ip, requestId: ctx.requestId, reason: change.verdict ?? status, detail: { alert: id, actor: actorName(actor), status, assignee } }],
      async (tx) => {
        await tx
          .updateTable('alerts')
          .set({ status, verdict: change.verdict ?? row.verdict, note: change.note ?? row.note, assignee, updated_by: actorName(actor), updated_at: ts })
          .where('id', '=', id)
          .execute();
      },
    );
    if (change.verdict) {
      // Counted, and a false positive's risk taken back; nothing learnt (an exception, two analysts, teaches the engine).
      deps.engine.feedback({ alert: body, verdict: change.verdict, ...(change.note ? { note: change.note } : {}) });
    }
    return (await list({ id, limit: 1 }))[0]!;
  }

  /** The same change to many alerts; each succeeds or fails on its own (self-action, not found). */
  async function bulk(ids: readonly string[], change: AlertChange, actor: Actor, ctx: RequestContext) {
    await refuseAdminVerdict(ids, change, actor, ctx);
    await checkAssignee(change.assignee);
    const own = await footprintOf(db, actor, ctx);
    const results = [];
    for (const id of new Set(ids)) {
      try {
        results.push({ id, ok: true as const, alert: await apply(id, change, actor, ctx, own) });
      } catch (err) {
        if (!isAppError(err) || !['self_action', 'not_found', 'audit_inconsistent', 'conflict'].includes(err.code)) throw err;
        results.push({ id, ok: false as const, error: { code: err.code, message: err.message } });
      }
    }
    return { results };
  }

  return { store, list, listFor, update, bulk };
}
export type Alerts = ReturnType<typeof createAlerts>;
