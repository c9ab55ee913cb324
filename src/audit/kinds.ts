/**
 * The closed list of audit entry kinds. Each says which activity-event type (contract) it
 * becomes on the bus, or null when it is an administrative act the detectors do not consume.
 */
export const AUDIT_KINDS = {
  'access.view': { event: 'access', action: 'view' },
  'access.reveal': { event: 'access', action: 'reveal' },
  'access.search': { event: 'access', action: 'search' },
  'access.print': { event: 'access', action: 'print' },
  'auth.login': { event: 'login', action: null },
  'auth.logout': { event: 'logout', action: null },
  'admin.site_created': { event: null, action: null },
  'admin.account_created': { event: null, action: null },
  'admin.account_suspended': { event: null, action: null },
  'admin.account_unsuspended': { event: null, action: null },
  'admin.service_token_created': { event: null, action: null },
  'admin.service_token_approved': { event: null, action: null },
  'admin.mfa_enrolled': { event: null, action: null },
  'keys.rotated': { event: null, action: null },
  // The one-time sealing of waybill routing written before the routing seal (src/vault/routing-seal.ts), with its count.
  'vault.routing_sealed': { event: null, action: null },
  // The one-time sealing of accounts and service tokens written before the credential seal (src/identity/credential-seal.ts), with its counts.
  'auth.credentials_sealed': { event: null, action: null },
  // A bearer token refused because its session, service-token or account row no longer matches its credential seal (changed outside Warden).
  'auth.record_integrity': { event: null, action: null },
  'keys.audit_signing_key_changed': { event: null, action: null },
  'watch.response_applied': { event: null, action: null },
  'watch.response_cleared': { event: null, action: null },
  'watch.alert_updated': { event: null, action: null },
  'watch.exception_added': { event: null, action: null },
  'watch.exception_removed': { event: null, action: null },
  'watch.exception_approved': { event: null, action: null },
  'watch.viewed': { event: null, action: null },
  // A request refused at the authorization hook by the response in force on its account (step-up, throttle, suspend).
  'watch.request_refused': { event: null, action: null },
  // Work given by upstream systems: who may see what. The contract assign/ticket event the
  // ingest publishes is the bus event, so these are not published a second time.
  'work.assigned': { event: null, action: null },
  'work.ticket': { event: null, action: null },
  // A delivered / picked-up scan completed an account's assignment (its grace period started).
  'work.completed': { event: null, action: null },
  'events.backfill': { event: null, action: null },
  // A request's routing lines that disagreed with the vault or named a canary, as counts (src/events/ingest.ts, attack review 10).
  'events.waybill_conflicts': { event: null, action: null },
  'admin.service_token_revoked': { event: null, action: null },
  'admin.account_changed': { event: null, action: null },
  'admin.account_approved': { event: null, action: null },
  'admin.device_revoked': { event: null, action: null },
  'admin.admin_token_disabled': { event: null, action: null },
  // At start, when the configured admin token's keyed fingerprint differs from the last one recorded.
  'admin.admin_token_configured': { event: null, action: null },
  'auth.device_enrolled': { event: null, action: null },
  'case.opened': { event: null, action: null },
  'case.approved': { event: null, action: null },
  'case.closed': { event: null, action: null },
  // A read of a case that names the reader (or an account linked to the reader by creation): refused, as not found.
  'case.viewed': { event: null, action: null },
  'policy.loaded': { event: null, action: null },
  'detect.settings_changed': { event: null, action: null },
  'detect.settings_requested': { event: null, action: null },
  'detect.settings_request_discarded': { event: null, action: null },
  // A detector backtest (src/insight/detectors.ts): who, which detector, the window, the settings' digest and counts; never hidden from anyone but its actor and accounts linked to it.
  'insight.backtest': { event: null, action: null },
  // Leak tracing (src/trace/): a marked export is an access the detectors see; the rest is administration.
  'access.export': { event: 'access', action: 'export' },
  'trace.canaries_planted': { event: null, action: null },
  'trace.canaries_listed': { event: null, action: null },
  'trace.canaries_rotated': { event: null, action: null },
  'trace.canary_superseded': { event: null, action: null },
  // Plaintext canary rows of an older store sealed at start (count and blind indexes, never numbers).
  'trace.canaries_sealed': { event: null, action: null },
  'trace.privacy_routed': { event: null, action: null },
  'trace.attribution_run': { event: null, action: null },
  // PIPL (src/pipl/): data-subject requests, erasure, retention, reports. Never the person's data.
  'pipl.request_filed': { event: null, action: null },
  'pipl.request_approved': { event: null, action: null },
  'pipl.request_rejected': { event: null, action: null },
  'pipl.request_viewed': { event: null, action: null },
  'pipl.subject_erased': { event: null, action: null },
  'pipl.subject_corrected': { event: null, action: null },
  'pipl.access_report': { event: null, action: null },
  'pipl.retention_purged': { event: null, action: null },
  'pipl.breach_report': { event: null, action: null },
  'pipl.compliance_report': { event: null, action: null },
  'pipl.pia_recorded': { event: null, action: null },
} as const satisfies Record<string, { event: 'access' | 'login' | 'logout' | null; action: string | null }>;

export type AuditKind = keyof typeof AUDIT_KINDS;
export const isAuditKind = (k: string): k is AuditKind => Object.hasOwn(AUDIT_KINDS, k);

export type AuditDecision = 'allowed' | 'denied' | 'ok' | 'failed';

/** What one audit entry records. Never PII: waybill number, field names, who, where, why, outcome. */
export interface AuditEntryInput {
  kind: AuditKind;
  ts: Date;
  decision: AuditDecision;
  account?: string | null;
  role?: string | null;
  site?: string | null;
  device?: string | null;
  ip?: string | null;
  session?: string | null;
  waybill?: string | null;
  /** Qualified field names, e.g. "recipient.phone". */
  fields?: readonly string[] | null;
  purpose?: string | null;
  ticket?: string | null;
  reason?: string | null;
  requestId?: string | null;
  /** Non-PII extras (counts, case references, matched waybills of a search). */
  detail?: Record<string, string | number | boolean | readonly string[] | null> | null;
}

export interface AuditRecord extends AuditEntryInput {
  seq: number;
  hash: Buffer;
  prevHash: Buffer;
}
