/**
 * What the SIEM export carries: a flat, PII-free record per alert and per audit entry, stored in
 * the on-disk queue as one JSON line and rendered per sink (CEF in RFC 5424 syslog, or OCSF JSON).
 *
 * Never PII: an alert gives its detector, severity, score, subject account/device ids, incident and
 * response — not its evidence; an audit entry gives kind, decision, reason, who/where (ids), the
 * waybill number and field *names* (the audit trail's own rule) — never a value.
 */
import type { AlertOut } from '../detect/engine.js';
import type { AuditEntryInput } from '../audit/kinds.js';

export type SiemSource = 'alert' | 'audit';

export interface SiemEvent {
  source: SiemSource;
  /** Alert id, or `audit-<seq>`; a SIEM deduplicates redeliveries by it (at-least-once). */
  id: string;
  /** ISO-8601 UTC. */
  ts: string;
  /** Alert detector, or audit kind (e.g. `access.reveal`, `watch.response_applied`). */
  kind: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  /** The account the record is about: an alert's subject; the acting account of an access or login; the account an administrative entry changed. */
  account: string | null;
  role: string | null;
  site: string | null;
  device: string | null;
  ip: string | null;
  /** Audit decision (allowed/denied/ok/failed); `raised` for an alert. */
  outcome: string;
  reason: string | null;
  waybill: string | null;
  fields: string[] | null;
  /** Audit sequence number (ordering), or null for alerts. */
  seq: number | null;
  alert: { score: number; risk: number | null; incident: string | null; response: string | null; summary: string } | null;
  /** Who did an administrative act (audit `detail.actor`: `account:<id>`, `admin`, …), when it says. */
  actor: string | null;
}

export function fromAlert(a: AlertOut): SiemEvent {
  return {
    source: 'alert',
    id: a.id,
    ts: a.ts,
    kind: a.detector,
    severity: a.severity,
    account: a.account ?? null,
    role: null,
    site: null,
    device: a.device ?? null,
    ip: null,
    outcome: 'raised',
    reason: null,
    waybill: null,
    fields: null,
    seq: null,
    alert: { score: a.score, risk: typeof a.risk === 'number' ? a.risk : null, incident: a.incident ?? null, response: a.response ?? null, summary: a.summary },
    actor: null,
  };
}

/** Which audit entries go out: `all`, `changes` (all but allowed views and searches), or `none`. */
export type AuditExport = 'all' | 'changes' | 'none';

export function exportsAudit(mode: AuditExport, r: Pick<AuditEntryInput, 'kind' | 'decision'>): boolean {
  if (mode === 'none') return false;
  if (mode === 'all') return true;
  return !((r.kind === 'access.view' || r.kind === 'access.search') && r.decision === 'allowed');
}

export function fromAudit(r: AuditEntryInput & { seq: number }): SiemEvent {
  const actor = r.detail?.['actor'];
  return {
    source: 'audit',
    id: `audit-${r.seq}`,
    ts: r.ts.toISOString(),
    kind: r.kind,
    severity: auditSeverity(r),
    account: r.account ?? null,
    role: r.role ?? null,
    site: r.site ?? null,
    device: r.device ?? null,
    ip: r.ip ?? null,
    outcome: r.decision,
    reason: r.reason ?? null,
    waybill: r.waybill ?? null,
    fields: r.fields ? [...r.fields] : null,
    seq: r.seq,
    alert: null,
    actor: typeof actor === 'string' ? actor : null,
  };
}

function auditSeverity(r: Pick<AuditEntryInput, 'kind' | 'decision'>): SiemEvent['severity'] {
  if (r.kind === 'watch.response_applied' || r.kind.startsWith('keys.')) return 'high';
  if (r.decision === 'denied' || r.decision === 'failed' || r.kind.startsWith('admin.') || r.kind === 'policy.loaded') return 'medium';
  return 'low';
}
