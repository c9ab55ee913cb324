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
}

export interface ServiceTokensTable {
  id: string;
  token_hash: Bytes;
  account: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
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
}

export interface WaybillPartiesTable {
  waybill: string;
  party: 'sender' | 'recipient';
  subject_id: Bytes;
  name_ct: Bytes;
  phone_ct: Bytes;
  address_ct: Bytes;
  id_number_ct: Bytes | null;
  phone_bidx: Bytes;
  id_bidx: Bytes | null;
}

export interface AssignmentsTable {
  waybill: string;
  account: string;
  task: 'pickup' | 'delivery';
  assigned_at: Timestamp;
  completed_at: Timestamp | null;
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
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: Bytes;
  signature: Bytes;
  key_id: string;
  signed_at: Timestamp;
}

export interface ActivityEventsTable {
  id: string;
  ts: Timestamp;
  type: string;
  account: string | null;
  body: Json<Record<string, unknown>>;
  received_at: Timestamp;
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
}

export interface AccountResponsesTable {
  account: string;
  action: 'step_up' | 'throttle' | 'suspend';
  reason: string;
  alert_id: string | null;
  since: Timestamp;
}

/** Detector settings saved from the console, merged over the detection config at start. */
export interface DetectorSettingsTable {
  detector: string;
  settings: Json<Record<string, unknown>>;
  updated_by: string;
  updated_at: Timestamp;
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
  assignments: AssignmentsTable;
  tickets: TicketsTable;
  search_grants: SearchGrantsTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  activity_events: ActivityEventsTable;
  alerts: AlertsTable;
  detect_exceptions: DetectExceptionsTable;
  account_responses: AccountResponsesTable;
  detector_settings: DetectorSettingsTable;
}
