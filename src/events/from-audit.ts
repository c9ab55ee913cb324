/**
 * Turns committed audit records into contract activity events: the audit trail is the outbox,
 * so an event exists exactly when its audit entry does.
 *
 * This is the only source of login, logout and access events about Warden's own gateway
 * accounts (POST /api/v1/events refuses them, ./producer.ts); they carry producer `warden`.
 */
import { partiesOf, type ActivityEvent } from '../contracts/events.js';
import { AUDIT_KINDS, type AuditRecord } from '../audit/kinds.js';
import { WARDEN_PRODUCER } from './producer.js';

export function eventsFromAudit(records: readonly AuditRecord[]): ActivityEvent[] {
  const out: ActivityEvent[] = [];
  for (const r of records) {
    const kind = AUDIT_KINDS[r.kind];
    if (!kind.event || !r.account) continue;
    const common: Record<string, unknown> = {
      id: `audit-${r.seq}`,
      ts: r.ts.toISOString(),
      type: kind.event,
      account: r.account,
      ...(r.role ? { role: r.role } : {}),
      ...(r.site ? { site: r.site } : {}),
      ...(r.device ? { device: r.device } : {}),
      ...(r.ip ? { ip: r.ip } : {}),
      ...(r.session ? { session: r.session } : {}),
      producer: WARDEN_PRODUCER,
    };
    if (kind.event === 'login') {
      common.result = r.decision === 'allowed' ? 'success' : 'failure';
      common.mfa = r.detail?.mfa === true;
      if (typeof r.detail?.app_hash === 'string') common.app_hash = r.detail.app_hash;
      if (r.reason) common.reason = r.reason;
    } else if (kind.event === 'access') {
      common.action = kind.action;
      if (r.waybill) common.waybill = r.waybill;
      if (Array.isArray(r.detail?.waybills)) common.waybills = r.detail.waybills;
      const fields = [...new Set((r.fields ?? []).map((f) => f.split('.')[1]!))];
      const shown = r.decision === 'allowed' && kind.action === 'reveal';
      common.fields = shown ? fields : [];
      // Extension 1.4: whose name and phone they were. `fields` alone says [name, phone] for one
      // person and for two (attack review 10: both parties of every parcel read as one record).
      if (kind.action === 'reveal') {
        common.parties = shown ? partiesOf(r.fields ?? []) : [];
        common.requested_fields = fields;
      }
      if (r.purpose) common.purpose = r.purpose;
      if (r.ticket) common.ticket = r.ticket;
      common.result = r.decision === 'allowed' ? 'allowed' : 'denied';
      if (r.reason) common.reason = r.reason;
    }
    out.push(common as unknown as ActivityEvent);
  }
  return out;
}
