/**
 * The canary tripwire: watches every committed audit record (the trail is the outbox, so nothing
 * that shows data escapes it) for an allowed view, print, reveal, search hit or export that
 * includes a canary, and answers at once:
 * - the account is refused on its next data request from this moment (synchronously, before the
 *   request that touched the canary has even been answered);
 * - a `critical` alert in the contract's format is raised through the watch, whose response
 *   machinery suspends the account (identity then refuses every request and ends its sessions).
 *
 * Invariant: the request that touched the canary is answered like any other (the subject learns
 * nothing); the alert and its evidence are for analysts.
 */
import type { Kysely } from 'kysely';
import type { AuditRecord } from '../audit/kinds.js';
import type { AlertOut } from '../detect/engine.js';
import type { Database } from '../store/schema.js';
import type { AccountPrincipal, ResponseGate } from '../access/access.js';
import type { IdentityService } from '../identity/identity.js';
import type { Logger } from '../ops/logger.js';
import { errorSummary } from '../audit/writer.js';
import { AppError } from '../errors.js';
import type { Canaries } from './canaries.js';

export const CANARY_DETECTOR = 'canary_touched';
/** What the subject is told: the same words a suspension gives. */
const SUBJECT_MESSAGE = 'pending review; contact your security team';

export interface TripwireDeps {
  canaries: Pick<Canaries, 'lookup'>;
  /** Stores the alert and applies its response (the watch's machinery). */
  raise(alert: AlertOut): Promise<void>;
  logger: Logger;
}

/** The canaries a committed access record shows (an export's own planted rows excepted). */
export function canaryHits(r: AuditRecord, lookup: Canaries['lookup']): string[] {
  if (!r.kind.startsWith('access.') || r.decision !== 'allowed' || !r.account) return [];
  const listed = Array.isArray(r.detail?.waybills) ? (r.detail.waybills as readonly string[]) : [];
  const exportId = typeof r.detail?.export === 'string' ? r.detail.export : null;
  const hits: string[] = [];
  for (const w of r.waybill ? [r.waybill, ...listed] : listed) {
    const owner = lookup(w);
    if (owner === undefined || (exportId !== null && owner === exportId)) continue;
    if (!hits.includes(w)) hits.push(w);
  }
  return hits;
}

export function canaryAlert(r: AuditRecord, hits: string[]): AlertOut {
  const action = r.kind.slice('access.'.length);
  return {
    id: `canary-${r.seq}`,
    ts: r.ts.toISOString(),
    account: r.account!,
    ...(r.device ? { device: r.device } : {}),
    detector: CANARY_DETECTOR,
    severity: 'critical',
    score: 100,
    summary: `Account ${r.account} (${r.role ?? 'unknown role'}) was shown ${hits.length} canary record(s) by a ${action}; no real work touches them.`,
    evidence: { action, waybills: hits, audit_seq: r.seq, device: r.device ?? null, ip: r.ip ?? null, site: r.site ?? null },
    incident: `canary-${r.account}`,
    risk: 100,
    response: 'suspend',
    event_id: `audit-${r.seq}`,
  } as AlertOut;
}

/**
 * An alert as a reader may see it: the canary numbers in a `canary_touched` alert's evidence are
 * for security analysts (the readers of the canary list); anyone else — the admin token, other
 * roles — gets the alert without them (a count stands in).
 */
export function redactCanaryEvidence<T extends { detector: string; evidence?: unknown }>(alert: T, analyst: boolean): T {
  if (analyst || alert.detector !== CANARY_DETECTOR || !alert.evidence || typeof alert.evidence !== 'object') return alert;
  const { waybills, ...rest } = alert.evidence as Record<string, unknown>;
  return { ...alert, evidence: { ...rest, waybills: null, canaries: Array.isArray(waybills) ? waybills.length : 0 } };
}

export function createTripwire(deps: TripwireDeps) {
  /** Accounts refused from the moment they touched a canary until their suspension is in force. */
  const tripped = new Set<string>();
  let pending: Promise<void> = Promise.resolve();
  let hits = 0;

  function onCommitted(records: AuditRecord[]): void {
    for (const r of records) {
      const found = canaryHits(r, deps.canaries.lookup);
      if (!found.length) continue;
      hits++;
      const account = r.account!;
      tripped.add(account);
      const alert = canaryAlert(r, found);
      pending = pending.then(async () => {
        try {
          await deps.raise(alert);
          tripped.delete(account);
        } catch (err) {
          // Stays refused here (fail closed) until the response can be recorded.
          deps.logger.error({ err: errorSummary(err), account }, 'canary alert could not be stored; the account stays refused');
        }
      });
    }
  }

  const gate: Pick<ResponseGate, 'refuse'> = {
    refuse: (principal: AccountPrincipal) => (tripped.has(principal.account.id) ? new AppError('account_suspended', SUBJECT_MESSAGE) : null),
  };

  return { onCommitted, gate, idle: () => pending, stats: () => ({ hits, refused: tripped.size }) };
}
export type Tripwire = ReturnType<typeof createTripwire>;

/** The tripwire's refusal first, then the watch's gate (step-up, throttle). */
export function composeGates(first: Pick<ResponseGate, 'refuse'>, then: ResponseGate | undefined): ResponseGate {
  return {
    refuse: async (p, action, now) => (await first.refuse(p, action, now)) ?? (await then?.refuse(p, action, now)) ?? null,
    admit: (p, records, now) => (then ? then.admit(p, records, now) : { admitted: records, refusal: null, release: () => {} }),
  };
}

/** With live detection off there is no watch: store the alert and suspend through identity directly. */
export function raiseWithoutWatch(deps: { db: Kysely<Database>; identity: IdentityService }) {
  return async (a: AlertOut): Promise<void> => {
    const now = new Date();
    await deps.db
      .insertInto('alerts')
      .values({ id: a.id, ts: new Date(a.ts), account: a.account ?? null, device: a.device ?? null, detector: a.detector, severity: a.severity, score: a.score, summary: a.summary, incident: a.incident, response: a.response, body: JSON.stringify(a), status: 'open', verdict: null, note: null, updated_by: null, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const info = a.account ? await deps.identity.loadAccount(a.account) : null;
    if (info && info.status !== 'suspended') await deps.identity.setStatus(info.id, 'suspended', SUBJECT_MESSAGE, { kind: 'system', name: 'warden-trace' }, { ip: null, requestId: 'warden-trace' });
  };
}
