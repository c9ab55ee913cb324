/**
 * Who asked, as the trail recorded it (attack review 10): every second-person check compares the
 * approver with the requester, and the requester was read from the row (`cases.opened_by`,
 * `detect_exceptions.created_by`, …). The database owner rewrote that column to another analyst's
 * name and approved their own request. The trail is hash-chained, signed and witnessed; the row is
 * not. So the requester is the actor of the entry that filed the request — the entry of the
 * request's kind whose detail names the request's id (one indexed read, migration 0021) — and a
 * row that names someone else, or a request the trail never recorded, is refused: 409
 * `audit_inconsistent`, audited as a denied entry of the approval's kind naming the column, never
 * approved (fail closed). `warden audit reconcile` names such rows too (src/audit/reconcile/).
 *
 * The one place that knows which entry files which request; every approval path uses it.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { AuditWriter } from './writer.js';
import type { AuditEntryInput, AuditKind } from './kinds.js';
import { AppError } from '../errors.js';
import { actorName, type Actor, type RequestContext } from '../identity/types.js';

/** What can wait for a second person, with the entry that files it and the column that names its requester. */
export const REQUESTS = {
  case: { kind: 'case.opened', key: 'case', column: 'cases.opened_by' },
  exception: { kind: 'watch.exception_added', key: 'exception', column: 'detect_exceptions.created_by' },
  service_token: { kind: 'admin.service_token_created', key: 'token_id', column: 'service_tokens.requested_by' },
  pipl_request: { kind: 'pipl.request_filed', key: 'request', column: 'pipl_requests.requested_by' },
  pia: { kind: 'pipl.pia_recorded', key: 'pia', column: 'pipl_pia.created_by' },
  /** A pending account or role/site change: the account's latest `admin.account_created` / `_changed` / `_approved`. */
  account: { kind: 'admin.account_changed', key: 'account', column: 'accounts.requested_by' },
} as const satisfies Record<string, { kind: AuditKind; key: string; column: string }>;

export type RequestOf = keyof typeof REQUESTS;

/** Most filing entries read for one id (there is one; more that disagree fail closed). */
const MAX_FILINGS = 4;

const detailOf = (v: unknown): Record<string, unknown> => ((typeof v === 'string' ? JSON.parse(v) : v) ?? {}) as Record<string, unknown>;

/**
 * The requester the trail recorded for a request, or null when the trail has no (single, agreed)
 * filing entry for it. For an account, the latest administration entry must be one that left a
 * request pending (a pending creation or a `pending_approval` change); an approval or an applied
 * change since means the trail has nothing pending.
 */
export async function requesterInTrail(db: Kysely<Database>, of: RequestOf, id: string): Promise<string | null> {
  if (of === 'account') {
    const last = await db
      .selectFrom('audit_log')
      .select(['kind', 'detail'])
      .where('account', '=', id)
      .where('kind', 'in', ['admin.account_created', 'admin.account_changed', 'admin.account_approved'].map((k) => sql.lit(k)))
      .where('decision', '=', 'ok')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!last) return null;
    const d = detailOf(last.detail);
    const pending = (last.kind === 'admin.account_created' && d.approval === 'pending') || (last.kind === 'admin.account_changed' && d.outcome === 'pending_approval');
    return pending && typeof d.actor === 'string' ? d.actor : null;
  }
  const { kind, key } = REQUESTS[of];
  // A PIA's review is an entry of the same kind; only its recording files it.
  return actorInTrail(db, kind, key, id, of === 'pia' ? (d) => d.action === 'recorded' : undefined);
}

/**
 * The actor of the ok entry of `kind` whose detail names `id` under `key` (the filing of a
 * request, the approval of a case), or null when the trail has none or its entries disagree.
 */
export async function actorInTrail(db: Kysely<Database>, kind: AuditKind, key: string, id: string, keep?: (detail: Record<string, unknown>) => boolean): Promise<string | null> {
  // The kind as a literal so the partial index of its kind (migration 0021) is usable in any plan.
  const rows = await db
    .selectFrom('audit_log')
    .select('detail')
    .where('kind', '=', sql.lit(kind))
    .where(sql.raw(`detail->>'${key}'`), '=', id)
    .where('decision', '=', 'ok')
    .orderBy('seq')
    .limit(MAX_FILINGS)
    .execute();
  const actors = new Set(
    rows
      .map((r) => detailOf(r.detail))
      .filter((d) => keep === undefined || keep(d))
      .map((d) => (typeof d.actor === 'string' ? d.actor : null)),
  );
  if (actors.size !== 1) return null;
  return [...actors][0] ?? null;
}

/**
 * The requester to hold the second person against: the trail's. When the row names someone else
 * (or the trail recorded no such request) the attempt is audited as `refusal` (denied,
 * `audit_inconsistent`, the column named) and refused with 409 before anything is approved.
 */
export async function trailRequester(
  db: Kysely<Database>,
  audit: AuditWriter,
  request: { of: RequestOf; id: string; row: string | null | undefined },
  refusal: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>,
  actor: Actor,
  ctx: RequestContext,
): Promise<string> {
  const trail = await requesterInTrail(db, request.of, request.id);
  if (trail !== null && trail === request.row) return trail;
  const kind = request.of === 'account' ? 'admin.account_created / admin.account_changed' : REQUESTS[request.of].kind;
  return refuseInconsistent(audit, { column: REQUESTS[request.of].column, id: request.id, kind, trail, who: 'requester' }, refusal, actor, ctx);
}

/**
 * A row that names someone other than the actor its trail entry recorded (or an entry the trail
 * never holds): 409 `audit_inconsistent` naming the column, audited as `refusal` denied. Shared by
 * every "who asked / who approved" read from the trail.
 */
export async function refuseInconsistent(
  audit: AuditWriter,
  what: { column: string; id: string; kind: string; trail: string | null; who: 'requester' | 'approver' },
  refusal: Omit<AuditEntryInput, 'decision' | 'reason' | 'ip' | 'requestId'>,
  actor: Actor,
  ctx: RequestContext,
): Promise<never> {
  const { column, id, kind, trail, who } = what;
  const why = trail === null ? 'no_filing_entry' : 'requester_differs';
  const err = new AppError(
    'audit_inconsistent',
    trail === null
      ? `the audit trail holds no ${kind} entry that filed this request (${column} of ${id} was written outside Warden); it cannot be approved or acted on: tell the security team`
      : `${column} of ${id} is not the ${who} its ${kind} entry recorded (changed outside Warden); it cannot be approved or acted on: tell the security team`,
  );
  await audit.append([{ ...refusal, decision: 'denied', reason: err.code, ip: ctx.ip, requestId: ctx.requestId, detail: { ...(refusal.detail ?? {}), actor: actorName(actor), inconsistent: column, why } }]);
  throw err;
}
