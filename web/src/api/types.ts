/** Shapes of the API responses the console reads (see the server's OpenAPI at /docs). */
export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low'];

export interface WindowTotals {
  events: number;
  reveals: number;
  explained: number;
  unexplained: number;
  refusals: number;
  by_role: Record<string, number>;
  by_basis: Record<string, number>;
  by_reason: Record<string, number>;
}

export interface LatestAlert {
  id: string;
  ts: string;
  account: string | null;
  device: string | null;
  detector: string;
  severity: Severity;
  summary: string;
  status: string;
}

export interface OverviewSnapshot {
  at: string;
  events_per_second: number;
  last_hour: WindowTotals;
  alerts_open: Record<Severity, number>;
  riskiest: Array<{ account: string; role: string | null; site: string | null; status: string | null; risk: number; response: string; in_force: string | null; alerts: number; last_alert: string }>;
  latest_alerts: LatestAlert[];
  trend: Array<{ hour: string; events: number; reveals: number; explained: number; unexplained: number; refusals: number; alerts: number }>;
  detection: boolean;
}

export interface Alert {
  id: string;
  ts: string;
  account: string | null;
  device: string | null;
  detector: string;
  severity: Severity;
  score: number;
  summary: string;
  incident: string | null;
  response: string | null;
  status: 'open' | 'acknowledged' | 'resolved';
  verdict: 'true_positive' | 'false_positive' | null;
  note: string | null;
  updated_by: string | null;
  updated_at: string;
  evidence: Record<string, unknown>;
  risk: number | null;
  assignee?: string | null;
  site?: string | null;
  city?: string | null;
}

export interface ActivityEntry {
  seq: number;
  ts: string;
  kind: string;
  decision: string;
  reason: string | null;
  role: string | null;
  site: string | null;
  device: string | null;
  ip: string | null;
  network: string | null;
  waybill: string | null;
  fields: string[];
  purpose: string | null;
  ticket: string | null;
  case: string | null;
  basis: string | null;
  explained: boolean | null;
  explained_by: string | null;
  actor: string | null;
  matches: number | null;
}

export interface AccountRisk {
  account: string;
  role: string;
  site: string | null;
  city: string | null;
  status: 'active' | 'suspended';
  status_reason: string | null;
  response: { action: string; reason: string; since: string } | null;
  risk_now: number | null;
  response_due: string | null;
  at: string;
  points: Array<{ ts: string; risk: number | null; alert: string; detector: string; severity: Severity; score: number; status: string; verdict: string | null }>;
}

export interface Footprint {
  /** device: the enrolled id; label: the name the client gave it (null for an id Warden did not enrol). */
  devices: Array<{ device: string; label: string | null; first: string; last: string; events: number }>;
  networks: Array<{ network: string; first: string; last: string; events: number; addresses: number }>;
  cities: Array<{ city: string; first: string; last: string; events: number }>;
}

export interface Hours {
  tz_offset_minutes: number;
  peer_group: { role: string; site: string | null; size: number; active: number };
  account_hours: number[][];
  peer_hours: number[][];
}

export interface DetectorInfo {
  name: string;
  enabled: boolean;
  scope: string | null;
  settings: Record<string, number | boolean>;
  saved: { settings: Record<string, number | boolean>; updated_by: string; updated_at: string; reason?: string | null } | null;
  pending_restart: boolean;
  /** A settings change waiting for a second analyst (the whole set it would save). */
  request: { settings: Record<string, number | boolean>; requested_by: string; requested_at: string; reason: string } | null;
  fired: { last_24h: number; last_7d: number; by_severity_7d: Record<string, number>; last: string | null; since_start: number; folded_since_start: number };
}

export interface BacktestSide {
  alerts: number;
  by_severity: Record<string, number>;
  accounts: number;
  all_detectors: number;
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
  added: Array<{ id: string; ts: string; account?: string; device?: string; severity: Severity; summary: string }>;
  removed: Array<{ id: string; ts: string; account?: string; device?: string; severity: Severity; summary: string }>;
}

export interface AuditEntry {
  seq: number;
  ts: string;
  kind: string;
  account: string | null;
  role: string | null;
  site: string | null;
  device: string | null;
  ip: string | null;
  waybill: string | null;
  fields: string[] | string | null;
  purpose: string | null;
  ticket: string | null;
  decision: string;
  reason: string | null;
}

export interface CaseInfo {
  id: string;
  title: string;
  reason?: string;
  status: 'pending' | 'open' | 'closed';
  opened_by: string;
  approved_by: string | null;
  waybills: string[];
  accounts: string[];
  created_at: string;
  reveals?: Array<{ seq: number; ts: string; account: string; waybill: string; fields: string[] | string }>;
}

/** POST /api/v1/attributions: who leaked this dump. */
export interface AttributionSuspect {
  account: string;
  matched: number;
  score: number;
  first: string | null;
  last: string | null;
  devices: string[];
  networks: string[];
  source: boolean;
  explains: number;
  volume: number;
  leak_after: string | null;
  links: number;
}
export interface AttributionResult {
  matched: number;
  unmatched: number;
  junk: number;
  records: number;
  suspects: AttributionSuspect[];
  sources: string[];
  window: { from: string | null; to: string };
  exports: Array<{ id: string; account: string; created_at: string; canaries: number; order_agreement: number | null }>;
  /** Export rows and canary links the audit trail does not back, left out (attack review 10); absent from older servers. */
  audit_inconsistent?: number;
  late_history?: number;
  by: Record<string, number>;
}

export interface Canary {
  waybill: string;
  batch: string;
  export_id: string | null;
  planted_at: string;
  planted_by: string;
  retired_at: string | null;
}

/** A data-subject request (PIPL Art. 44–47). */
export interface SubjectRequest {
  id: string;
  kind: 'access' | 'correction' | 'deletion';
  lookup: 'phone' | 'id_number';
  state: 'pending_approval' | 'completed' | 'rejected';
  received_at: string;
  due_at: string;
  overdue: boolean;
  requested_by: string;
  approved_by: string | null;
  completed_at: string | null;
  correction: { field: string } | null;
  result: Record<string, unknown> | null;
}

/** What an analyst who may approve a pending request sees (the server audits the read). */
export interface SubjectReview {
  version: string;
  subject: { lookup: 'phone' | 'id_number'; records: number; erased: number; phones: string[]; names: string[]; addresses: string[]; id_numbers: string[]; truncated: boolean };
  correction: { field: string; value: string | null } | null;
}

export interface AccessReport {
  request: { id: string; kind: string; received_at: string; due_at: string };
  generated_at: string;
  erased: boolean;
  records: Array<{ waybill: string; party: 'sender' | 'recipient'; created_at: string; masked: { name: string; phone: string; address: string; id_number?: string } | null; status: 'held' | 'erased' | 'partly_purged'; gone: string[] }>;
  reveals: Array<{ ts: string; account: string | null; role: string | null; site: string | null; waybill: string; fields: string[]; purpose: string | null; basis: string | null; ticket: string | null; case: string | null }>;
  truncated: boolean;
}

/** GET /api/v1/accounts: an account with the change waiting for a second analyst (if any). */
export interface AccountInfo {
  id: string;
  role: string;
  site: string | null;
  status: 'active' | 'suspended' | 'pending';
  status_reason: string | null;
  mfa_enrolled: boolean;
  /** What approving applies: exactly this role and site. */
  pending_approval: { role: string; site: string | null; requested_by: string | null; requested_at: string | null } | null;
  created_by: string | null;
  approved_by: string | null;
  created_at: string | null;
}

/** A service token (never its secret), with its registration: what it may send. */
export interface ServiceTokenInfo {
  id: string;
  account: string;
  created_at: string;
  revoked_at: string | null;
  registration: { events: string[]; sites: string[] | null; accounts_prefix: string | null; accounts: string[] | null; backfill: boolean };
  approval: 'pending' | 'approved';
  /** Why it waits for a second person (absent from servers before attack review 8). */
  needs_approval_because?: Array<'telephony' | 'grants_work'>;
  requested_by: string | null;
  approved_by: string | null;
}

export type ExceptionKind = 'device' | 'network' | 'account' | 'app_hash';
export const EXCEPTION_KINDS: ExceptionKind[] = ['account', 'device', 'network', 'app_hash'];

/** GET /api/v1/exceptions: a detection exception not removed (pending or approved; expired ones too). */
export interface DetectionExceptionInfo {
  id: string;
  kind: ExceptionKind;
  account: string | null;
  value: string;
  until: string;
  reason: string;
  created_by: string;
  created_at: string;
  approval: 'pending' | 'approved';
  approved_by: string | null;
  approved_at: string | null;
}
