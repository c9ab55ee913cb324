/** Row types of the one schema both backends share (migrations/ creates it). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Bytes = ColumnType<Uint8Array, Uint8Array, Uint8Array>;
type Json<T> = ColumnType<T, string, string>;

export interface SitesTable {
  code: string;
  kind: 'outlet' | 'sorting' | 'cs' | 'hq';
  city: string;
  created_at: Generated<Date>;
}

export interface AccountsTable {
  id: string;
  role: string;
  site: string | null;
  password_hash: string | null;
  status: 'active' | 'suspended';
  status_reason: string | null;
  status_changed_at: Timestamp | null;
  created_at: Generated<Date>;
  /** TOTP secret, AES-GCM under the keyring's "mfa" key; null when not enrolled. */
  mfa_secret: Bytes | null;
  /** 'pending': a privileged account waiting for a second analyst; it may not log in. */
  approval: Generated<'approved' | 'pending'>;
  /** A requested promotion (or privileged site change) waiting for approval. */
  pending_role: string | null;
  pending_site: string | null;
  requested_by: string | null;
  requested_at: Timestamp | null;
  created_by: string | null;
  approved_by: string | null;
  /** TOTP time step of the last accepted code (replay guard). */
  mfa_last_step: ColumnType<string | number | null, number | null, number | null>;
  /** Keyed MAC over the columns that authenticate (src/identity/credential-seal.ts); migration 0024. */
  credential_seal: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
}

export interface SessionsTable {
  id: string;
  token_hash: Bytes;
  account: string;
  device: string;
  ip: string | null;
  app_hash: string | null;
  mfa: boolean;
  created_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  /** Why it ended: logout, session_limit, suspended, device_revoked, upgrade (migration 0024). */
  revoked_reason: string | null;
  /** Keyed MAC over the columns that authenticate (src/identity/credential-seal.ts); migration 0024. */
  credential_seal: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
}

/** A device the server enrolled (the credential is shown once, stored hashed). */
export interface DevicesTable {
  id: string;
  credential_hash: Bytes;
  label: string;
  enrolled_by: string;
  enrolled_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
}

export interface AccountDevicesTable {
  account: string;
  device: string;
  first_seen: Timestamp;
  last_seen: Timestamp;
}

export interface AdminTokenRevocationsTable {
  fingerprint: Bytes;
  disabled_at: Timestamp;
  disabled_by: string;
}

export interface ServiceTokensTable {
  id: string;
  token_hash: Bytes;
  account: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
  /** What the token may send (src/identity/service-tokens.ts TokenRegistration); migration 0007. */
  registration: ColumnType<unknown, string | undefined, string>;
  /** A token that grants work (assign, ticket) issued by a person waits for a second one; migration 0014. */
  approval: ColumnType<'pending' | 'approved', 'pending' | 'approved' | undefined, 'pending' | 'approved'>;
  requested_by: ColumnType<string | null, string | null | undefined, string | null>;
  approved_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Keyed MAC over the columns that authenticate (src/identity/credential-seal.ts); migration 0024. */
  credential_seal: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
}

export interface KeksTable {
  id: Generated<number>;
  wrapped: Bytes;
  master_key_id: string;
  status: 'active' | 'retired';
  created_at: Generated<Date>;
}

export interface KeyringTable {
  name: string;
  wrapped: Bytes;
  master_key_id: string;
  public_part: Bytes | null;
  created_at: Generated<Date>;
}

export interface SubjectKeysTable {
  subject_id: Bytes;
  kek_id: number;
  wrapped_dek: Bytes;
  created_at: Generated<Date>;
}

export interface MaskedParty {
  name: string;
  phone: string;
  address: string;
  id_number?: string;
}
export interface MaskedWaybillJson {
  sender: MaskedParty;
  recipient: MaskedParty;
}

export interface WaybillsTable {
  waybill: string;
  origin_site: string;
  dest_site: string;
  origin_city: string | null;
  dest_city: string | null;
  masked: Json<MaskedWaybillJson>;
  label: Json<MaskedWaybillJson>;
  created_at: Timestamp;
  /**
   * MAC over the routing columns (src/vault/routing-seal.ts, migration 0019): null or not matching,
   * the record fails closed. Optional on insert only so a missing one can be written (and refused).
   */
  routing_seal: ColumnType<Uint8Array | null, Uint8Array | null | undefined, Uint8Array | null>;
}

/** Migration 0019's count of rows written before the routing seal; 0 once the one-time sealing ran. */
export interface RoutingSealUpgradeTable {
  id: number;
  legacy: ColumnType<string | number, number, number>;
  migrated_at: Timestamp;
}

/** Migration 0024's count of credential rows written before the credential seal; 0 once the one-time sealing ran. */
export interface CredentialSealUpgradeTable {
  id: number;
  legacy: ColumnType<string | number, number, number>;
  sessions_ended: ColumnType<string | number, number, number>;
  migrated_at: Timestamp;
}

export interface WaybillPartiesTable {
  waybill: string;
  party: 'sender' | 'recipient';
  /** The person: their phone's blind index (src/vault/vault.ts); a random id once erased (migration 0018). */
  subject_id: Bytes;
  /** Null once purged by retention or erased (migration 0013). */
  name_ct: Bytes | null;
  phone_ct: Bytes | null;
  address_ct: Bytes | null;
  id_number_ct: Bytes | null;
  /** Null once the person was erased (migration 0018): no lookup leads to an erased party. */
  phone_bidx: Bytes | null;
  id_bidx: Bytes | null;
  /** When the person's data key was shredded (src/pipl/subjects.ts); migration 0013. */
  erased_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface AssignmentsTable {
  waybill: string;
  account: string;
  task: 'pickup' | 'delivery';
  assigned_at: Timestamp;
  completed_at: Timestamp | null;
  /** When a reassignment of the task to another account ended this one's basis. */
  ended_at: Timestamp | null;
}

export interface TicketsTable {
  ticket: string;
  waybill: string;
  account: string;
  status: 'open' | 'closed';
  updated_at: Timestamp;
}

export interface SearchGrantsTable {
  account: string;
  waybill: string;
  /** The party whose phone number the search matched: the grant covers that party only. */
  party: 'sender' | 'recipient';
  granted_at: Timestamp;
}

export interface AuditLogTable {
  seq: number;
  ts: Timestamp;
  kind: string;
  account: string | null;
  role: string | null;
  site: string | null;
  device: string | null;
  ip: string | null;
  session: string | null;
  waybill: string | null;
  fields: string | null;
  purpose: string | null;
  ticket: string | null;
  decision: string;
  reason: string | null;
  request_id: string | null;
  detail: Json<Record<string, unknown>> | null;
  prev_hash: Bytes;
  hash: Bytes;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: Bytes;
  /** Compact range of the Merkle tree at `seq` (migration 0004); null before the first backfill. */
  frontier: Bytes | null;
}

/** Complete Merkle subtrees of 2^level leaves, level ≥ 8 (src/audit/tree-store.ts). */
export interface AuditTreeNodesTable {
  level: number;
  idx: number;
  hash: Bytes;
}

/** Signed tree heads (src/audit/sth.ts); the signing key is outside the store. */
export interface AuditTreeHeadsTable {
  tree_size: number;
  root: Bytes;
  ts: Timestamp;
  key_id: string;
  signature: Bytes;
}

export interface ActivityEventsTable {
  id: string;
  ts: Timestamp;
  type: string;
  account: string | null;
  body: Json<Record<string, unknown>>;
  received_at: Timestamp;
  /** Who sent it: `token:<id>`, `admin`, `account:<id>` ('unrecorded' for rows before 0007). */
  producer: string;
  /** The account behind the producer (service account, it_admin), when there is one. */
  producer_account: string | null;
  /** Imported through the audited backfill mode (history), not live. */
  backfill: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface AlertsTable {
  id: string;
  ts: Timestamp;
  account: string | null;
  device: string | null;
  detector: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  score: number;
  summary: string;
  incident: string | null;
  response: string | null;
  body: Json<Record<string, unknown>>;
  status: 'open' | 'acknowledged' | 'resolved';
  verdict: 'true_positive' | 'false_positive' | null;
  note: string | null;
  updated_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The analyst working the alert. */
  assignee: string | null;
  /** The subject account's site and its city when the alert was stored (triage filters). */
  site: string | null;
  city: string | null;
}

export interface DetectExceptionsTable {
  id: string;
  kind: 'device' | 'network' | 'account' | 'app_hash';
  account: string | null;
  value: string;
  until: Timestamp;
  reason: string;
  created_by: string;
  created_at: Timestamp;
  removed_at: Timestamp | null;
  /** 'pending': waiting for a second analyst; the engine is not given it until approved. */
  approval: Generated<'pending' | 'approved'>;
  approved_by: string | null;
  approved_at: Timestamp | null;
}

export interface AccountResponsesTable {
  account: string;
  action: 'step_up' | 'throttle' | 'suspend';
  reason: string;
  alert_id: string | null;
  since: Timestamp;
}

export interface CasesTable {
  id: string;
  title: string;
  reason: string;
  status: 'pending' | 'open' | 'closed';
  opened_by: string;
  approved_by: string | null;
  closed_by: string | null;
  close_note: string | null;
  created_at: Timestamp;
  approved_at: Timestamp | null;
  closed_at: Timestamp | null;
}

export interface CaseWaybillsTable {
  case_id: string;
  waybill: string;
}

export interface CaseAccountsTable {
  case_id: string;
  account: string;
}

/** Detector settings saved from the console, merged over the detection config at start. */
export interface DetectorSettingsTable {
  detector: string;
  settings: Json<Record<string, unknown>>;
  updated_by: string;
  updated_at: Timestamp;
  /** The approved request's reason (migration 0021: kept here, its fingerprint in the trail); null before. */
  reason: string | null;
}

/** A detector settings change waiting for a second analyst (migration 0015): the whole saved set it would store. */
export interface DetectorSettingsRequestsTable {
  detector: string;
  settings: Json<Record<string, unknown>>;
  requested_by: string;
  requested_at: Timestamp;
  reason: string;
}

/** The shared ledger (migration 0010): records counted per scope key, window and bucket. */
export interface QuotaBucketsTable {
  key: string;
  win: number;
  start: number;
  n: number;
}

/** The shared login throttle: failures per key, and networks an account logged in from. */
export interface LoginFailuresTable {
  key: string;
  count: number;
  last: number;
}
export interface LoginKnownGoodTable {
  pair: string;
  at: number;
}

/** Canary waybills (migration 0012): planted in the vault like any other; this table alone says which. */
export interface TraceCanariesTable {
  /** The number's keyed blind index (hex; `~superseded~<ms>` appended once a real waybill took it). Migration 0019; before it the number itself. */
  mac: string;
  /** The number, sealed (src/trace/canary-data.ts); null on a row of an older store not yet sealed at start. */
  sealed: Bytes | null;
  batch: string;
  /** Set for the rows planted into one marked export (that export's own canaries). */
  export_id: string | null;
  planted_at: Timestamp;
  planted_by: string;
  retired_at: Timestamp | null;
}

/** Marked exports: who received which rows, in which order (migration 0012). */
export interface TraceExportsTable {
  id: string;
  account: string;
  device: string | null;
  ip: string | null;
  created_at: Timestamp;
  row_order: Json<string[]>;
  rows: number;
}

/** Privacy-number bindings: (viewer, waybill, party) → virtual number (migration 0012). */
export interface PrivacyBindingsTable {
  id: string;
  virtual_number: string;
  viewer: string;
  waybill: string;
  party: 'sender' | 'recipient';
  created_at: Timestamp;
  /** The latest the binding lives, delivered or not. */
  expires_at: Timestamp;
  /** Unbound early (recycled, or expired after delivery and noticed). */
  ended_at: Timestamp | null;
}

/** Subjects whose data key was shredded (src/pipl/), migration 0013. */
export interface PiplErasuresTable {
  subject_id: Bytes;
  erased_at: Timestamp;
  request_id: string;
}

export interface PiplRequestsTable {
  id: string;
  kind: 'access' | 'correction' | 'deletion';
  lookup: 'phone' | 'id_number';
  lookup_bidx: Bytes;
  state: 'pending_approval' | 'completed' | 'rejected';
  received_at: Timestamp;
  due_at: Timestamp;
  requested_by: string;
  approved_by: string | null;
  completed_at: Timestamp | null;
  /** Encrypted correction (field + new value sealed under the keyring), never plaintext. */
  correction: Json<Record<string, unknown>> | null;
  result: Json<Record<string, unknown>> | null;
}

export interface PiplRetentionRunsTable {
  id: string;
  started_at: Timestamp;
  finished_at: Timestamp | null;
  actor: string;
  dry_run: boolean;
  policy: Json<Record<string, unknown>>;
  purged: Json<Record<string, number>>;
  batches: number;
}

export interface PiplPiaTable {
  id: string;
  title: string;
  scope: string;
  risk: 'low' | 'medium' | 'high';
  measures: string;
  created_by: string;
  created_at: Timestamp;
  reviewed_by: string | null;
  reviewed_at: Timestamp | null;
  keep_until: Timestamp;
}

export interface Database {
  sites: SitesTable;
  accounts: AccountsTable;
  sessions: SessionsTable;
  service_tokens: ServiceTokensTable;
  keks: KeksTable;
  keyring: KeyringTable;
  subject_keys: SubjectKeysTable;
  waybills: WaybillsTable;
  waybill_parties: WaybillPartiesTable;
  routing_seal_upgrade: RoutingSealUpgradeTable;
  credential_seal_upgrade: CredentialSealUpgradeTable;
  assignments: AssignmentsTable;
  tickets: TicketsTable;
  search_grants: SearchGrantsTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  audit_tree_nodes: AuditTreeNodesTable;
  audit_tree_heads: AuditTreeHeadsTable;
  activity_events: ActivityEventsTable;
  alerts: AlertsTable;
  detect_exceptions: DetectExceptionsTable;
  account_responses: AccountResponsesTable;
  devices: DevicesTable;
  account_devices: AccountDevicesTable;
  admin_token_revocations: AdminTokenRevocationsTable;
  cases: CasesTable;
  case_waybills: CaseWaybillsTable;
  case_accounts: CaseAccountsTable;
  detector_settings: DetectorSettingsTable;
  detector_settings_requests: DetectorSettingsRequestsTable;
  quota_buckets: QuotaBucketsTable;
  login_failures: LoginFailuresTable;
  login_known_good: LoginKnownGoodTable;
  trace_canaries: TraceCanariesTable;
  trace_exports: TraceExportsTable;
  privacy_bindings: PrivacyBindingsTable;
  pipl_erasures: PiplErasuresTable;
  pipl_requests: PiplRequestsTable;
  pipl_retention_runs: PiplRetentionRunsTable;
  pipl_pia: PiplPiaTable;
}
